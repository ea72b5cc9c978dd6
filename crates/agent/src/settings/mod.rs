//! Typed settings: defaults, validation and command-line/env overrides; the settings
//! file is [`file`]. Used wherever the agent starts or its settings change.

mod file;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::connection::{PolicyProblem, ReconnectPolicy, DEFAULT_SOCKET_PATH};
use crate::proxy::ProxySetting;

pub use file::{Loaded, SettingsStore};

/// The server a fresh install talks to: a hub on this machine.
pub const DEFAULT_SERVER_URL: &str = "http://localhost:3000";

/// The UI language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Language {
    /// Follow the operating system.
    #[default]
    System,
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

/// Everything a user can set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    /// The dispatch server; empty means "not configured" (state `idle`). Its path is the
    /// Socket.IO namespace, as in socket.io-client (`http://host:3000/printers`).
    pub server_url: String,
    /// The engine path on the server, `/socket.io/` unless a reverse proxy moved it.
    pub socket_path: String,
    /// A PEM file of CA certificates trusted besides the operating system's (a company
    /// CA the OS does not know).
    pub ca_file: Option<PathBuf>,
    /// The HTTP proxy: `system` (the environment's, or Windows' Internet Settings),
    /// `none`, or `http://[user:password@]host:port`. Used for the server connection
    /// and document fetches alike. Kept as typed, so a form can show what is wrong
    /// with it ([`Settings::proxy`]).
    pub proxy: String,
    /// The id servers route jobs by.
    pub client_id: String,
    /// Agent token sent in the handshake, if the server wants one.
    pub token: Option<String>,
    /// Queue name of the chosen printer; `None` follows the system default.
    pub printer: Option<String>,
    /// Whether a job may name another local printer than the chosen one.
    pub allow_server_printer_choice: bool,
    /// Retry behaviour.
    pub reconnect: ReconnectPolicy,
    /// Start with the operating system.
    pub autostart: bool,
    /// UI language.
    pub language: Language,
    /// Largest accepted document, in bytes.
    pub max_job_bytes: u64,
    /// Finished jobs kept in the history.
    pub history_limit: usize,
    /// Desktop notifications when a job fails or reconnecting gives up.
    pub notifications: bool,
    /// Hosts `pdf_uri`/`raw_uri` documents may be fetched from besides the dispatch
    /// server's own host (always allowed); `*` admits any host with a public address.
    /// Listed hosts may have private addresses (an intranet document server).
    pub fetch_allowed_hosts: Vec<String>,
    /// Seconds one HTML job may take to render before it fails `render_timeout`.
    pub render_timeout_secs: u64,
    /// The browser HTML is rendered with (a path or a name on `PATH`); `None` finds
    /// Chromium, Chrome or Edge.
    pub html_renderer: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server_url: DEFAULT_SERVER_URL.into(),
            socket_path: DEFAULT_SOCKET_PATH.into(),
            ca_file: None,
            proxy: ProxySetting::System.into(),
            client_id: String::new(),
            token: None,
            printer: None,
            allow_server_printer_choice: false,
            reconnect: ReconnectPolicy::default(),
            autostart: false,
            language: Language::System,
            max_job_bytes: crate::protocol::DEFAULT_MAX_JOB_BYTES,
            history_limit: 10_000,
            notifications: true,
            fetch_allowed_hosts: Vec::new(),
            render_timeout_secs: crate::render::DEFAULT_RENDER_TIMEOUT.as_secs(),
            html_renderer: None,
        }
    }
}

/// A setting that cannot be used, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("serverUrl: {0}")]
    ServerUrl(String),
    #[error("socketPath: {0}")]
    SocketPath(String),
    #[error("caFile: {0}")]
    CaFile(String),
    #[error("proxy: {0}")]
    Proxy(String),
    #[error("clientId: must be 1 to 128 characters without control characters")]
    ClientId,
    #[error("{0}")]
    Reconnect(PolicyProblem),
    #[error("fetchAllowedHosts: {0}")]
    FetchAllowedHosts(String),
    /// An administrator's policy fixed this field (its settings.json name).
    #[error("{0}: set by your administrator; it cannot be changed here")]
    Locked(String),
    #[error("cannot read {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("cannot write {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

impl Settings {
    /// The server URLs parsed, in the order they are tried; none when none is
    /// configured. `serverUrl` may list several, comma-separated (hub nodes to fail over
    /// between).
    pub fn servers(&self) -> Result<Vec<Url>, SettingsError> {
        let mut servers = Vec::new();
        for text in self.server_url.split(',').map(str::trim) {
            if text.is_empty() {
                continue;
            }
            let url = Url::parse(text)
                .map_err(|e| SettingsError::ServerUrl(format!("{text:?} is not a URL ({e})")))?;
            crate::connection::Endpoint::new(&url, DEFAULT_SOCKET_PATH)
                .map_err(|e| SettingsError::ServerUrl(e.to_string()))?;
            if !servers.contains(&url) {
                servers.push(url);
            }
        }
        Ok(servers)
    }

