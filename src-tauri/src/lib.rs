//! PrintRelay desktop shell: starts the agent core, shows a tray icon, and opens the
//! window on demand. All printing and connection logic lives in `printrelay-agent`.

mod commands;
mod error;
mod tray;
mod window;

use std::process::ExitCode;
use std::sync::Arc;

use printrelay_agent::paths::Paths;
use printrelay_agent::printing::SystemBackend;
use printrelay_agent::settings::{Overrides, SettingsStore};
use printrelay_agent::store::Store;
use printrelay_agent::{Agent, AgentEvent};
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// Command-line flag the autostart entry passes: start in the tray, no window.
pub const HIDDEN_FLAG: &str = "--hidden";

/// Builds and runs the desktop app until the user quits.
pub fn run() -> ExitCode {
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("printrelay: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _log_guard = printrelay_agent::logging::init(&paths.log_dir(), "desktop");
    let start_hidden = std::env::args().any(|a| a == HIDDEN_FLAG);
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![
            commands::snapshot,
            commands::reconnect,
            commands::printers,
            commands::test_print,
        ])
        .setup(move |app| {
            if let Err(error) = start_agent(app.handle(), &paths) {
                // Keep running so the window can say what is wrong.
                tracing::error!(%error, "the agent did not start");
                app.manage(commands::StartupFailure(error.to_string()));
            }
            tray::create(app.handle())?;
            if !start_hidden {
                window::show(app.handle());
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "cannot start the desktop app");
            return ExitCode::FAILURE;
        }
    };
    app.run(|_app, event| {
        // Closing the window keeps the agent running in the tray; only Quit exits.
        if let tauri::RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            api.prevent_exit();
        }
    });
    ExitCode::SUCCESS
}

/// Loads settings, starts the agent core and bridges its events to the UI and the tray.
fn start_agent<R: Runtime>(
    app: &AppHandle<R>,
    paths: &Paths,
) -> Result<(), Box<dyn std::error::Error>> {
    let loaded = SettingsStore::new(paths.settings_file()).load()?;
    let settings = Overrides::from_env().apply(loaded.settings);
    let client_id = settings.client_id.clone();
    let store = Store::open(&paths.database_file())?;
    let agent =
        tauri::async_runtime::block_on(Agent::start(settings, Arc::new(SystemBackend), store))?;
    let mut events = agent.subscribe();
    let initial = agent.connection().state();
    app.manage(agent);
    tray::show_state(app, &initial, &client_id);
    if let Some(warning) = loaded.warning {
        let _ = app.emit(
            AgentEvent::Warning(String::new()).channel(),
            AgentEvent::Warning(warning),
        );
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let AgentEvent::Connection(state) = &event {
                        tray::show_state(&app, state, &client_id);
                    }
                    let _ = app.emit(event.channel(), &event);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Ok(())
}
