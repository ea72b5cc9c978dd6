//! Typed settings: defaults, validation, command-line/env overrides and the settings file.
//!
//! The file is JSON, written atomically (temp file + rename). A corrupt file is moved
//! aside, never overwritten, and the agent runs on defaults with a visible warning.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::connection::{PolicyProblem, ReconnectPolicy};

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
    /// The dispatch server; empty means "not configured" (state `idle`).
    pub server_url: String,
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server_url: DEFAULT_SERVER_URL.into(),
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
        }
    }
}

/// A setting that cannot be used, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("serverUrl: {0}")]
    ServerUrl(String),
    #[error("clientId: must be 1 to 128 characters without control characters")]
    ClientId,
    #[error("{0}")]
    Reconnect(PolicyProblem),
    #[error("cannot read {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("cannot write {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

impl Settings {
    /// The server URL parsed, or `None` when none is configured.
    pub fn server(&self) -> Result<Option<Url>, SettingsError> {
        let trimmed = self.server_url.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let url = Url::parse(trimmed)
            .map_err(|e| SettingsError::ServerUrl(format!("{trimmed:?} is not a URL ({e})")))?;
        crate::connection::engine_url(&url).map_err(|e| SettingsError::ServerUrl(e.to_string()))?;
        Ok(Some(url))
    }

    /// Checks every field a user can type; the first problem found.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.problems().into_iter().next().map_or(Ok(()), Err)
    }

    /// Every field a user typed that cannot be used, for inline validation in a form.
    pub fn problems(&self) -> Vec<SettingsError> {
        let mut problems = Vec::new();
        if let Err(error) = self.server() {
            problems.push(error);
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
        problems
    }
}

impl SettingsError {
    /// The settings field at fault (`serverUrl`, `clientId`, `reconnect.attempts`...),
    /// or `None` for file errors.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            SettingsError::ServerUrl(_) => Some("serverUrl"),
            SettingsError::ClientId => Some("clientId"),
            SettingsError::Reconnect(problem) => Some(problem.field),
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
    pub client_id: Option<String>,
    pub printer: Option<String>,
    pub token: Option<String>,
    pub reconnect_attempts: Option<u32>,
    pub reconnect_delay_ms: Option<u64>,
    pub reconnect_delay_max_ms: Option<u64>,
    pub connect_timeout_ms: Option<u64>,
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
        settings
    }
}

/// `settings` if every value can be used once a missing client id is generated.
fn usable(settings: Settings) -> Result<Settings, SettingsError> {
    let mut check = settings.clone();
    if check.client_id.trim().is_empty() {
        check.client_id = "generated".into();
    }
    check.validate().map(|()| settings)
}

/// Settings as loaded, with a warning for the user when the file was unusable.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    /// Set when the file was corrupt and moved aside.
    pub warning: Option<String>,
}

/// Reads and writes `settings.json`.
#[derive(Debug, Clone)]
pub struct SettingsStore {
    path: PathBuf,
}

