//! `printrelay-hub`: the PrintRelay dispatch server. Reads its settings, opens the
//! store, serves HTTP + Socket.IO until SIGTERM/SIGINT.

mod auth;
mod config;
mod events;
mod http;
mod hub;
mod socket;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use socketioxide::SocketIo;

use config::{Cli, Config, LogFormat};

/// A failure that stops the hub, with a one-line message.
#[derive(Debug, thiserror::Error)]
enum HubError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot find a data folder; pass --db")]
    NoDataDir,
    #[error("cannot create {0}: {1}")]
    Folder(PathBuf, std::io::Error),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Cors(#[from] http::InvalidOrigin),
    #[error(
        "listening on {0} (not loopback) needs --agent-token (or --client-token) and --api-token"
    )]
    TokensRequired(SocketAddr),
}

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match Config::load(Cli::parse()) {
        Ok(config) => {
            init_logs(config.log_format);
            run(config).await
        }
        Err(error) => Err(error.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("printrelay-hub: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in files or journald.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

async fn run(config: Config) -> Result<(), HubError> {
    let tokens = auth::Tokens {
        agent: config.agent_tokens,
        clients: config.client_tokens,
        api: config.api_tokens,
    };
    if !config.listen.ip().is_loopback() && (!tokens.agents_need_tokens() || tokens.api.is_empty())
    {
        return Err(HubError::TokensRequired(config.listen));
    }
    let cors = http::cors(&config.cors_origins)?;
    let db = match config.db {
        Some(db) => db,
        None => directories::ProjectDirs::from("", "", "PrintRelay")
            .ok_or(HubError::NoDataDir)?
            .data_local_dir()
            .join("hub.db"),
    };
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| HubError::Folder(dir.to_path_buf(), e))?;
    }
    let store = store::Store::open(&db)?;
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_millis(config.ping_interval_ms))
        .ping_timeout(Duration::from_millis(config.ping_timeout_ms))
        // Agents send small events (statuses, client_info with a printer list).
        .max_payload(1024 * 1024)
        // Per connection, kept for its life (4 KiB by default); a longer message grows it.
        .ws_read_buffer_size(1024)
        .build_layer();
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let hub = hub::Hub::new(store, closing_rx, config.default_expiry_ms);
    socket::attach(&io, hub.clone(), tokens.clone());
    let app = http::router(hub.clone(), tokens, config.max_body_bytes)
        .layer(layer)
        .layer(axum::middleware::map_request(socket::own_request_head));
    // Outermost, so it answers preflights for the API and Socket.IO polling alike.
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| HubError::Listen(config.listen, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| HubError::Listen(config.listen, e))?;
    // One machine-readable line for scripts and tests.
    println!("{}", serde_json::json!({"listening": local.port()}));
    tracing::info!(%local, db = %db.display(), "hub listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let signal = stop_signal().await;
            tracing::info!(
                signal,
                "shutting down: no new connections, finishing requests"
            );
            // Event streams never end by themselves, and the server waits for every open
            // response.
            let _ = closing.send(true);
        })
        .await
        .map_err(HubError::Serve)?;
    // Agents see a clean close and reconnect elsewhere or later; jobs delivered without
    // a `received` go out again on their next connection.
    io.close().await;
    hub.store().checkpoint()?;
    tracing::info!("hub stopped");
    Ok(())
}

/// Waits for SIGTERM or SIGINT (Ctrl-C); returns its name.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}
