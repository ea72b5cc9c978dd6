//! The one enum of events the agent publishes to its front ends (the desktop UI, `--events json`).

use serde::Serialize;

use crate::connection::{ConnectionState, Heartbeat};
use crate::record::JobRecord;
use crate::settings::Settings;
pub use crate::warning::{Warning, WarningCode};

/// Something the user may want to see, serialized as `{"type": ..., "payload": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "payload", rename_all = "camelCase")]
pub enum AgentEvent {
    /// The connection state changed.
    Connection(ConnectionState),
    /// A heartbeat arrived or the RTT was measured.
    Heartbeat(Heartbeat),
    /// A job was created or changed state.
    Job(JobRecord),
    /// Printing was paused (`true`) or resumed.
    Paused(bool),
    /// The settings in force changed.
    Settings(Settings),
    /// Something the user should know that is not an error of one job (e.g. corrupt settings).
    Warning(Warning),
}

impl AgentEvent {
    /// The event name a front end listens on, `domain://action`.
    pub fn channel(&self) -> &'static str {
        match self {
            AgentEvent::Connection(_) => "connection://state",
            AgentEvent::Heartbeat(_) => "connection://heartbeat",
            AgentEvent::Job(_) => "job://updated",
            AgentEvent::Settings(_) => "settings://updated",
            AgentEvent::Paused(_) => "printing://paused",
            AgentEvent::Warning(_) => "agent://warning",
        }
    }
}