impl SettingsStore {
    /// A store for the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the settings. A missing file yields defaults with a fresh client id,
    /// saved at once so the id stays stable; a corrupt file is renamed to
    /// `settings.json.corrupt-<time>` and defaults are used.
    pub fn load(&self) -> Result<Loaded, SettingsError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(SettingsError::Read {
                    path: self.path.clone(),
                    detail: e.to_string(),
                })
            }
        };
        let mut warning = None;
        let parsed = match text {
            None => None,
            Some(text) => match serde_json::from_str::<Settings>(&text)
                .map_err(|e| e.to_string())
                .and_then(|s| usable(s).map_err(|e| e.to_string()))
            {
                Ok(settings) => Some(settings),
                Err(e) => {
                    let aside = self.move_aside()?;
                    let message = format!(
                        "the settings file was unusable ({e}); it was kept as {} and defaults are in use",
                        aside.display()
                    );
                    tracing::warn!("{message}");
                    warning = Some(message);
                    None
                }
            },
        };
        let mut changed = parsed.is_none();
        let mut settings = parsed.unwrap_or_default();
        if settings.client_id.trim().is_empty() {
            settings.client_id = generate_client_id();
            changed = true;
        }
        if changed {
            self.save(&settings)?;
        }
        Ok(Loaded { settings, warning })
    }

    fn move_aside(&self) -> Result<PathBuf, SettingsError> {
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let aside = self.path.with_extension(format!("json.corrupt-{stamp}"));
        std::fs::rename(&self.path, &aside).map_err(|e| SettingsError::Write {
            path: aside.clone(),
            detail: e.to_string(),
        })?;
        Ok(aside)
    }

    /// Writes the settings atomically.
    pub fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        let write_error = |e: std::io::Error| SettingsError::Write {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).map_err(write_error)?;
        let json = serde_json::to_vec_pretty(settings).map_err(|e| SettingsError::Write {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        let temp = self.path.with_extension("json.tmp");
        std::fs::write(&temp, json).map_err(write_error)?;
        std::fs::rename(&temp, &self.path).map_err(write_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SettingsStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SettingsStore::new(dir.path().join("settings.json"));
        (dir, store)
    }

    #[test]
    fn first_load_makes_and_keeps_a_client_id() {
        let (_dir, store) = store();
        let first = store.load().expect("load");
        assert!(first.warning.is_none());
        assert!(!first.settings.client_id.is_empty());
        assert_eq!(first.settings.server_url, DEFAULT_SERVER_URL);
        let second = store.load().expect("load again");
        assert_eq!(second.settings.client_id, first.settings.client_id);
    }

    #[test]
    fn a_corrupt_file_is_kept_aside_and_defaults_are_used() {
        let (dir, store) = store();
        std::fs::write(store.path(), "{ not json").expect("write");
        let loaded = store.load().expect("load");
        assert!(loaded
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("corrupt")));
        assert_eq!(loaded.settings.server_url, DEFAULT_SERVER_URL);
        let kept: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("corrupt"))
            .collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            std::fs::read_to_string(kept[0].path()).ok().as_deref(),
            Some("{ not json")
        );
    }

    #[test]
    fn a_file_with_an_unusable_value_is_kept_aside_too() {
        let (dir, store) = store();
        let text = r#"{"clientId":"pc-7","serverUrl":"ftp://nowhere"}"#;
        std::fs::write(store.path(), text).expect("write");
        let loaded = store.load().expect("load");
        let warning = loaded.warning.expect("a warning");
        assert!(warning.contains("serverUrl"), "{warning}");
        assert_eq!(loaded.settings.server_url, DEFAULT_SERVER_URL);
        let kept = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().contains("corrupt"))
            .expect("the file kept aside");
        assert_eq!(
            std::fs::read_to_string(kept.path()).ok().as_deref(),
            Some(text)
        );
    }

    #[test]
    fn problems_name_every_bad_field() {
        let mut settings = Settings {
            server_url: "nope".into(),
            client_id: String::new(),
            ..Settings::default()
        };
        settings.reconnect.attempts = 0;
        let fields: Vec<_> = settings
            .problems()
            .iter()
            .filter_map(|p| p.field())
            .collect();
        assert_eq!(fields, ["serverUrl", "clientId", "reconnect.attempts"]);
    }

    #[test]
    fn unknown_and_missing_fields_fall_back_to_defaults() {
        let (_dir, store) = store();
        std::fs::write(store.path(), r#"{"clientId":"pc-7","futureField":1}"#).expect("write");
        let loaded = store.load().expect("load");
        assert_eq!(loaded.settings.client_id, "pc-7");
        assert_eq!(loaded.settings.reconnect, ReconnectPolicy::default());
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
            ..Overrides::default()
        };
        let applied = overrides.apply(settings);
        assert_eq!(applied.client_id, "flag");
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
        assert_eq!(settings.server().ok(), Some(None));
        settings.client_id = String::new();
        assert_eq!(settings.validate(), Err(SettingsError::ClientId));
    }
}
