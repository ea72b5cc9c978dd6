//! The window process (`printrelay-desktop --window`): a web view and nothing else. It asks
//! the tray process for everything over its stdin/stdout and exits when its window closes
//! or the tray process goes away.

use std::io::IsTerminal;
use std::process::ExitCode;

use tauri::{Context, Emitter, Manager, Wry};

use crate::bridge::{Bridge, ToWindow};
use crate::{commands, window};

/// Runs the window until it is closed.
pub fn run(context: Context<Wry>) -> ExitCode {
    if std::io::stdin().is_terminal() {
        // Without the tray process on the other end of the pipe every request would hang.
        eprintln!("printrelay: --window is how the tray app opens its window; start printrelay-desktop instead");
        return ExitCode::from(2);
    }
    let app = commands::register(tauri::Builder::default())
        .setup(|app| {
            let events = app.handle().clone();
            let closing = app.handle().clone();
            let bridge = Bridge::connect(
                tokio::io::stdin(),
                tokio::io::stdout(),
                move |message| match message {
                    ToWindow::Event { channel, payload } => {
                        let _ = events.emit(&channel, payload);
                    }
                    ToWindow::Focus => window::focus(&events),
                    ToWindow::Reply { .. } => {}
                },
                move || closing.exit(0),
            );
            app.manage(bridge);
            window::create(app.handle())?;
            Ok(())
        })
        .build(context);
    match app {
        Ok(app) => {
            app.run(|_, _| {});
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "cannot open the window");
            ExitCode::FAILURE
        }
    }
}
