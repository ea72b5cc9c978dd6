//! The main window, created on demand and destroyed when closed, so the app idling
//! in the tray carries no web engine.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// Label of the only window.
pub const MAIN: &str = "main";

/// Shows the window, creating it if needed.
pub fn show<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()))
        .title("PrintRelay")
        .inner_size(760.0, 560.0)
        .min_inner_size(480.0, 400.0)
        .build();
    if let Err(error) = built {
        tracing::error!(%error, "cannot open the window");
    }
}