    /// The socket path as the connection uses it (`/` at both ends).
    pub fn socket_path(&self) -> Result<String, SettingsError> {
        crate::connection::normalize_socket_path(&self.socket_path)
            .map_err(SettingsError::SocketPath)
    }

    /// The proxy setting parsed (an empty one is `system`).
    pub fn proxy(&self) -> Result<ProxySetting, SettingsError> {
        let text = self.proxy.trim();
        if text.is_empty() {
            return Ok(ProxySetting::System);
        }
        ProxySetting::parse(text).map_err(|e| SettingsError::Proxy(e.to_string()))
    }

    /// The CA file, if one is set (an empty path is none).
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty())
    }

    /// Checks every field a user can type; the first problem found.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.problems().into_iter().next().map_or(Ok(()), Err)
    }

    /// Every field a user typed that cannot be used, for inline validation in a form.
    pub fn problems(&self) -> Vec<SettingsError> {
        let mut problems = Vec::new();
        if let Err(error) = self.servers() {
            problems.push(error);
        }
        if let Err(error) = self.socket_path() {
            problems.push(error);
        }
        if let Err(error) = self.proxy() {
            problems.push(error);
        }
        if let Some(path) = self.ca_file() {
            if let Err(error) = crate::tls::read_ca_file(path) {
                problems.push(SettingsError::CaFile(error.to_string()));
            }
        }
        let id_len = self.client_id.chars().count();
        if !(1..=128).contains(&id_len) || self.client_id.chars().any(char::is_control) {
            problems.push(SettingsError::ClientId);
        }
        problems.extend(
            self.reconnect
                .problems()
                .into_iter()
                .map(SettingsError::Reconnect),
        );
        problems.extend(
            self.fetch_allowed_hosts
                .iter()
                .filter_map(|entry| crate::fetch::parse_allowed_host(entry).err())
                .map(SettingsError::FetchAllowedHosts)
                .take(1),
        );
        problems
    }
}

impl SettingsError {
    /// The settings field at fault (`serverUrl`, `clientId`, `reconnect.attempts`...),
    /// or `None` for file errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            SettingsError::ServerUrl(_) => Some("serverUrl"),
            SettingsError::SocketPath(_) => Some("socketPath"),
            SettingsError::CaFile(_) => Some("caFile"),
            SettingsError::Proxy(_) => Some("proxy"),
            SettingsError::ClientId => Some("clientId"),
            SettingsError::Reconnect(problem) => Some(problem.field),
            SettingsError::FetchAllowedHosts(_) => Some("fetchAllowedHosts"),
            SettingsError::Locked(field) => Some(field),
            SettingsError::Read { .. } | SettingsError::Write { .. } => None,
        }
    }
}

/// A client id made once per install: the host name plus a short random suffix.
pub fn generate_client_id() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    let host = if host.is_empty() {
        "pc".to_owned()
    } else {
        host.to_lowercase()
    };
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("{host}-{suffix}")
}

/// Per-run overrides from flags or environment; `None` keeps the file's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub server_url: Option<String>,
    pub socket_path: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub proxy: Option<ProxySetting>,
    pub client_id: Option<String>,
    pub printer: Option<String>,
    pub token: Option<String>,
    pub reconnect_attempts: Option<u32>,
    pub reconnect_delay_ms: Option<u64>,
    pub reconnect_delay_max_ms: Option<u64>,
    pub connect_timeout_ms: Option<u64>,
    pub background_retry_ms: Option<u64>,
    /// Replaces the file's `fetchAllowedHosts`.
    pub fetch_allowed_hosts: Option<Vec<String>>,
    pub render_timeout_secs: Option<u64>,
    pub html_renderer: Option<PathBuf>,
}

