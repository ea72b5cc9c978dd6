//! The tray icon: its menu, and an icon and tooltip that follow the connection state.

use printrelay_agent::connection::ConnectionState;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

/// Tray and menu ids.
pub mod ids {
    pub const TRAY: &str = "printrelay";
    pub const SHOW: &str = "show";
    pub const RECONNECT: &str = "reconnect";
    pub const QUIT: &str = "quit";
}

/// Builds the tray icon with its menu. Linux sends no click events for tray icons,
/// so "Show window" is a menu item.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let menu = Menu::with_items(
        app,
        &[
            &MenuItem::with_id(app, ids::SHOW, "Show window", true, None::<&str>)?,
            &MenuItem::with_id(app, ids::RECONNECT, "Reconnect", true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, ids::QUIT, "Quit PrintRelay", true, None::<&str>)?,
        ],
    )?;
    TrayIconBuilder::with_id(ids::TRAY)
        .icon(icon_for(&ConnectionState::Idle)?)
        .tooltip("PrintRelay")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| match event.id.as_ref() {
            ids::SHOW => crate::window::show(app),
            ids::RECONNECT => {
                if let Some(agent) = app.try_state::<printrelay_agent::Agent>() {
                    let agent = agent.inner().clone();
                    tauri::async_runtime::spawn(async move { agent.reconnect().await });
                }
            }
            ids::QUIT => app.exit(0),
            _ => {}
        })
        .build(app)?;
    Ok(())
}

/// Sets the icon and tooltip for `state`.
pub fn show_state<R: Runtime>(app: &AppHandle<R>, state: &ConnectionState, client_id: &str) {
    let Some(tray) = app.tray_by_id(ids::TRAY) else {
        return;
    };
    if let Ok(icon) = icon_for(state) {
        let _ = tray.set_icon(Some(icon));
    }
    let _ = tray.set_tooltip(Some(format!(
        "PrintRelay: {} ({client_id})",
        describe(state)
    )));
}

fn icon_for(state: &ConnectionState) -> tauri::Result<Image<'static>> {
    let bytes: &'static [u8] = match state {
        ConnectionState::Connected { .. } => include_bytes!("../../icons/tray-connected.png"),
        ConnectionState::Connecting { .. } | ConnectionState::Reconnecting { .. } => {
            include_bytes!("../../icons/tray-connecting.png")
        }
        ConnectionState::GaveUp { .. } | ConnectionState::Kicked { .. } => {
            include_bytes!("../../icons/tray-offline.png")
        }
        ConnectionState::Idle | ConnectionState::Stopped => {
            include_bytes!("../../icons/tray-paused.png")
        }
    };
    Image::from_bytes(bytes)
}

fn describe(state: &ConnectionState) -> String {
    match state {
        ConnectionState::Idle => "no server configured".into(),
        ConnectionState::Connecting { .. } => "connecting".into(),
        ConnectionState::Connected { .. } => "connected".into(),
        ConnectionState::Reconnecting {
            attempt,
            max_attempts,
            ..
        } => {
            format!("reconnecting ({attempt}/{max_attempts})")
        }
        ConnectionState::GaveUp { .. } => "offline, gave up reconnecting".into(),
        ConnectionState::Kicked { .. } => "disconnected by the server".into(),
        ConnectionState::Stopped => "stopped".into(),
    }
}
