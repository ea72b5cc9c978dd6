//! The hub's settings: flags, then `PRINTRELAY_HUB_*` environment variables, then a
//! config file (`--config`, TOML or JSON), then defaults; the first that sets a value
//! wins. A list (tokens, origins) comes whole from one source.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

use crate::cluster::redis::{InvalidRedisUrl, RedisUrl};
use crate::store::{Database, InvalidDatabase};

/// Command line; every flag also reads the environment variable named beside it.
#[derive(Debug, Default, Parser)]
#[command(name = "printrelay-hub", version, about = "PrintRelay dispatch server")]
pub struct Cli {
    /// Config file, TOML (or JSON when it ends in .json); flags and env override it.
    #[arg(long, env = "PRINTRELAY_HUB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = "PRINTRELAY_HUB_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The store: a SQLite file, or a PostgreSQL URL
    /// (`postgres://USER:PASSWORD@HOST:PORT/DBNAME`; the database must exist) [default:
    /// SQLite in the platform data folder, e.g. ~/.local/share/printrelay/hub.db].
    /// Read as text and checked in [`Config::resolve`]: clap quotes a value it refuses,
    /// and a URL may hold a password.
    #[arg(long, env = "PRINTRELAY_HUB_DB", hide_env_values = true)]
    pub db: Option<String>,
    /// Engine.IO ping interval in milliseconds [default: 10000].
    #[arg(long, env = "PRINTRELAY_HUB_PING_INTERVAL_MS")]
    pub ping_interval_ms: Option<u64>,
    /// Engine.IO ping timeout in milliseconds [default: 5000].
    #[arg(long, env = "PRINTRELAY_HUB_PING_TIMEOUT_MS")]
    pub ping_timeout_ms: Option<u64>,
    /// Largest HTTP request body in bytes [default: 100663296, a 64 MiB document as base64 plus JSON].
    #[arg(long, env = "PRINTRELAY_HUB_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// How long a job submitted without `expiresAt` may wait for its client: `30s`,
    /// `90m`, `12h`, `7d`, or `never` [default: 7d].
    #[arg(long, env = "PRINTRELAY_HUB_DEFAULT_EXPIRY", value_parser = parse_expiry)]
    pub default_expiry: Option<Expiry>,
    /// How long finished jobs (and their status histories) are kept: `30s`, `90m`, `12h`,
    /// `30d`, or `never` [default: 30d].
    #[arg(long, env = "PRINTRELAY_HUB_RETENTION", value_parser = parse_expiry)]
    pub retention: Option<Expiry>,
    /// With PostgreSQL, several hubs may share the database: one whose heartbeat is older
    /// than this is taken as stopped and its clients offline: `10s`, `1m`... [default: 15s].
    #[arg(long, env = "PRINTRELAY_HUB_NODE_TIMEOUT", value_parser = parse_node_timeout)]
    pub node_timeout: Option<u64>,
    /// With PostgreSQL: the hub nodes on the database talk through this Redis server's
    /// pub/sub (`redis://[:PASSWORD@]HOST[:PORT]`), not PostgreSQL `NOTIFY` (the
    /// default; docs/cluster.md says when Redis is worth it). Read as text and checked in
    /// [`Config::resolve`]: a URL may hold a password.
    #[arg(long, env = "PRINTRELAY_HUB_CLUSTER", hide_env_values = true)]
    pub cluster: Option<String>,
    /// Largest size of a SQLite database in MiB (SQLite only: PostgreSQL has its own
    /// limits); past it submissions are answered 507 [default: no cap but the disk].
    #[arg(long, env = "PRINTRELAY_HUB_MAX_DB_MIB")]
    pub max_db_mib: Option<u64>,
    /// A token agents must send in their handshake (repeat for several; comma-separated in env).
    #[arg(
        long = "agent-token",
        env = "PRINTRELAY_HUB_AGENT_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub agent_tokens: Vec<String>,
    /// A client's own agent token, as CLIENT_ID=TOKEN (repeat; comma-separated in env).
    /// That client must connect with it; a shared token does not open it.
    #[arg(
        long = "client-token",
        env = "PRINTRELAY_HUB_CLIENT_TOKENS",
        value_delimiter = ',',
        value_parser = parse_client_token,
        hide_env_values = true
    )]
    pub client_tokens: Vec<(String, String)>,
    /// A bearer token the HTTP API requires (repeat for several; comma-separated in env).
    #[arg(
        long = "api-token",
        env = "PRINTRELAY_HUB_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_tokens: Vec<String>,
    /// A browser origin allowed to call the API (repeat; comma-separated in env; `*` for
    /// any, `none` for no CORS) [default: `*` without --api-token, none with].
    #[arg(
        long = "cors-origin",
        env = "PRINTRELAY_HUB_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// A name the hub also answers to, as `name` (any port) or `name:port`: what a
    /// reverse proxy or port forward sends as Host (repeat; comma-separated in env).
    /// Requests naming any other host get 421 [default: none].
    #[arg(
        long = "public-name",
        env = "PRINTRELAY_HUB_PUBLIC_NAMES",
        value_delimiter = ','
    )]
    pub public_names: Vec<String>,
    /// Log lines on stderr as `text` or `json` (one JSON object a line) [default: text].
    #[arg(long, env = "PRINTRELAY_HUB_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// How long a queued job may wait when its sender gave no `expiresAt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry(pub Option<u64>);

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The config file: the flags' long names with `_` (e.g. `max_body_bytes`), plus
/// `client_tokens` as a table of clientId = token.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<SocketAddr>,
    /// Read as text and checked in [`Config::resolve`]: a parse error in the file would
    /// quote the line, and a URL may hold a password.
    db: Option<String>,
    ping_interval_ms: Option<u64>,
    ping_timeout_ms: Option<u64>,
    max_body_bytes: Option<usize>,
    default_expiry: Option<String>,
    retention: Option<String>,
    max_db_mib: Option<u64>,
    node_timeout: Option<String>,
    /// Read as text, as `db`.
    cluster: Option<String>,
    agent_tokens: Option<Vec<String>>,
    client_tokens: Option<HashMap<String, String>>,
    api_tokens: Option<Vec<String>>,
    cors_origins: Option<Vec<String>>,
    public_names: Option<Vec<String>>,
    log_format: Option<LogFormat>,
}

