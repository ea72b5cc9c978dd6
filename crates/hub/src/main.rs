//! `printrelay-hub`: the PrintRelay dispatch server.

mod auth;
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

#[derive(Debug, Parser)]
#[command(name = "printrelay-hub", version, about = "PrintRelay dispatch server")]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "PRINTRELAY_HUB_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// SQLite database (default: the platform data folder, e.g. ~/.local/share/printrelay/hub.db).
    #[arg(long, env = "PRINTRELAY_HUB_DB")]
    db: Option<PathBuf>,
    /// Engine.IO ping interval in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    ping_interval_ms: u64,
    /// Engine.IO ping timeout in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    ping_timeout_ms: u64,
    /// Largest HTTP request body in bytes (default: a 64 MiB document as base64, plus JSON).
    #[arg(long, default_value_t = 96 * 1024 * 1024)]
    max_body_bytes: usize,
    /// A token agents must send in their handshake (repeat for several; comma-separated in env).
    #[arg(
        long = "agent-token",
        env = "PRINTRELAY_HUB_AGENT_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    agent_tokens: Vec<String>,
    /// A client's own agent token, as CLIENT_ID=TOKEN (repeat; comma-separated in env).
    /// That client must connect with it; a shared token does not open it.
    #[arg(
        long = "client-token",
        env = "PRINTRELAY_HUB_CLIENT_TOKENS",
        value_delimiter = ',',
        value_parser = parse_client_token,
        hide_env_values = true
    )]
    client_tokens: Vec<(String, String)>,
    /// A bearer token the HTTP API requires (repeat for several; comma-separated in env).
    #[arg(
        long = "api-token",
        env = "PRINTRELAY_HUB_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_tokens: Vec<String>,
    /// A browser origin allowed to call the API (repeat; comma-separated in env; `*` for
    /// any). Default: none, same-origin only.
    #[arg(
        long = "cors-origin",
        env = "PRINTRELAY_HUB_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
}

/// A failure that stops the hub, with a one-line message.
#[derive(Debug, thiserror::Error)]
enum HubError {
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
    #[error("listening on {0} (not loopback) needs --agent-token and --api-token")]
    TokensRequired(SocketAddr),
}

fn parse_client_token(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((client, token)) if !client.is_empty() && !token.is_empty() => {
            Ok((client.to_owned(), token.to_owned()))
        }
        _ => Err("expected CLIENT_ID=TOKEN".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("printrelay-hub: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), HubError> {
    let tokens = auth::Tokens {
        agent: cli
            .agent_tokens
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect(),
        clients: cli.client_tokens.into_iter().collect(),
        api: cli
            .api_tokens
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect(),
    };
    if !cli.listen.ip().is_loopback() && (!tokens.agents_need_tokens() || tokens.api.is_empty()) {
        return Err(HubError::TokensRequired(cli.listen));
    }
    let db = match cli.db {
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
        .ping_interval(Duration::from_millis(cli.ping_interval_ms))
        .ping_timeout(Duration::from_millis(cli.ping_timeout_ms))
        // Agents send small events (statuses, client_info with a printer list).
        .max_payload(1024 * 1024)
        .build_layer();
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let hub = hub::Hub::new(store, closing_rx);
    socket::attach(&io, hub.clone(), tokens.clone());
    let cors = http::cors(&cli.cors_origins)?;
    let app = http::router(hub, tokens, cli.max_body_bytes).layer(layer);
    // Outermost, so it answers preflights for the API and Socket.IO polling alike.
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| HubError::Listen(cli.listen, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| HubError::Listen(cli.listen, e))?;
    // One machine-readable line for scripts and tests.
    println!("{}", serde_json::json!({"listening": local.port()}));
    tracing::info!(%local, db = %db.display(), "hub listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            // Event streams never end by themselves; the server waits for open responses.
            let _ = closing.send(true);
        })
        .await
        .map_err(HubError::Serve)
}
