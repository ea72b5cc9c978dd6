//! The main window of the window process: created at its start; closing it ends the
//! process, so no web engine outlives the window.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// Label of the only window.
pub const MAIN: &str = "main";

/// Creates the window.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()))
        .title("PrintRelay")
        .inner_size(820.0, 600.0)
        .min_inner_size(520.0, 420.0)
        .build()?;
    Ok(())
}

/// Brings the window to the front.
pub fn focus<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}
