//! The tray icon: menu, and an icon and tooltip that follow the connection state, the
//! paused flag, the client id and printer. Runs on the tray process' main thread.

use printrelay_agent::connection::ConnectionState;
use printrelay_agent::settings::Settings;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Runtime};

use crate::i18n::{Lang, Text};

/// Tray and menu ids.
pub mod ids {
    pub const TRAY: &str = "printrelay";
    pub const SHOW: &str = "show";
    pub const RECONNECT: &str = "reconnect";
    pub const PAUSE: &str = "pause";
    pub const QUIT: &str = "quit";
}

/// What the tray shows, kept up to date from agent events.
#[derive(Debug, Clone, PartialEq)]
pub struct TrayModel {
    pub state: ConnectionState,
    pub paused: bool,
    pub client_id: String,
    pub printer: Option<String>,
    pub lang: Lang,
}

impl TrayModel {
    /// The model for `settings` before any event.
    pub fn new(state: ConnectionState, paused: bool, settings: &Settings) -> Self {
        Self {
            state,
            paused,
            client_id: settings.client_id.clone(),
            printer: settings.printer.clone(),
            lang: Lang::resolve(settings.language),
        }
    }

    /// Follows new settings.
    pub fn set_settings(&mut self, settings: &Settings) {
        self.client_id = settings.client_id.clone();
        self.printer = settings.printer.clone();
        self.lang = Lang::resolve(settings.language);
    }

    /// Which of the four icons.
    pub fn icon(&self) -> TrayIcon {
        if self.paused {
            return TrayIcon::Paused;
        }
        match self.state {
            ConnectionState::Connected { .. } => TrayIcon::Connected,
            ConnectionState::Connecting { .. } | ConnectionState::Reconnecting { .. } => {
                TrayIcon::Connecting
            }
            ConnectionState::Idle
            | ConnectionState::GaveUp { .. }
            | ConnectionState::Kicked { .. }
            | ConnectionState::Stopped => TrayIcon::Offline,
        }
    }

    /// State, client id and printer, one per line.
    pub fn tooltip(&self) -> String {
        let t = |key| self.lang.text(key);
        let mut state = match &self.state {
            ConnectionState::Idle => t(Text::Idle).to_owned(),
            ConnectionState::Connecting { .. } => t(Text::Connecting).to_owned(),
            ConnectionState::Connected { .. } => t(Text::Connected).to_owned(),
            ConnectionState::Reconnecting {
                attempt,
                max_attempts,
                ..
            } => format!(
                "{}{}",
                t(Text::Reconnecting),
                self.lang
                    .parenthesized(&format!("{attempt}/{max_attempts}"))
            ),
            ConnectionState::GaveUp { .. } => t(Text::Offline).to_owned(),
            ConnectionState::Kicked { .. } => t(Text::Kicked).to_owned(),
            ConnectionState::Stopped => t(Text::Stopped).to_owned(),
        };
        if self.paused {
            state = format!("{state}{}{}", self.lang.comma(), t(Text::Paused));
        }
        let printer = self.printer.as_deref().unwrap_or(t(Text::SystemDefault));
        let colon = self.lang.colon();
        format!(
            "PrintRelay{colon}{state}\n{}{colon}{}\n{}{colon}{printer}",
            t(Text::Client),
            self.client_id,
            t(Text::Printer)
        )
    }
}

/// The tray icons, one per situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayIcon {
    Connected,
    Connecting,
    Offline,
    Paused,
}

/// Builds the tray icon with its menu. Linux sends no click events for tray icons, so
/// "Show window" is a menu item; menu actions go to `on_menu`.
pub fn create<R: Runtime>(
    app: &AppHandle<R>,
    model: &TrayModel,
    on_menu: impl Fn(&AppHandle<R>, &str) + Send + Sync + 'static,
) -> tauri::Result<()> {
    log_shown(model);
    TrayIconBuilder::with_id(ids::TRAY)
        .icon(image(model.icon())?)
        .tooltip(model.tooltip())
        .menu(&menu(app, model)?)
        .show_menu_on_left_click(true)
        .on_menu_event(move |app, event| on_menu(app, event.id.as_ref()))
        .build(app)?;
    Ok(())
}

