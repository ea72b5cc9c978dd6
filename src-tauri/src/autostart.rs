//! Start with the OS: the autostart entry as the OS really has it, behind a small trait so
//! command tests run without touching the test machine's login items. Windows gets a
//! per-user Run entry of our own ([`run_key`]); macOS and Linux the autostart plugin's
//! login item / desktop file.

#[cfg(windows)]
mod run_key;

use std::fmt::Debug;
use std::sync::Arc;

use serde::Serialize;
use tauri::{AppHandle, Builder, Runtime};

/// The OS refused to read or change the autostart entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("autostart: {0}")]
pub struct AutostartError(pub String);

/// Reads and changes whether the app starts with the OS.
pub trait Autostart: Send + Sync + Debug {
    /// Whether the OS has an entry for the app.
    fn is_enabled(&self) -> Result<bool, AutostartError>;
    /// Creates (or rewrites, so it points at this executable) or removes the entry.
    fn set(&self, enabled: bool) -> Result<(), AutostartError>;
}

/// What the UI shows next to the autostart switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AutostartState {
    /// The OS's real state, not the saved setting.
    pub enabled: bool,
    /// Why the state could not be read or changed, if so.
    pub error: Option<String>,
}

/// The state now, with `error` already known from a failed change.
pub fn state(autostart: &dyn Autostart, error: Option<AutostartError>) -> AutostartState {
    match autostart.is_enabled() {
        Ok(enabled) => AutostartState {
            enabled,
            error: error.map(|e| e.to_string()),
        },
        Err(read) => AutostartState {
            enabled: false,
            error: Some(error.unwrap_or(read).to_string()),
        },
    }
}

/// Makes the entry match the setting at start: written again when on (so it points at
/// this executable even after an update moved it), removed when off.
pub fn sync(autostart: &dyn Autostart, wanted: bool) -> Result<(), AutostartError> {
    if wanted || autostart.is_enabled()? {
        autostart.set(wanted)
    } else {
        Ok(())
    }
}

/// Adds what the platform's autostart needs to the app (the plugin, except on Windows).
pub fn register<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    #[cfg(windows)]
    return builder;
    #[cfg(not(windows))]
    builder.plugin(
        tauri_plugin_autostart::Builder::new()
            .arg(crate::launch::HIDDEN_FLAG)
            .build(),
    )
}

/// The platform's autostart entry for this app.
pub fn system<R: Runtime>(app: &AppHandle<R>) -> Arc<dyn Autostart> {
    #[cfg(windows)]
    {
        let _ = app;
        match run_key::RunKeyAutostart::for_current_exe() {
            Ok(entry) => Arc::new(entry),
            Err(error) => Arc::new(Unavailable(error)),
        }
    }
    #[cfg(not(windows))]
    Arc::new(PluginAutostart(app.clone()))
}

/// No entry can be made (the program's own path is unknown); says so on every use.
#[cfg(windows)]
#[derive(Debug)]
struct Unavailable(AutostartError);

#[cfg(windows)]
impl Autostart for Unavailable {
    fn is_enabled(&self) -> Result<bool, AutostartError> {
        Err(self.0.clone())
    }

    fn set(&self, _enabled: bool) -> Result<(), AutostartError> {
        Err(self.0.clone())
    }
}

/// The OS's login items through tauri-plugin-autostart.
#[cfg(not(windows))]
#[derive(Debug)]
pub struct PluginAutostart<R: Runtime>(pub AppHandle<R>);

#[cfg(not(windows))]
impl<R: Runtime> Autostart for PluginAutostart<R> {
    fn is_enabled(&self) -> Result<bool, AutostartError> {
        use tauri_plugin_autostart::ManagerExt;
        self.0
            .autolaunch()
            .is_enabled()
            .map_err(|e| AutostartError(e.to_string()))
    }

    fn set(&self, enabled: bool) -> Result<(), AutostartError> {
        use tauri_plugin_autostart::ManagerExt;
        let manager = self.0.autolaunch();
        let result = if enabled {
            manager.enable()
        } else {
            manager.disable()
        };
        result.map_err(|e| AutostartError(e.to_string()))
    }
}

/// An in-memory autostart entry, for tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct MemoryAutostart(pub std::sync::Mutex<bool>);

#[cfg(test)]
impl Autostart for MemoryAutostart {
    fn is_enabled(&self) -> Result<bool, AutostartError> {
        self.0
            .lock()
            .map(|e| *e)
            .map_err(|e| AutostartError(e.to_string()))
    }

    fn set(&self, enabled: bool) -> Result<(), AutostartError> {
        let mut entry = self.0.lock().map_err(|e| AutostartError(e.to_string()))?;
        *entry = enabled;
        Ok(())
    }
}
