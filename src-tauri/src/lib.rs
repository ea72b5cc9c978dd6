//! PrintRelay desktop shell. One binary, two processes: the tray process runs the agent
//! core and the tray icon; `--window` runs the window process, a web view that lives only
//! while the window is open and talks to the tray process over a pipe (see `bridge`).
//! On Windows a third, `--render-html`, prints one HTML job for the agent with WebView2
//! and exits (see `html_render`). All printing and connection logic lives in
//! `printrelay-agent`.

mod autostart;
mod bridge;
mod commands;
#[cfg(test)]
mod contract;
mod control;
mod error;
mod html_render;
mod i18n;
mod launch;
mod notify;
mod tray;
mod tray_app;
mod webview_runtime;
mod window;
mod window_app;
mod window_process;

#[cfg(test)]
mod tests;

use std::process::ExitCode;

use printrelay_agent::paths::Paths;

pub use window_process::WINDOW_FLAG;

pub use html_render::RENDER_HTML_FLAG;

pub use launch::HIDDEN_FLAG;

/// Runs the tray app, with `--window` the window process, or with `--render-html` (on
/// Windows) the HTML renderer.
pub fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == launch::REMOVE_USER_DATA_FLAG) {
        // An uninstaller's step: no window, no tray, no display needed.
        return launch::remove_user_data();
    }
    // An installer's `--quit` (before it removes or replaces our files): hand it over and
    // wait until the app has ended, which the single-instance channel alone does not.
    #[cfg(windows)]
    if launch::Action::from_args(&args) == launch::Action::Quit && !launch::is_forwarding() {
        return launch::quit_and_wait();
    }
    let render_mode = args.iter().any(|a| a == RENDER_HTML_FLAG);
    #[cfg(not(windows))]
    if render_mode {
        eprintln!("printrelay: {RENDER_HTML_FLAG} is the Windows app's HTML renderer; elsewhere the agent renders HTML with Chromium");
        return ExitCode::from(2);
    }
    #[cfg(target_os = "linux")]
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        // GTK would fail to start and take the process down with a panic.
        eprintln!("printrelay: no graphical session (DISPLAY and WAYLAND_DISPLAY are unset); on a machine without a desktop, run printrelay-agent");
        return ExitCode::from(2);
    }
    let window_mode = args.iter().any(|a| a == WINDOW_FLAG);
    let mut window_env_remove = Vec::new();
    if !window_mode && std::env::var_os("GDK_GL").is_none() {
        // Before GTK starts: the tray needs no OpenGL, and GTK would otherwise load Mesa and
        // LLVM (tens of MB) at once. The window process gets the variable removed again.
        std::env::set_var("GDK_GL", "disable");
        window_env_remove.push("GDK_GL");
    }
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("printrelay: {error}");
            return ExitCode::FAILURE;
        }
    };
    let context = tauri::generate_context!();
    #[cfg(windows)]
    if render_mode {
        // No log of its own: logging would write to stderr too, where the agent expects
        // the one line it logs when a render fails.
        return html_render::run(context, &paths);
    }
    let prefix = if window_mode { "window" } else { "desktop" };
    let _log_guard = printrelay_agent::logging::init(&paths.log_dir(), prefix);
    if window_mode {
        window_app::run(context)
    } else {
        let action = launch::Action::from_args(&args);
        tray_app::run(context, paths, action, window_env_remove)
    }
}
