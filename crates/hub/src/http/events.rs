//! `GET /api/v1/events`: the hub's changes as Server-Sent Events, filtered per
//! subscriber; each subscription is a stream on its request's task.

use std::convert::Infallible;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::events::Change;
use crate::hub::Hub;

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
            Change::Client(_) | Change::ClientInfo(_) => false,
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
    let state = (receiver, changes.closing(), filter, Some(opening));
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
    use crate::events::{ClientChange, JobChange};

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