/// Shows `model`: icon, tooltip and menu labels.
pub fn show<R: Runtime>(app: &AppHandle<R>, model: &TrayModel) {
    let Some(tray) = app.tray_by_id(ids::TRAY) else {
        return;
    };
    log_shown(model);
    if let Ok(icon) = image(model.icon()) {
        let _ = tray.set_icon(Some(icon));
    }
    let _ = tray.set_tooltip(Some(model.tooltip()));
    if let Ok(menu) = menu(app, model) {
        let _ = tray.set_menu(Some(menu));
    }
}

/// The tooltip cannot be read back from every desktop (not from an XEmbed tray at all),
/// so each one shown is logged, for support and for the Windows tests.
fn log_shown(model: &TrayModel) {
    tracing::debug!(icon = ?model.icon(), tooltip = ?model.tooltip(), "tray shows");
}

fn menu<R: Runtime>(app: &AppHandle<R>, model: &TrayModel) -> tauri::Result<Menu<R>> {
    let t = |key| model.lang.text(key);
    let pause = if model.paused {
        Text::Resume
    } else {
        Text::Pause
    };
    Menu::with_items(
        app,
        &[
            &MenuItem::with_id(app, ids::SHOW, t(Text::ShowWindow), true, None::<&str>)?,
            &MenuItem::with_id(app, ids::RECONNECT, t(Text::Reconnect), true, None::<&str>)?,
            &MenuItem::with_id(app, ids::PAUSE, t(pause), true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, ids::QUIT, t(Text::Quit), true, None::<&str>)?,
        ],
    )
}

fn image(icon: TrayIcon) -> tauri::Result<Image<'static>> {
    let bytes: &'static [u8] = match icon {
        TrayIcon::Connected => include_bytes!("../../icons/tray-connected.png"),
        TrayIcon::Connecting => include_bytes!("../../icons/tray-connecting.png"),
        TrayIcon::Offline => include_bytes!("../../icons/tray-offline.png"),
        TrayIcon::Paused => include_bytes!("../../icons/tray-paused.png"),
    };
    Image::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(state: ConnectionState) -> TrayModel {
        let settings = Settings {
            client_id: "pc-7".into(),
            printer: Some("Labels".into()),
            language: printrelay_agent::settings::Language::En,
            ..Settings::default()
        };
        TrayModel::new(state, false, &settings)
    }

    #[test]
    fn icon_follows_state_and_pause_wins() {
        let mut m = model(ConnectionState::Connected {
            since: 0,
            sid: "s".into(),
            transport: printrelay_agent::connection::Transport::Websocket,
        });
        assert_eq!(m.icon(), TrayIcon::Connected);
        m.paused = true;
        assert_eq!(m.icon(), TrayIcon::Paused);
        m.paused = false;
        m.state = ConnectionState::GaveUp {
            attempts: 5,
            last_error: "refused".into(),
            problem: printrelay_agent::connection::Problem::ServerUnreachable,
            retry_at: None,
        };
        assert_eq!(m.icon(), TrayIcon::Offline);
    }

    #[test]
    fn tooltip_names_state_client_and_printer() {
        let mut m = model(ConnectionState::Reconnecting {
            attempt: 2,
            max_attempts: 5,
            retry_at: 0,
            last_error: "refused".into(),
            problem: printrelay_agent::connection::Problem::ServerUnreachable,
        });
        assert_eq!(
            m.tooltip(),
            "PrintRelay: Reconnecting (2/5)\nClient ID: pc-7\nPrinter: Labels"
        );
        m.lang = Lang::ZhCn;
        m.paused = true;
        m.printer = None;
        assert_eq!(
            m.tooltip(),
            "PrintRelay：正在重连（2/5），打印已暂停\n客户端 ID：pc-7\n打印机：系统默认"
        );
    }
}
