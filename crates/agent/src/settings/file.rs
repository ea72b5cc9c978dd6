//! The settings file, `settings.json`, and its last good copy, `settings.json.bak`.
//! Read when the agent starts, written when the user saves settings.
//!
//! Both are JSON, private to the user (0600, folder 0700 on Unix) and written
//! atomically and durably (temp file, fsync, rename, fsync of the folder). A file that
//! cannot be used is moved aside, never overwritten; the agent then carries on with the
//! last good copy, so the PC keeps its client id, server and token, and says so. Only
//! when both are unusable does it start afresh on defaults with a new client id.

use std::path::{Path, PathBuf};

use super::{generate_client_id, Settings, SettingsError};
use crate::private;
use crate::warning::{Warning, WarningCode};

/// `settings` if every value can be used once a missing client id is generated.
fn usable(settings: Settings) -> Result<Settings, SettingsError> {
    let mut check = settings.clone();
    if check.client_id.trim().is_empty() {
        check.client_id = "generated".into();
    }
    check.validate().map(|()| settings)
}

/// Settings written before `socketPath` existed kept the engine path's prefix in the
/// server URL (`https://hub/relay` meant `/relay/socket.io/`); the URL's path is the
/// namespace now. Moves such a path to `socket_path`, once (the file is then saved with
/// `socketPath`), and says what changed.
fn migrate_server_path(text: &str, settings: &mut Settings) -> Option<String> {
    let raw: serde_json::Value = serde_json::from_str(text).ok()?;
    if raw.get("socketPath").is_some() {
        return None;
    }
    let mut url = url::Url::parse(settings.server_url.trim()).ok()?;
    let prefix = url.path().trim_end_matches('/').to_owned();
    if prefix.is_empty() {
        return None;
    }
    let before = settings.server_url.clone();
    url.set_path("");
    settings.server_url = url.as_str().trim_end_matches('/').to_owned();
    settings.socket_path = format!("{prefix}/socket.io/");
    Some(format!(
        "the server address {before} was saved by an older version, which took its path as the place of socket.io; it is now {} with the socket path {}",
        settings.server_url, settings.socket_path
    ))
}

/// A usable settings file: the settings, its text, and what an older version's file
/// needed changed (then it is saved again).
type Read = (Settings, String, Option<String>);

/// Reads the settings at `path`: `Ok(None)` when there is no file, `Err` with why
/// when it cannot be used.
fn read_usable(path: &Path) -> Result<Option<Read>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    let mut settings = serde_json::from_str::<Settings>(&text).map_err(|e| e.to_string())?;
    let migrated = migrate_server_path(&text, &mut settings);
    let settings = usable(settings).map_err(|e| e.to_string())?;
    Ok(Some((settings, text, migrated)))
}

/// Settings as loaded, with a warning for the user when the file was unusable.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    /// Set when the file was unusable (it was moved aside) or missing while a last
    /// good copy existed: says which settings are in use.
    pub warning: Option<Warning>,
}

/// Reads and writes `settings.json` and its last good copy.
#[derive(Debug, Clone)]
pub struct SettingsStore {
    path: PathBuf,
    /// What a fresh install starts with (defaults, or an administrator's presets).
    fresh: Settings,
}

