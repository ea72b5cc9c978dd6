//! Changes the hub announces (job states, clients going online/offline): one log line
//! each, and a broadcast that `GET /api/v1/events` streams as Server-Sent Events
//! (`crate::http::events`).

use axum::response::sse::Event;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{broadcast, watch};

/// Events kept for slow subscribers before they are told they missed some.
const BACKLOG: usize = 4096;

/// A job moved to a new state. SSE event name `job`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobChange {
    pub job_id: String,
    pub client_id: String,
    /// `queued`, `delivered`, `received`, `spooled`, `completed`, `failed`, `expired`...
    pub state: String,
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// A client came online (registered) or went offline. SSE event name `client`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientChange {
    pub client_id: String,
    pub connected: bool,
    /// The socket that registered or closed.
    pub socket_id: String,
    pub at: u64,
}

/// A client sent a new `client_info` (its printers, their states, the one selected).
/// SSE event name `client_info`; read the client from the API for the details.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfoChange {
    pub client_id: String,
    pub at: u64,
}

/// One announced change.
#[derive(Debug, Clone)]
pub enum Change {
    Job(JobChange),
    Client(ClientChange),
    ClientInfo(ClientInfoChange),
}

impl Change {
    /// The client the change is about.
    pub fn client_id(&self) -> &str {
        match self {
            Change::Job(job) => &job.client_id,
            Change::Client(client) => &client.client_id,
            Change::ClientInfo(info) => &info.client_id,
        }
    }

    /// The change as a Server-Sent Event (`job` or `client`).
    pub fn to_sse(&self) -> Event {
        let (name, data) = match self {
            Change::Job(job) => ("job", serde_json::to_string(job)),
            Change::Client(client) => ("client", serde_json::to_string(client)),
            Change::ClientInfo(info) => ("client_info", serde_json::to_string(info)),
        };
        Event::default()
            .event(name)
            .data(data.unwrap_or_else(|_| "{}".into()))
    }
}

/// The broadcast side, owned by the hub.
#[derive(Debug, Clone)]
pub struct Changes {
    sender: broadcast::Sender<Change>,
    closing: watch::Receiver<bool>,
}

impl Changes {
    /// A broadcast whose streams end when `closing` turns true (graceful shutdown).
    pub fn new(closing: watch::Receiver<bool>) -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
            closing,
        }
    }

    /// Every change published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    /// Turns true when the hub shuts down: streams end then.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.clone()
    }

    /// Sends a change another hub node made (and logged) to every subscriber here,
    /// without logging it again (each node logs its own).
    pub fn relay(&self, change: Change) {
        let _ = self.sender.send(change);
    }

    /// Logs the change and sends it to every subscriber (none is fine).
    pub fn publish(&self, change: Change) {
        match &change {
            Change::Job(job) => tracing::info!(
                job = %job.job_id,
                client = %job.client_id,
                state = %job.state,
                error = job.error.as_ref().map(tracing::field::display),
                "job state"
            ),
            Change::Client(client) => tracing::info!(
                client = %client.client_id,
                connected = client.connected,
                socketId = %client.socket_id,
                "client {}",
                if client.connected { "online" } else { "offline" }
            ),
            Change::ClientInfo(info) => {
                tracing::debug!(client = %info.client_id, "client_info stored")
            }
        }
        let _ = self.sender.send(change);
    }
}
