//! The few strings the tray and notifications show, in English and Simplified Chinese.
//! The window has its own table in ui/i18n.js.

use printrelay_agent::settings::Language;

/// A language the shell speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    /// The setting resolved: `system` follows the OS locale (`zh*` means Chinese).
    pub fn resolve(setting: Language) -> Self {
        match setting {
            Language::En => Lang::En,
            Language::ZhCn => Lang::ZhCn,
            Language::System => Self::from_locale(sys_locale::get_locale().as_deref()),
        }
    }

    /// `zh`, `zh-CN`, `zh_TW.UTF-8`... are Chinese; anything else English.
    pub fn from_locale(locale: Option<&str>) -> Self {
        match locale {
            Some(l) if l.to_ascii_lowercase().starts_with("zh") => Lang::ZhCn,
            _ => Lang::En,
        }
    }

    /// The text for `key` (English text is the key's meaning).
    pub fn text(self, key: Text) -> &'static str {
        use Text::*;
        match (self, key) {
            (Lang::En, ShowWindow) => "Show window",
            (Lang::En, Reconnect) => "Reconnect",
            (Lang::En, Pause) => "Pause printing",
            (Lang::En, Resume) => "Resume printing",
            (Lang::En, Quit) => "Quit PrintRelay",
            (Lang::En, Client) => "Client",
            (Lang::En, Printer) => "Printer",
            (Lang::En, SystemDefault) => "system default",
            (Lang::En, Paused) => "printing paused",
            (Lang::En, Idle) => "no server configured",
            (Lang::En, Connecting) => "connecting",
            (Lang::En, Connected) => "connected",
            (Lang::En, Reconnecting) => "reconnecting",
            (Lang::En, Offline) => "offline, gave up reconnecting",
            (Lang::En, Kicked) => "disconnected by the server",
            (Lang::En, Stopped) => "stopped",
            (Lang::En, JobFailed) => "Print job failed",
            (Lang::En, GaveUp) => "PrintRelay is offline",
            (Lang::ZhCn, ShowWindow) => "显示窗口",
            (Lang::ZhCn, Reconnect) => "重新连接",
            (Lang::ZhCn, Pause) => "暂停打印",
            (Lang::ZhCn, Resume) => "恢复打印",
            (Lang::ZhCn, Quit) => "退出 PrintRelay",
            (Lang::ZhCn, Client) => "客户端",
            (Lang::ZhCn, Printer) => "打印机",
            (Lang::ZhCn, SystemDefault) => "系统默认",
            (Lang::ZhCn, Paused) => "打印已暂停",
            (Lang::ZhCn, Idle) => "未配置服务器",
            (Lang::ZhCn, Connecting) => "正在连接",
            (Lang::ZhCn, Connected) => "已连接",
            (Lang::ZhCn, Reconnecting) => "正在重连",
            (Lang::ZhCn, Offline) => "离线，已停止重连",
            (Lang::ZhCn, Kicked) => "被服务器断开",
            (Lang::ZhCn, Stopped) => "已停止",
            (Lang::ZhCn, JobFailed) => "打印任务失败",
            (Lang::ZhCn, GaveUp) => "PrintRelay 已离线",
        }
    }
}

/// Keys of the shell's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    ShowWindow,
    Reconnect,
    Pause,
    Resume,
    Quit,
    Client,
    Printer,
    SystemDefault,
    Paused,
    Idle,
    Connecting,
    Connected,
    Reconnecting,
    Offline,
    Kicked,
    Stopped,
    JobFailed,
    GaveUp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_locales_resolve_to_chinese() {
        assert_eq!(Lang::from_locale(Some("zh-CN")), Lang::ZhCn);
        assert_eq!(Lang::from_locale(Some("zh_TW.UTF-8")), Lang::ZhCn);
        assert_eq!(Lang::from_locale(Some("de-DE")), Lang::En);
        assert_eq!(Lang::from_locale(None), Lang::En);
        assert_eq!(
            Lang::resolve(Language::ZhCn).text(Text::Quit),
            "退出 PrintRelay"
        );
    }
}
