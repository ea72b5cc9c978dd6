//! The tray process: runs the agent core, the tray icon, notifications and autostart, and
//! starts the window process when the user asks for the window. It never creates a web
//! view itself, so idling in the tray carries no web engine.

use std::process::ExitCode;
use std::sync::Arc;

use printrelay_agent::connection::ConnectionState;
use printrelay_agent::paths::Paths;
use printrelay_agent::printing::SystemBackend;
use printrelay_agent::settings::{Overrides, Settings, SettingsStore};
use printrelay_agent::store::Store;
use printrelay_agent::warning::{Warning, WarningCode};
use printrelay_agent::{Agent, AgentEvent};
use tauri::{AppHandle, Context, Manager, Runtime, Wry};
use tokio::sync::broadcast::error::RecvError;

use crate::autostart::{Autostart, PluginAutostart};
use crate::control::Desktop;
use crate::notify;
use crate::tray::{self, TrayModel};
use crate::window_process::WindowProcess;
use crate::HIDDEN_FLAG;

/// Runs the tray app until the user quits.
pub fn run(
    context: Context<Wry>,
    paths: Paths,
    start_hidden: bool,
    window_env_remove: Vec<&'static str>,
) -> ExitCode {
    let app = tauri::Builder::default()
        // First plugin, so a second launch is caught before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            if !args.iter().any(|a| a == HIDDEN_FLAG) {
                show_window(app);
            }
        }))
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .arg(HIDDEN_FLAG)
                .build(),
        )
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            setup(app.handle(), &paths, window_env_remove)?;
            if !start_hidden {
                show_window(app.handle());
            }
            Ok(())
        })
        .build(context);
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "cannot start the desktop app");
            return ExitCode::FAILURE;
        }
    };
    app.run(|_app, event| {
        // Only Quit in the tray menu ends the app.
        if let tauri::RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            api.prevent_exit();
        }
    });
    ExitCode::SUCCESS
}

fn setup<R: Runtime>(
    app: &AppHandle<R>,
    paths: &Paths,
    window_env_remove: Vec<&'static str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let settings_store = SettingsStore::new(paths.settings_file());
    let autostart: Arc<dyn Autostart> = Arc::new(PluginAutostart(app.clone()));
    let (agent, settings, mut warnings) = match start_agent(&settings_store, paths) {
        Ok((agent, settings, warnings)) => (Ok(agent), settings, warnings),
        Err(error) => {
            // Keep running so the window can say what is wrong.
            tracing::error!(%error, "the agent did not start");
            (Err(error.to_string()), Settings::default(), Vec::new())
        }
    };
    if settings.autostart {
        // Rewrites the entry so it points at this executable even after an update moved it.
        if let Err(error) = autostart.set(true) {
            tracing::warn!(%error, "cannot renew the autostart entry");
            warnings.push(Warning::new(
                WarningCode::AutostartNotRenewed,
                error.to_string(),
            ));
        }
    }
    let model = match &agent {
        Ok(agent) => TrayModel::new(agent.connection().state(), agent.is_paused(), &settings),
        Err(_) => TrayModel::new(ConnectionState::Idle, false, &settings),
    };
    let events = agent.as_ref().ok().map(Agent::subscribe);
    let desktop = Arc::new(Desktop {
        agent,
        settings_store,
        autostart,
        warnings,
    });
    let window = Arc::new(WindowProcess::new(Arc::clone(&desktop), window_env_remove));
    app.manage(Arc::clone(&desktop));
    app.manage(Arc::clone(&window));
    tray::create(app, &model, on_menu)?;
    if let Some(events) = events {
        tauri::async_runtime::spawn(follow_events(
            app.clone(),
            events,
            model,
            settings.notifications,
            window,
        ));
    }
    Ok(())
}

/// Loads settings (flags/env over the file) and starts the agent core.
fn start_agent(
    settings_store: &SettingsStore,
    paths: &Paths,
) -> Result<(Agent, Settings, Vec<Warning>), Box<dyn std::error::Error>> {
    let loaded = settings_store.load()?;
    let settings = Overrides::from_env().apply(loaded.settings);
    let store = Store::open(&paths.database_file())?;
    let agent = tauri::async_runtime::block_on(Agent::start(
        settings.clone(),
        Arc::new(SystemBackend::default()),
        store,
    ))?;
    Ok((agent, settings, loaded.warning.into_iter().collect()))
}

/// Keeps the tray, notifications and the open window in step with the agent.
async fn follow_events<R: Runtime>(
    app: AppHandle<R>,
    mut events: tokio::sync::broadcast::Receiver<AgentEvent>,
    mut model: TrayModel,
    mut notifications: bool,
    window: Arc<WindowProcess>,
) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => break,
        };
        let before = model.clone();
        match &event {
            AgentEvent::Connection(state) => model.state = state.clone(),
            AgentEvent::Paused(paused) => model.paused = *paused,
            AgentEvent::Settings(settings) => {
                model.set_settings(settings);
                notifications = settings.notifications;
            }
            _ => {}
        }
        if model != before {
            tray::show(&app, &model);
        }
        if notifications {
            if let Some(notice) = notify::notice_for(&event, &before.state, model.lang) {
                notify::show(&app, &notice);
            }
        }
        window.forward(&event);
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let agent = app
        .try_state::<Arc<Desktop>>()
        .and_then(|d| d.agent.as_ref().ok().cloned());
    match (id, agent) {
        (tray::ids::SHOW, _) => show_window(app),
        (tray::ids::RECONNECT, Some(agent)) => {
            tauri::async_runtime::spawn(async move { agent.reconnect().await });
        }
        (tray::ids::PAUSE, Some(agent)) => agent.set_paused(!agent.is_paused()),
        (tray::ids::QUIT, _) => app.exit(0),
        _ => {}
    }
}

/// Focuses the window, starting the window process if needed.
fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.try_state::<Arc<WindowProcess>>() {
        let window = Arc::clone(&window);
        // The child process needs the runtime's reactor.
        tauri::async_runtime::spawn(async move { window.show() });
    }
}