/// The settings in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    /// `None`: SQLite in the platform data folder.
    pub db: Option<Database>,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub max_body_bytes: usize,
    /// Milliseconds a job without `expiresAt` may wait; `None`: forever.
    pub default_expiry_ms: Option<u64>,
    /// Milliseconds finished jobs are kept; `None`: forever.
    pub retention_ms: Option<u64>,
    /// Cap of the database size in MiB (SQLite only).
    pub max_db_mib: Option<u64>,
    /// Milliseconds after which a silent hub node is taken as stopped (PostgreSQL).
    pub node_timeout_ms: u64,
    /// The Redis server the nodes talk through; `None`: PostgreSQL `NOTIFY`.
    pub cluster: Option<RedisUrl>,
    pub agent_tokens: Vec<String>,
    pub client_tokens: HashMap<String, String>,
    pub api_tokens: Vec<String>,
    /// As configured; `http::cors::origins` decides the default.
    pub cors_origins: Vec<String>,
    /// Names besides its own that the hub answers to (`http::host`).
    pub public_names: Vec<String>,
    pub log_format: LogFormat,
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Toml(PathBuf, Box<toml::de::Error>),
    #[error("{0}: {1}")]
    Json(PathBuf, serde_json::Error),
    #[error("{0}: default_expiry: {1}")]
    Expiry(PathBuf, String),
    #[error("{0}: retention: {1}")]
    Retention(PathBuf, String),
    #[error("{0}: node_timeout: {1}")]
    NodeTimeout(PathBuf, String),
    #[error("{0}: db: {1}")]
    Db(PathBuf, InvalidDatabase),
    #[error("--db (or PRINTRELAY_HUB_DB): {0}")]
    DbFlag(InvalidDatabase),
    #[error("--cluster (or PRINTRELAY_HUB_CLUSTER, or cluster in the config file): {0}")]
    Cluster(InvalidRedisUrl),
    #[error(
        "--cluster (Redis) joins hub nodes on one PostgreSQL database: set --db postgres://..."
    )]
    ClusterNeedsPostgres,
}

const SEVEN_DAYS_MS: u64 = 7 * 24 * 3600 * 1000;
const THIRTY_DAYS_MS: u64 = 30 * 24 * 3600 * 1000;

impl FileConfig {
    /// Reads a TOML file, or JSON when the name ends in `.json`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| ConfigError::Json(path.into(), e))
        } else {
            toml::from_str(&text).map_err(|e| ConfigError::Toml(path.into(), Box::new(e)))
        }
    }
}

