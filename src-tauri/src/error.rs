//! The error every command returns, serialized for the UI as `{"code", "message", "field"}`.
//! It crosses the pipe between the tray and window processes unchanged.

use printrelay_agent::jobs::ControlError;
use printrelay_agent::settings::SettingsError;
use serde::{Deserialize, Serialize};

/// Stable codes the UI matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The agent core did not start; the message says why.
    AgentNotRunning,
    /// A settings value cannot be used; `field` names it.
    InvalidSettings,
    /// The administrator's policy fixed the field `field` names.
    LockedByPolicy,
    /// The settings were applied but the file could not be written.
    SettingsNotSaved,
    /// No such job in the history.
    JobNotFound,
    /// The job is finished and cannot be cancelled.
    JobFinished,
    /// The job history could not be read or written.
    Store,
    /// The spooler refused (to cancel a job it holds).
    Spooler,
    /// The operating system refused to change the autostart entry.
    Autostart,
    /// The tray process is gone (the window outlived it).
    Disconnected,
}

/// A command failure the UI can show and match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
    /// The settings field at fault, for inline validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl CommandError {
    /// An error without a field.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<SettingsError> for CommandError {
    fn from(error: SettingsError) -> Self {
        let code = match error {
            SettingsError::Write { .. } | SettingsError::Read { .. } => ErrorCode::SettingsNotSaved,
            SettingsError::Locked(_) => ErrorCode::LockedByPolicy,
            _ => ErrorCode::InvalidSettings,
        };
        Self {
            code,
            message: error.to_string(),
            field: error.field().map(str::to_owned),
        }
    }
}

impl From<ControlError> for CommandError {
    fn from(error: ControlError) -> Self {
        let code = match error {
            ControlError::NotFound(_) => ErrorCode::JobNotFound,
            ControlError::AlreadyFinished { .. } => ErrorCode::JobFinished,
            ControlError::Store(_) => ErrorCode::Store,
            ControlError::Spooler(_) => ErrorCode::Spooler,
            ControlError::WorkerGone => ErrorCode::AgentNotRunning,
        };
        Self::new(code, error.to_string())
    }
}