impl SettingsStore {
    /// A store for the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            fresh: Settings::default(),
        }
    }

    /// A fresh install (no usable file, no last good copy) starts from `settings`
    /// instead of the defaults: an administrator's presets (see `admin`).
    pub fn starting_from(mut self, settings: Settings) -> Self {
        self.fresh = settings;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last good copy: `settings.json.bak` beside the file.
    pub fn backup_path(&self) -> PathBuf {
        self.path.with_extension("json.bak")
    }

    /// Loads the settings. A usable file is used (and the last good copy refreshed from
    /// it). An unusable one (unreadable, empty, not JSON, a value the agent cannot use)
    /// is renamed `settings.json.corrupt-<time>` and the last good copy is used, with a
    /// warning; a missing file with a last good copy beside it likewise. Without a
    /// usable copy, defaults are used with a fresh client id, saved at once so the id
    /// stays stable.
    pub fn load(&self) -> Result<Loaded, SettingsError> {
        // Files written by older versions were world-readable.
        if let Some(dir) = self.path.parent() {
            private::narrow_dir(dir);
        }
        private::narrow_file(&self.path);
        private::narrow_file(&self.backup_path());
        let backup = || read_usable(&self.backup_path());
        let (parsed, warning) = match read_usable(&self.path) {
            Ok(Some((settings, text, migrated))) => {
                self.refresh_backup(&text);
                let notice = migrated.map(|m| Warning::new(WarningCode::SettingsMigrated, m));
                (Some(settings), notice)
            }
            Ok(None) => match backup() {
                Ok(Some((settings, ..))) => {
                    let message = format!(
                        "the settings file {} was missing; the last good copy {} is in use",
                        self.path.display(),
                        self.backup_path().display()
                    );
                    (
                        Some(settings),
                        Some(Warning::new(WarningCode::SettingsFromCopy, message)),
                    )
                }
                Ok(None) => (None, None),
                Err(problem) => {
                    let message = format!(
                        "the settings file was missing and its last good copy was unusable ({problem}); defaults are in use"
                    );
                    (
                        None,
                        Some(Warning::new(WarningCode::SettingsReset, message)),
                    )
                }
            },
            Err(problem) => {
                let aside = self.move_aside()?;
                let what = format!(
                    "the settings file was unusable ({problem}); it was kept as {}",
                    aside.display()
                );
                match backup() {
                    Ok(Some((settings, ..))) => {
                        let message = format!(
                            "{what} and the last good copy {} is in use",
                            self.backup_path().display()
                        );
                        (Some(settings), Some(Warning::new(WarningCode::SettingsFromCopy, message)))
                    }
                    Ok(None) => (
                        None,
                        Some(Warning::new(
                            WarningCode::SettingsReset,
                            format!("{what} and defaults are in use"),
                        )),
                    ),
                    Err(also) => (
                        None,
                        Some(Warning::new(
                            WarningCode::SettingsReset,
                            format!(
                                "{what}; its last good copy was unusable too ({also}); defaults are in use"
                            ),
                        )),
                    ),
                }
            }
        };
        if let Some(warning) = &warning {
            tracing::warn!("{}", warning.detail);
        }
        // A recovered or fresh file is written back at once.
        let mut changed = parsed.is_none() || warning.is_some();
        let mut settings = parsed.unwrap_or_else(|| self.fresh.clone());
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

    /// Writes the settings atomically and durably, then the same as the last good copy.
    pub fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        let write_error = |e: std::io::Error| SettingsError::Write {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        private::create_dir(dir).map_err(write_error)?;
        let json = serde_json::to_vec_pretty(settings).map_err(|e| SettingsError::Write {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        let temp = self.path.with_extension("json.tmp");
        private::write_atomic(&self.path, &temp, &json).map_err(write_error)?;
        self.write_backup(&json);
        Ok(())
    }

    /// Makes the last good copy hold `text` (a usable file) unless it does already.
    fn refresh_backup(&self, text: &str) {
        if std::fs::read(self.backup_path()).ok().as_deref() != Some(text.as_bytes()) {
            self.write_backup(text.as_bytes());
        }
    }

    /// The settings are saved already when this runs: a copy that cannot be written
    /// is logged, not reported as a failed save.
    fn write_backup(&self, bytes: &[u8]) {
        let backup = self.backup_path();
        let temp = self.path.with_extension("json.bak.tmp");
        if let Err(error) = private::write_atomic(&backup, &temp, bytes) {
            tracing::warn!(path = %backup.display(), %error, "cannot write the last good copy of the settings");
        }
    }
}

#[cfg(test)]
mod tests;
