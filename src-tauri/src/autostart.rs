//! Start with the OS: the autostart entry as the OS really has it, behind a small trait so
//! command tests run without touching the test machine's login items.

use std::fmt::Debug;

use serde::Serialize;
use tauri::{AppHandle, Runtime};
use tauri_plugin_autostart::ManagerExt;

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

/// The OS's login items through tauri-plugin-autostart.
#[derive(Debug)]
pub struct PluginAutostart<R: Runtime>(pub AppHandle<R>);

impl<R: Runtime> Autostart for PluginAutostart<R> {
    fn is_enabled(&self) -> Result<bool, AutostartError> {
        self.0
            .autolaunch()
            .is_enabled()
            .map_err(|e| AutostartError(e.to_string()))
    }

    fn set(&self, enabled: bool) -> Result<(), AutostartError> {
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
