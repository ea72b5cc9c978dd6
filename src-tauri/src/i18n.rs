//! The few strings the tray and notifications show, in English and Simplified Chinese.
//! The window has its own table in ui/i18n.js.

use printrelay_agent::connection::Problem;
use printrelay_agent::protocol::ErrorCode;
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
            (Lang::En, Client) => "Client ID",
            (Lang::En, Printer) => "Printer",
            (Lang::En, SystemDefault) => "System default",
            (Lang::En, Paused) => "printing paused",
            (Lang::En, Idle) => "No server",
            (Lang::En, Connecting) => "Connecting",
            (Lang::En, Connected) => "Connected",
            (Lang::En, Reconnecting) => "Reconnecting",
            (Lang::En, Offline) => "Offline",
            (Lang::En, Kicked) => "Disconnected by the server",
            (Lang::En, Stopped) => "Stopped",
            (Lang::En, JobFailed) => "Print job failed",
            (Lang::En, GaveUp) => "PrintRelay is offline",
            (Lang::En, WebView2Missing) => {
                "PrintRelay cannot open its window: this PC lacks the Microsoft Edge WebView2 Runtime.\n\nPrinting goes on in the background. To see the window, install the runtime from Microsoft (link below) or ask your IT department, then choose Show window again."
            }
            (Lang::ZhCn, ShowWindow) => "显示窗口",
            (Lang::ZhCn, Reconnect) => "重新连接",
            (Lang::ZhCn, Pause) => "暂停打印",
            (Lang::ZhCn, Resume) => "恢复打印",
            (Lang::ZhCn, Quit) => "退出 PrintRelay",
            (Lang::ZhCn, Client) => "客户端 ID",
            (Lang::ZhCn, Printer) => "打印机",
            (Lang::ZhCn, SystemDefault) => "系统默认",
            (Lang::ZhCn, Paused) => "打印已暂停",
            (Lang::ZhCn, Idle) => "未配置服务器",
            (Lang::ZhCn, Connecting) => "正在连接",
            (Lang::ZhCn, Connected) => "已连接",
            (Lang::ZhCn, Reconnecting) => "正在重连",
            (Lang::ZhCn, Offline) => "离线",
            (Lang::ZhCn, Kicked) => "服务器已断开连接",
            (Lang::ZhCn, Stopped) => "已停止",
            (Lang::ZhCn, JobFailed) => "打印任务失败",
            (Lang::ZhCn, GaveUp) => "PrintRelay 已离线",
            (Lang::ZhCn, WebView2Missing) => {
                "PrintRelay 无法打开窗口：本机缺少 Microsoft Edge WebView2 Runtime。\n\n打印仍在后台继续。如需查看窗口，请从微软下载安装该运行时（见下方链接）或联系 IT 部门，然后再次选择“显示窗口”。"
            }
        }
    }
}

impl Lang {
    /// Between a label and its value: `: `, or Chinese's full-width `：`.
    pub fn colon(self) -> &'static str {
        match self {
            Lang::En => ": ",
            Lang::ZhCn => "：",
        }
    }

    /// Between two items of a list: `, ` or `，`.
    pub fn comma(self) -> &'static str {
        match self {
            Lang::En => ", ",
            Lang::ZhCn => "，",
        }
    }

    /// `text` in parentheses: ` (text)` or `（text）`.
    pub fn parenthesized(self, text: &str) -> String {
        match self {
            Lang::En => format!(" ({text})"),
            Lang::ZhCn => format!("（{text}）"),
        }
    }

    /// A connection problem in words (the window's sentences, without the address).
    pub fn problem(self, problem: Problem) -> &'static str {
        use Problem::*;
        match (self, problem) {
            (Lang::En, ServerUnreachable) => "The server does not answer. Is it running?",
            (Lang::En, NameNotFound) => "The server's name cannot be found. Check the server URL.",
            (Lang::En, CertificateUntrusted) => "The server's certificate is not trusted.",
            (Lang::En, ProxyFailed) => {
                "The proxy did not let the connection through. Check the proxy in Settings."
            }
            (Lang::En, TokenRefused) => {
                "The server refused the token. Check the token in Settings."
            }
            (Lang::En, ServerRefused) => "The server refused the connection.",
            (Lang::En, NotSocketIo) => "The address answered, but it is not a PrintRelay server.",
            (Lang::En, Timeout) => "The server did not answer in time.",
            (Lang::En, InvalidUrl) => "The server URL cannot be used. Check it in Settings.",
            (Lang::En, ConnectionLost) => "The connection to the server was lost.",
            (Lang::ZhCn, ServerUnreachable) => "服务器没有响应，请确认服务器已启动。",
            (Lang::ZhCn, NameNotFound) => "找不到服务器，请检查服务器地址。",
            (Lang::ZhCn, CertificateUntrusted) => "服务器的证书不受信任。",
            (Lang::ZhCn, ProxyFailed) => "代理未放行连接，请在设置中检查代理。",
            (Lang::ZhCn, TokenRefused) => "服务器拒绝了令牌，请在设置中检查令牌。",
            (Lang::ZhCn, ServerRefused) => "服务器拒绝了连接。",
            (Lang::ZhCn, NotSocketIo) => "该地址有响应，但不是 PrintRelay 服务器。",
            (Lang::ZhCn, Timeout) => "服务器响应超时。",
            (Lang::ZhCn, InvalidUrl) => "服务器地址无法使用，请在设置中检查。",
            (Lang::ZhCn, ConnectionLost) => "与服务器的连接已中断。",
        }
    }
}

