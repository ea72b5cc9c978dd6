//! `printrelay-hub`: the PrintRelay dispatch server. Reads its settings, opens the
//! store, serves HTTP + Socket.IO until SIGTERM/SIGINT.

mod auth;
mod cluster;
mod config;
mod delivery;
mod events;
mod http;
mod hub;
mod registry;
mod socket;
mod store;
mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;

use std::process::ExitCode;
use std::time::Duration;
use store::Database;

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
    Cors(#[from] http::cors::InvalidOrigin),
    #[error(transparent)]
    PublicName(#[from] http::host::InvalidPublicName),
    #[error(
        "listening on {0} (not loopback) needs --agent-token (or --client-token) and --api-token"
    )]
    TokensRequired(SocketAddr),
    #[error(
        "listening on {listen} (not loopback) needs tokens of at least {} characters; a {kind} has {chars}",
        auth::MIN_TOKEN_CHARS
    )]
    ShortToken {
        listen: SocketAddr,
        kind: &'static str,
        chars: usize,
    },
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
    if !config.listen.ip().is_loopback() {
        if !tokens.agents_need_tokens() || tokens.api.is_empty() {
            return Err(HubError::TokensRequired(config.listen));
        }
        // Reachable from the network: a token must resist guessing.
        if let Some((kind, chars)) = tokens.too_short() {
            return Err(HubError::ShortToken {
                listen: config.listen,
                kind,
                chars,
            });
        }
    }
    let cors = http::cors::layer(&http::cors::origins(
        &config.cors_origins,
        !tokens.api.is_empty(),
    ))?;
    // Checked before anything is opened; the port is known once bound.
    http::host::AllowedHosts::new(config.listen, &config.public_names)?;
    let db = match config.db {
        Some(db) => db,
        None => Database::Sqlite(
            directories::ProjectDirs::from("", "", "PrintRelay")
                .ok_or(HubError::NoDataDir)?
                .data_local_dir()
                .join("hub.db"),
        ),
    };
    if let Database::Sqlite(path) = &db {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| HubError::Folder(dir.to_path_buf(), e))?;
        }
    }
    if db.is_postgres() && config.max_db_mib.is_some() {
        tracing::warn!("--max-db-mib applies to SQLite only; ignored for PostgreSQL");
    }
    // SQLite pages are 4 KiB.
    let max_pages = config.max_db_mib.map(|mib| mib * 256);
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_millis(config.ping_interval_ms))
        .ping_timeout(Duration::from_millis(config.ping_timeout_ms))
        // Agents send small events (statuses, client_info with a printer list): a message
        // over 1 MiB closes its connection, over HTTP long-polling and websocket alike
        // (the websocket limit is 64 MiB unless set).
        .max_payload(MAX_SOCKET_MESSAGE)
        .ws_max_message_size(MAX_SOCKET_MESSAGE as usize)
        // Packets waiting to be written to one socket (default 128): a delivery waits for
        // room (crate::delivery); a larger buffer keeps acks and heartbeats beside it.
        .max_buffer_size(1024)
        // Per connection, kept for its life (4 KiB by default); a longer message grows it.
        .ws_read_buffer_size(1024)
        .build_layer();
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let retention = hub::Retention {
        default_expiry_ms: config.default_expiry_ms,
        finished_ms: config.retention_ms,
    };
    let node_timeout = Duration::from_millis(config.node_timeout_ms);
    let hub = hub::Hub::open(
        &db,
        max_pages,
        closing_rx,
        retention,
        node_timeout,
        config.cluster.clone(),
    )
    .await?;
    tokio::spawn(upkeep(hub.clone()));
    socket::attach(&io, hub.clone(), tokens.clone());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| HubError::Listen(config.listen, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| HubError::Listen(config.listen, e))?;
    let hosts = http::host::AllowedHosts::new(local, &config.public_names)?;
    let app = http::router(hub.clone(), tokens, config.max_body_bytes)
        .layer(layer)
        .layer(axum::middleware::map_request(socket::own_request_head));
    // Outside the routes and Socket.IO, so it answers preflights for both.
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    // Outermost: no request for another host reaches anything, preflights included.
    let app = app.layer(axum::middleware::from_fn_with_state(
        std::sync::Arc::new(hosts),
        http::host::check_host,
    ));
    // Listening for the stop signals before saying we listen: a signal that arrived in
    // between would end the process without its clean shutdown.
    let stop = StopSignals::listen();
    // One machine-readable line for scripts and tests.
    println!("{}", serde_json::json!({"listening": local.port()}));
    // `Database` shows a URL without its user, password or options.
    tracing::info!(%local, %db, "hub listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let signal = stop.recv().await;
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
    // Other nodes see its clients offline at once, not after the heartbeat bound.
    if let Err(error) = hub.leave().await {
        tracing::warn!(%error, "cannot take this node's clients offline; other nodes will");
    }
    hub.checkpoint().await?;
    tracing::info!("hub stopped");
    Ok(())
}

/// Expires waiting jobs on time and purges old finished ones, every few seconds, so a
/// queued job of an offline PC shows `expired` when its time passed.
async fn upkeep(hub: hub::Hub) {
    let mut tick = tokio::time::interval(UPKEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for round in 0u64.. {
        tick.tick().await;
        // Purging scans finished jobs: less often.
        hub.upkeep(round % PURGE_EVERY_ROUNDS == 0);
    }
}

/// The longest Socket.IO message the hub reads (README: "socket messages over 1 MiB are
/// refused").
const MAX_SOCKET_MESSAGE: u64 = 1024 * 1024;

/// How often [`upkeep`] runs: expiry is shown within this.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// Finished jobs past retention are purged every this many rounds (5 minutes).
const PURGE_EVERY_ROUNDS: u64 = 60;

/// SIGTERM and SIGINT (Ctrl-C), caught from the moment [`StopSignals::listen`] returns.
struct StopSignals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Self {
                terminate: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for either; returns its name.
    async fn recv(mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            if self.terminate.is_some() || self.interrupt.is_some() {
                return tokio::select! {
                    () = next(&mut self.terminate) => "SIGTERM",
                    () = next(&mut self.interrupt) => "SIGINT",
                };
            }
        }
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
