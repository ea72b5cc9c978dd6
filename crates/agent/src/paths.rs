//! Where the agent keeps its files: settings, history and logs, per platform.
//!
//! `PRINTRELAY_CONFIG_DIR` and `PRINTRELAY_DATA_DIR` override the platform folders
//! (tests and portable installs use them).

use std::path::PathBuf;

/// The agent's folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Settings (`settings.json`): `~/.config/printrelay`, `%APPDATA%\PrintRelay\config`, ...
    pub config_dir: PathBuf,
    /// History and state: `~/.local/share/printrelay`, `%LOCALAPPDATA%\PrintRelay\data`, ...
    pub data_dir: PathBuf,
}

/// The platform folders could not be determined (no home directory).
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "cannot find a home folder for settings; set PRINTRELAY_CONFIG_DIR and PRINTRELAY_DATA_DIR"
)]
pub struct NoHomeDir;

impl Paths {
    /// The platform folders, with the environment overrides applied.
    pub fn from_env() -> Result<Self, NoHomeDir> {
        let env_dir = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let config_override = env_dir("PRINTRELAY_CONFIG_DIR");
        let data_override = env_dir("PRINTRELAY_DATA_DIR");
        if let (Some(config_dir), Some(data_dir)) = (config_override.clone(), data_override.clone())
        {
            return Ok(Self {
                config_dir,
                data_dir,
            });
        }
        let dirs = directories::ProjectDirs::from("", "", "PrintRelay").ok_or(NoHomeDir)?;
        Ok(Self {
            config_dir: config_override.unwrap_or_else(|| dirs.config_dir().to_path_buf()),
            data_dir: data_override.unwrap_or_else(|| dirs.data_local_dir().to_path_buf()),
        })
    }

    /// Folders under one root, for tests.
    pub fn under(root: &std::path::Path) -> Self {
        Self {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
        }
    }

    /// The settings file.
    pub fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.json")
    }

    /// The job database.
    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join("agent.db")
    }

    /// The folder of rotating log files.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
}
