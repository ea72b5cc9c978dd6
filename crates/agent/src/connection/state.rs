//! What the connection looks like from outside: state and heartbeat, as the UI receives them.

use serde::Serialize;

pub use super::problem::Problem;

pub use printrelay_protocol::{now_ms, EpochMillis};

/// The connection state machine of protocol section 3, serialized with `"state"` as tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ConnectionState {
    /// No server configured.
    Idle,
    /// First attempt of a round (start-up or a manual reconnect).
    Connecting { attempt: u32, max_attempts: u32 },
    /// Socket.IO connected and registered.
    Connected {
        since: EpochMillis,
        sid: String,
        /// How packets travel: a websocket, or long-polling where that is refused.
        transport: Transport,
    },
    /// Waiting for, or making, retry `attempt` of `max_attempts`.
    Reconnecting {
        attempt: u32,
        max_attempts: u32,
        retry_at: EpochMillis,
        last_error: String,
        /// `last_error` as a code the UI puts into words.
        problem: Problem,
    },
    /// The attempts ran out: Reconnect starts a new round; meanwhile, unless turned off,
    /// one attempt is made in the background at `retry_at`.
    GaveUp {
        attempts: u32,
        last_error: String,
        /// `last_error` as a code the UI puts into words.
        problem: Problem,
        retry_at: Option<EpochMillis>,
    },
    /// The server disconnected us on purpose; no automatic reconnect.
    Kicked { reason: String },
    /// Disconnected on request, or shutting down.
    Stopped,
}

/// The Engine.IO transport of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Transport {
    Websocket,
    /// HTTP long-polling: a network that refuses websockets.
    Polling,
}

impl ConnectionState {
    /// True while the agent can exchange events with the server.
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected { .. })
    }
}

/// Live heartbeat figures of the current connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Heartbeat {
    /// When the last Engine.IO PING arrived (or the handshake, before the first one).
    pub last_ping_at: Option<EpochMillis>,
    /// Negotiated PING period.
    pub ping_interval_ms: u64,
    /// Negotiated grace after a missed PING.
    pub ping_timeout_ms: u64,
    /// When the connection will be declared dead if no PING comes.
    pub dead_at: Option<EpochMillis>,
    /// Round trip of the last acknowledged application `heartbeat`, when the server answers it.
    pub rtt_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_as_the_protocol_says() {
        let state = ConnectionState::Reconnecting {
            attempt: 2,
            max_attempts: 5,
            retry_at: 10,
            last_error: "refused".into(),
            problem: Problem::ServerUnreachable,
        };
        assert_eq!(
            serde_json::to_value(&state).ok(),
            Some(
                json!({"state": "reconnecting", "attempt": 2, "maxAttempts": 5, "retryAt": 10, "lastError": "refused", "problem": "server_unreachable"})
            )
        );
        assert_eq!(
            serde_json::to_value(ConnectionState::GaveUp {
                attempts: 5,
                last_error: "x".into(),
                problem: Problem::Timeout,
                retry_at: Some(7),
            })
            .ok(),
            Some(
                json!({"state": "gaveUp", "attempts": 5, "lastError": "x", "problem": "timeout", "retryAt": 7})
            )
        );
    }
}
