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

    /// Deletes the settings and the history with the logs, for good (an uninstall that
    /// was asked to remove the user's data). A folder that is not there is fine; on
    /// Windows the emptied `PrintRelay` folders above them go too. Returns what was
    /// deleted.
    pub fn remove_all(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        for dir in [&self.config_dir, &self.data_dir] {
            match std::fs::remove_dir_all(dir) {
                Ok(()) => removed.push(dir.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            // `%APPDATA%\PrintRelay\config`: the product folder, once empty.
            if let Some(parent) = dir.parent().filter(|p| p.ends_with("PrintRelay")) {
                if std::fs::remove_dir(parent).is_ok() {
                    removed.push(parent.to_path_buf());
                }
            }
        }
        Ok(removed)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_all_deletes_both_folders_and_an_emptied_product_folder() {
        let root = tempfile::tempdir().expect("dir");
        let product = root.path().join("PrintRelay");
        let paths = Paths {
            config_dir: product.join("config"),
            data_dir: root.path().join("local/PrintRelay/data"),
        };
        std::fs::create_dir_all(paths.data_dir.join("logs")).expect("dirs");
        std::fs::create_dir_all(&paths.config_dir).expect("dirs");
        std::fs::write(paths.settings_file(), "{}").expect("file");
        std::fs::write(paths.database_file(), "db").expect("file");
        let removed = paths.remove_all().expect("removed");
        assert!(!product.exists() && !root.path().join("local/PrintRelay").exists());
        assert_eq!(removed.len(), 4, "{removed:?}");
        // Again: nothing left is no error.
        assert_eq!(paths.remove_all().expect("again"), Vec::<PathBuf>::new());
    }
}