impl Lang {
    /// Why a job failed, in words (the window's sentences; the code and the raw message
    /// stay in the job's details and the log).
    pub fn job_error(self, code: ErrorCode) -> &'static str {
        use ErrorCode::*;
        let (en, zh) = match code {
            InvalidPayload => ("The server sent a job this computer cannot read.", "服务器发送的任务格式无法识别。"),
            InvalidJobId => ("The server sent a job with an unusable job ID.", "服务器发送的任务 ID 无效。"),
            UnsupportedContentType => ("This kind of document cannot be printed here.", "本机无法打印这种类型的文档。"),
            MissingContent => ("The job has no document.", "任务中没有文档。"),
            InvalidContent => ("The document is damaged or not of the kind the job says.", "文档已损坏，或与任务声明的类型不符。"),
            EmptyContent => ("The document is empty.", "文档为空。"),
            ContentTooLarge => ("The document is larger than this computer accepts.", "文档太大，本机不接收。"),
            InvalidCopies => ("The number of copies must be from 1 to 999.", "份数必须在 1 到 999 之间。"),
            InvalidOptions => ("The job's print options are not valid.", "任务的打印选项无效。"),
            InvalidTimestamp => ("The job carries a time this computer cannot read.", "任务中的时间格式无效。"),
            Expired => ("The job expired before it could be printed.", "任务在打印前已过期。"),
            PrinterNotFound => ("The printer is not installed on this computer.", "本机没有安装该打印机。"),
            PrinterNotAllowed => ("The job asks for another printer; this computer lets servers use only the selected one (see Settings).", "任务指定了其他打印机，而本机只允许服务器使用所选的打印机（见设置）。"),
            NoPrinter => ("No printer is selected and this computer has no default printer.", "未选择打印机，本机也没有默认打印机。"),
            FetchFailed => ("The document could not be downloaded.", "无法下载文档。"),
            FetchRefused => ("The document is on a server this computer does not download from.", "文档所在的服务器不在本机允许下载的范围内。"),
            PrintFailed => ("The printer or its driver could not print the job.", "打印机或其驱动程序未能打印此任务。"),
            Cancelled => ("The job was cancelled.", "任务已取消。"),
            SpoolerLost => ("The print queue lost track of the job: it may or may not have printed.", "打印队列已无法追踪此任务，可能已打印，也可能未打印。"),
            UnsupportedBinary => ("The server sent binary data (a Buffer) in a place no document is read from.", "服务器在不读取文档的位置发送了二进制数据。"),
            InvalidImage => ("The picture sent is not a PNG, JPEG, GIF or WebP image this computer can print.", "发送的内容不是本机可以打印的图片。"),
            RenderTimeout => ("The page took too long to prepare for printing (a script on it never finished).", "网页准备打印的时间过长（其中的脚本没有结束）。"),
            RenderFailed => ("The page could not be prepared for printing.", "无法将网页准备为可打印的文档。"),
            RendererMissing => ("Printing web pages needs Chromium on this computer; ask your administrator to install it.", "打印网页需要本机安装 Chromium，请联系管理员安装。"),
        };
        match self {
            Lang::En => en,
            Lang::ZhCn => zh,
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
    WebView2Missing,
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
