//! The error type of every command, serialized for the UI as `{"code", "message"}`.

use serde::Serialize;

/// A command failure the UI can show and match on.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The agent core did not start (e.g. the settings file holds an invalid value).
    #[error("the agent is not running: {0}")]
    AgentNotRunning(String),
}

impl CommandError {
    fn code(&self) -> &'static str {
        match self {
            CommandError::AgentNotRunning(_) => "agent_not_running",
        }
    }
}

impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("CommandError", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}
