//! The tray process: runs the agent core, the tray icon, notifications and autostart, and
//! starts the window process when the user asks for the window. It never creates a web
//! view itself, so idling in the tray carries no web engine.

use std::process::ExitCode;
use std::sync::Arc;

use printrelay_agent::admin::{self, AdminValues, InForce};
use printrelay_agent::connection::ConnectionState;
use printrelay_agent::paths::Paths;
use printrelay_agent::printing::SystemBackend;
use printrelay_agent::settings::{Language, Overrides, Settings, SettingsStore};
use printrelay_agent::store::Store;
use printrelay_agent::warning::{Warning, WarningCode};
use printrelay_agent::{Agent, AgentEvent};
use tauri::{AppHandle, Context, Manager, Runtime, Wry};
use tokio::sync::broadcast::error::RecvError;

use crate::autostart;
use crate::control::Desktop;
use crate::i18n::Lang;
use crate::launch::Action;
use crate::notify;
use crate::tray::{self, TrayModel};
use crate::webview_runtime;
use crate::window_process::WindowProcess;

/// Runs the tray app until the user quits; `action` is what this launch asked for.
pub fn run(
    context: Context<Wry>,
    paths: Paths,
    action: Action,
    window_env_remove: Vec<&'static str>,
) -> ExitCode {
    let builder = tauri::Builder::default()
        // First plugin, so a second launch is caught before anything else starts: it
        // hands its command line over and exits.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            act(app, Action::from_args(&args));
        }));
    let app = crate::autostart::register(builder)
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            if action == Action::Quit {
                // The first launch asked to quit: nothing runs that could.
                return Ok(());
            }
            setup(app.handle(), &paths, window_env_remove)?;
            act(app.handle(), action);
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
    if action == Action::Quit {
        return ExitCode::SUCCESS;
    }
    app.run(|_app, event| {
        // Only Quit (tray menu or `--quit`) ends the app.
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
    #[cfg(windows)]
    use_html_renderer();
    let (agent, settings, policy, mut warnings) = match start_agent(&settings_store, paths) {
        Ok((agent, in_force)) => (
            Ok(agent),
            in_force.settings,
            in_force.policy,
            in_force.warnings,
        ),
        Err(error) => {
            // Keep running so the window can say what is wrong.
            tracing::error!(%error, "the agent did not start");
            let none = AdminValues::default();
            (
                Err(error.to_string()),
                Settings::default(),
                none,
                Vec::new(),
            )
        }
    };
    let autostart = autostart::system(app);
    // When the agent did not start, the settings are unknown: leave the entry alone.
    let synced = match &agent {
        Ok(_) => autostart::sync(autostart.as_ref(), settings.autostart),
        Err(_) => Ok(()),
    };
    if let Err(error) = synced {
        tracing::warn!(%error, "cannot renew the autostart entry");
        warnings.push(Warning::new(
            WarningCode::AutostartNotRenewed,
            error.to_string(),
        ));
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
        policy,
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

/// Makes the agent's HTML jobs render in this program's own `--render-html` process
/// (WebView2), which Windows PCs have, rather than with Chromium, which they lack.
#[cfg(windows)]
fn use_html_renderer() {
    use printrelay_agent::render::process::{use_renderer_process, RendererProcess};
    match std::env::current_exe() {
        Ok(program) => use_renderer_process(RendererProcess {
            program,
            args: vec![crate::html_render::RENDER_HTML_FLAG.into()],
        }),
        // The agent then says HTML printing is not available (`renderer_missing`).
        Err(error) => tracing::warn!(%error, "cannot find this program; HTML jobs will not print"),
    }
}

/// Loads the settings in force (presets, the user's file, the environment, the
/// administrator's policy) and starts the agent core.
fn start_agent(
    settings_store: &SettingsStore,
    paths: &Paths,
) -> Result<(Agent, InForce), Box<dyn std::error::Error>> {
    let in_force = admin::settings_in_force(settings_store.clone(), &Overrides::from_env())?;
    let store = Store::open(&paths.database_file())?;
    let agent = tauri::async_runtime::block_on(Agent::start(
        in_force.settings.clone(),
        Arc::new(SystemBackend::default()),
        store,
    ))?;
    Ok((agent, in_force))
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
    let action = match id {
        tray::ids::SHOW => Action::ShowWindow,
        tray::ids::RECONNECT => Action::Reconnect,
        tray::ids::PAUSE if running_agent(app).is_some_and(|a| a.is_paused()) => Action::Resume,
        tray::ids::PAUSE => Action::Pause,
        tray::ids::QUIT => Action::Quit,
        _ => return,
    };
    act(app, action);
}

/// Does what the tray menu or a launch asked for.
fn act<R: Runtime>(app: &AppHandle<R>, action: Action) {
    tracing::debug!(?action, "asked");
    match (action, running_agent(app)) {
        (Action::ShowWindow, _) => show_window(app),
        (Action::Stay, _) => {}
        (Action::Reconnect, Some(agent)) => {
            tauri::async_runtime::spawn(async move { agent.reconnect().await });
        }
        (Action::Pause, Some(agent)) => agent.set_paused(true),
        (Action::Resume, Some(agent)) => agent.set_paused(false),
        (Action::Quit, _) => app.exit(0),
        (Action::Reconnect | Action::Pause | Action::Resume, None) => {}
    }
}

fn running_agent<R: Runtime>(app: &AppHandle<R>) -> Option<Agent> {
    app.try_state::<Arc<Desktop>>()
        .and_then(|d| d.agent.as_ref().ok().cloned())
}

/// Focuses the window, starting the window process if needed; where the web view
/// runtime is missing, says so instead.
fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Err(missing) = webview_runtime::check() {
        let lang = app
            .try_state::<Arc<Desktop>>()
            .and_then(|d| d.settings_store.load().ok())
            .map_or(Language::System, |loaded| loaded.settings.language);
        webview_runtime::tell_missing(Lang::resolve(lang), &missing);
        return;
    }
    if let Some(window) = app.try_state::<Arc<WindowProcess>>() {
        let window = Arc::clone(&window);
        // The child process needs the runtime's reactor.
        tauri::async_runtime::spawn(async move { window.show() });
    }
}
