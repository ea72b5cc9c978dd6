//! Warnings for the user that are not about one job: a code the front ends put into
//! words, with the technical detail beside it. A leaf module: settings, the desktop and
//! the event stream all use it.

use serde::{Deserialize, Serialize};

/// A warning for the user: a code the front end puts into words, and the technical
/// detail (paths, OS errors) for the log and the details view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub code: WarningCode,
    pub detail: String,
}

impl Warning {
    /// A warning with its detail.
    pub fn new(code: WarningCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

/// What a [`Warning`] is about; stable, the front ends match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// The settings file was missing or unusable: the last good copy is in use.
    SettingsFromCopy,
    /// The settings file and its last good copy were unusable: defaults are in use
    /// (a new client id, no server).
    SettingsReset,
    /// The autostart entry could not be renewed at start.
    AutostartNotRenewed,
    /// Settings from an older version were carried over: the path of the server URL
    /// became the socket path (it is the namespace now).
    SettingsMigrated,
    /// A preset or policy value an administrator set cannot be used (not a setting, the
    /// wrong type, a policy file that is not JSON); it is left out, the rest applies.
    AdminSettingUnusable,
}
