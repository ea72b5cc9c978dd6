//! Changes the hub announces (job states, clients going online/offline): one log line
//! each, and a broadcast that `GET /api/v1/events` streams as Server-Sent Events.

use std::convert::Infallible;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::hub::Hub;

/// Events kept for slow subscribers before they are told they missed some.
const BACKLOG: usize = 4096;

/// A job moved to a new state. SSE event name `job`.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientChange {
    pub client_id: String,
    pub connected: bool,
    /// The socket that registered or closed.
    pub socket_id: String,
    pub at: u64,
}

/// One announced change.
#[derive(Debug, Clone)]
pub enum Change {
    Job(JobChange),
    Client(ClientChange),
}

impl Change {
    fn client_id(&self) -> &str {
        match self {
            Change::Job(job) => &job.client_id,
            Change::Client(client) => &client.client_id,
        }
    }

    fn to_sse(&self) -> Event {
        let (name, data) = match self {
            Change::Job(job) => ("job", serde_json::to_string(job)),
            Change::Client(client) => ("client", serde_json::to_string(client)),
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
        }
        let _ = self.sender.send(change);
    }
}

/// Query of `GET /api/v1/events`: both optional, both must match when given.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFilter {
    client_id: Option<String>,
    job_id: Option<String>,
}

impl EventFilter {
    fn accepts(&self, change: &Change) -> bool {
        let client_ok = self
            .client_id
            .as_deref()
            .is_none_or(|c| c == change.client_id());
        let job_ok = self.job_id.as_deref().is_none_or(|wanted| match change {
            Change::Job(job) => job.job_id == wanted,
            Change::Client(_) => false,
        });
        client_ok && job_ok
    }
}

/// `GET /api/v1/events`: `job` and `client` events as they happen (no replay: read the
/// current state from the JSON API after subscribing). A subscriber too slow to keep up
/// gets a `lagged` event `{"missed": n}`. The stream ends when the hub shuts down.
pub async fn stream_events(
    State(hub): State<Hub>,
    Query(filter): Query<EventFilter>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = hub.changes();
    // Subscribed before the response head is sent: a client that has the head sees
    // every later change.
    let receiver = changes.subscribe();
    let opening = Event::default().comment("subscribed");
    let state = (receiver, changes.closing.clone(), filter, Some(opening));
    let events = stream::unfold(
        state,
        |(mut receiver, mut closing, filter, opening)| async move {
            if let Some(event) = opening {
                return Some((Ok(event), (receiver, closing, filter, None)));
            }
            loop {
                if *closing.borrow() {
                    return None;
                }
                let received = tokio::select! {
                    received = receiver.recv() => received,
                    _ = closing.changed() => return None,
                };
                let event = match received {
                    Ok(change) if filter.accepts(&change) => change.to_sse(),
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(missed)) => Event::default()
                        .event("lagged")
                        .data(format!("{{\"missed\":{missed}}}")),
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                return Some((Ok(event), (receiver, closing, filter, None)));
            }
        },
    );
    Sse::new(events).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(job_id: &str, client_id: &str) -> Change {
        Change::Job(JobChange {
            job_id: job_id.into(),
            client_id: client_id.into(),
            state: "queued".into(),
            at: 1,
            error: None,
        })
    }

    #[test]
    fn filters_match_client_and_job() {
        let client = Change::Client(ClientChange {
            client_id: "pc1".into(),
            connected: true,
            socket_id: "s1".into(),
            at: 1,
        });
        let all = EventFilter::default();
        assert!(all.accepts(&job("j1", "pc1")) && all.accepts(&client));
        let pc1 = EventFilter {
            client_id: Some("pc1".into()),
            job_id: None,
        };
        assert!(pc1.accepts(&job("j1", "pc1")) && pc1.accepts(&client));
        assert!(!pc1.accepts(&job("j1", "pc2")));
        let j1 = EventFilter {
            client_id: None,
            job_id: Some("j1".into()),
        };
        assert!(j1.accepts(&job("j1", "pc2")));
        assert!(!j1.accepts(&job("j2", "pc2")) && !j1.accepts(&client));
    }
}