impl Overrides {
    /// The overrides named by `PRINTRELAY_SERVER`, `PRINTRELAY_CLIENT_ID`, `PRINTRELAY_PRINTER`, `PRINTRELAY_TOKEN`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            server_url: var("PRINTRELAY_SERVER"),
            client_id: var("PRINTRELAY_CLIENT_ID"),
            printer: var("PRINTRELAY_PRINTER"),
            token: var("PRINTRELAY_TOKEN"),
            ..Self::default()
        }
    }

    /// `settings` with these overrides applied.
    pub fn apply(&self, mut settings: Settings) -> Settings {
        if let Some(url) = &self.server_url {
            settings.server_url = url.clone();
        }
        if let Some(path) = &self.socket_path {
            settings.socket_path = path.clone();
        }
        if let Some(path) = &self.ca_file {
            settings.ca_file = Some(path.clone());
        }
        if let Some(proxy) = &self.proxy {
            settings.proxy = proxy.clone().into();
        }
        if let Some(id) = &self.client_id {
            settings.client_id = id.clone();
        }
        if let Some(printer) = &self.printer {
            settings.printer = Some(printer.clone());
        }
        if let Some(token) = &self.token {
            settings.token = Some(token.clone());
        }
        let policy = &mut settings.reconnect;
        policy.attempts = self.reconnect_attempts.unwrap_or(policy.attempts);
        policy.delay_ms = self.reconnect_delay_ms.unwrap_or(policy.delay_ms);
        policy.delay_max_ms = self.reconnect_delay_max_ms.unwrap_or(policy.delay_max_ms);
        policy.connect_timeout_ms = self.connect_timeout_ms.unwrap_or(policy.connect_timeout_ms);
        policy.background_retry_ms = self
            .background_retry_ms
            .unwrap_or(policy.background_retry_ms);
        if let Some(hosts) = &self.fetch_allowed_hosts {
            settings.fetch_allowed_hosts = hosts.clone();
        }
        if let Some(secs) = self.render_timeout_secs {
            settings.render_timeout_secs = secs;
        }
        if let Some(browser) = &self.html_renderer {
            settings.html_renderer = Some(browser.clone());
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_every_bad_field() {
        let mut settings = Settings {
            server_url: "nope".into(),
            client_id: String::new(),
            ..Settings::default()
        };
        settings.reconnect.attempts = 0;
        settings.fetch_allowed_hosts = vec!["docs.office".into(), "http://docs.office:8080".into()];
        settings.socket_path = "socket.io".into();
        settings.proxy = "socks5://proxy:1080".into();
        settings.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        let problems = settings.problems();
        let fields: Vec<_> = problems.iter().filter_map(|p| p.field()).collect();
        assert_eq!(
            fields,
            [
                "serverUrl",
                "socketPath",
                "proxy",
                "caFile",
                "clientId",
                "reconnect.attempts",
                "fetchAllowedHosts"
            ]
        );
        // Empty means the default, not a problem.
        let defaults = Settings {
            client_id: "pc".into(),
            socket_path: String::new(),
            proxy: String::new(),
            ca_file: Some(PathBuf::new()),
            ..Settings::default()
        };
        assert_eq!(defaults.validate(), Ok(()));
        assert_eq!(defaults.socket_path().as_deref(), Ok("/socket.io/"));
    }

    #[test]
    fn overrides_win_over_the_file() {
        let settings = Settings {
            client_id: "file".into(),
            ..Settings::default()
        };
        let overrides = Overrides {
            client_id: Some("flag".into()),
            printer: Some("Q".into()),
            fetch_allowed_hosts: Some(vec!["docs.office".into()]),
            ..Overrides::default()
        };
        let applied = overrides.apply(settings);
        assert_eq!(applied.client_id, "flag");
        assert_eq!(applied.fetch_allowed_hosts, ["docs.office"]);
        assert_eq!(applied.printer.as_deref(), Some("Q"));
        assert_eq!(applied.server_url, DEFAULT_SERVER_URL);
    }

    #[test]
    fn validation_names_the_field() {
        let mut settings = Settings {
            client_id: "pc".into(),
            ..Settings::default()
        };
        assert!(settings.validate().is_ok());
        settings.server_url = "not a url".into();
        assert!(matches!(
            settings.validate(),
            Err(SettingsError::ServerUrl(_))
        ));
        settings.server_url = "ftp://x".into();
        assert!(matches!(
            settings.validate(),
            Err(SettingsError::ServerUrl(_))
        ));
        settings.server_url = String::new();
        assert_eq!(settings.servers().ok(), Some(Vec::new()));
        // Several hub nodes, comma-separated, tried in this order; repeats count once.
        settings.server_url = " http://a:3000, https://b/ns ,http://a:3000,".into();
        let servers: Vec<String> = settings
            .servers()
            .expect("a list")
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(servers, ["http://a:3000/", "https://b/ns"]);
        settings.server_url = "http://a:3000, ftp://b".into();
        assert!(matches!(
            settings.validate(),
            Err(SettingsError::ServerUrl(_))
        ));
        settings.server_url = DEFAULT_SERVER_URL.into();
        settings.client_id = String::new();
        assert_eq!(settings.validate(), Err(SettingsError::ClientId));
    }
}