impl Config {
    /// Reads `--config` if given and resolves every setting.
    pub fn load(cli: Cli) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        Self::resolve(cli, file)
    }

    /// Flags and env (already merged by clap) over the file over the defaults.
    pub fn resolve(cli: Cli, file: FileConfig) -> Result<Self, ConfigError> {
        let file_expiry = match &file.default_expiry {
            Some(text) => Some(
                parse_expiry(text)
                    .map_err(|e| ConfigError::Expiry(cli.config.clone().unwrap_or_default(), e))?,
            ),
            None => None,
        };
        let file_retention =
            match &file.retention {
                Some(text) => Some(parse_expiry(text).map_err(|e| {
                    ConfigError::Retention(cli.config.clone().unwrap_or_default(), e)
                })?),
                None => None,
            };
        let cli_db = cli
            .db
            .as_deref()
            .map(Database::parse)
            .transpose()
            .map_err(ConfigError::DbFlag)?;
        let file_db = match &file.db {
            Some(text) => Some(
                Database::parse(text)
                    .map_err(|e| ConfigError::Db(cli.config.clone().unwrap_or_default(), e))?,
            ),
            None => None,
        };
        let cluster = cli
            .cluster
            .as_deref()
            .or(file.cluster.as_deref())
            .map(RedisUrl::parse)
            .transpose()
            .map_err(ConfigError::Cluster)?;
        let db = cli_db.or(file_db);
        if cluster.is_some() && !db.as_ref().is_some_and(Database::is_postgres) {
            return Err(ConfigError::ClusterNeedsPostgres);
        }
        let list = |from_cli: Vec<String>, from_file: Option<Vec<String>>| {
            let chosen = if from_cli.is_empty() {
                from_file.unwrap_or_default()
            } else {
                from_cli
            };
            chosen
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
        };
        Ok(Self {
            listen: cli
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000))),
            db,
            cluster,
            ping_interval_ms: cli
                .ping_interval_ms
                .or(file.ping_interval_ms)
                .unwrap_or(10_000),
            ping_timeout_ms: cli
                .ping_timeout_ms
                .or(file.ping_timeout_ms)
                .unwrap_or(5_000),
            max_body_bytes: cli
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(96 * 1024 * 1024),
            default_expiry_ms: cli
                .default_expiry
                .or(file_expiry)
                .unwrap_or(Expiry(Some(SEVEN_DAYS_MS)))
                .0,
            retention_ms: cli
                .retention
                .or(file_retention)
                .unwrap_or(Expiry(Some(THIRTY_DAYS_MS)))
                .0,
            max_db_mib: cli.max_db_mib.or(file.max_db_mib),
            node_timeout_ms: match (cli.node_timeout, file.node_timeout) {
                (Some(ms), _) => ms,
                (None, Some(text)) => parse_node_timeout(&text).map_err(|e| {
                    ConfigError::NodeTimeout(cli.config.clone().unwrap_or_default(), e)
                })?,
                (None, None) => 15_000,
            },
            agent_tokens: list(cli.agent_tokens, file.agent_tokens),
            client_tokens: if cli.client_tokens.is_empty() {
                file.client_tokens.unwrap_or_default()
            } else {
                cli.client_tokens.into_iter().collect()
            },
            api_tokens: list(cli.api_tokens, file.api_tokens),
            cors_origins: list(cli.cors_origins, file.cors_origins),
            public_names: list(cli.public_names, file.public_names),
            log_format: cli.log_format.or(file.log_format).unwrap_or_default(),
        })
    }
}

/// `30s`, `90m`, `12h`, `7d`, plain seconds, or `never`/`0` (no default expiry).
fn parse_expiry(text: &str) -> Result<Expiry, String> {
    let text = text.trim();
    if text == "never" || text == "0" {
        return Ok(Expiry(None));
    }
    let (number, unit_ms) = match text.char_indices().last() {
        Some((at, 's')) => (&text[..at], 1_000),
        Some((at, 'm')) => (&text[..at], 60_000),
        Some((at, 'h')) => (&text[..at], 3_600_000),
        Some((at, 'd')) => (&text[..at], 86_400_000),
        _ => (text, 1_000),
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(unit_ms))
        .map(|ms| Expiry(Some(ms)))
        .ok_or_else(|| format!("{text:?} is not a duration like 30s, 90m, 12h, 7d or never"))
}

/// A duration as for `--retention`, never `never`: a node must be given up on some time.
fn parse_node_timeout(text: &str) -> Result<u64, String> {
    match parse_expiry(text)? {
        Expiry(Some(ms)) => Ok(ms),
        Expiry(None) => Err(format!(
            "{text:?}: a node timeout must be a duration like 15s"
        )),
    }
}

fn parse_client_token(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((client, token)) if !client.is_empty() && !token.is_empty() => {
            Ok((client.to_owned(), token.to_owned()))
        }
        _ => Err("expected CLIENT_ID=TOKEN".into()),
    }
}

#[cfg(test)]
mod tests;
