//! Delivery: a task per client with jobs to send, started when a job is queued for an
//! online client, when it registers, and when one of its statuses frees room. It hands
//! the jobs to the client's socket in order, with backpressure, and marks each
//! `delivered` only once the socket took it.
//!
//! Pacing: a PrintRelay agent (`protocol: 1`) holds at most [`WINDOW`] jobs it has not
//! answered; its `received` frees room. Any client, the original browser client too, is
//! sent jobs while its socket's buffer takes them; when the buffer is full the task waits
//! a little and sends the rest on the same connection.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketioxide::{SendError, SocketError};

use crate::cluster::{Message, Node};
use crate::events::Changes;
use crate::registry::{Binding, Registry};
use crate::store::Store;
use crate::writer::{job_change, publish_job};

/// Jobs sent to a socket in one step (one look at the store).
const CHUNK: usize = 32;
/// Jobs a PrintRelay agent may have been sent without answering.
pub const WINDOW: usize = 64;
/// Waits after a full socket buffer: from the first, doubling up to the last.
const FULL_PAUSE: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(50));
/// Wait after a store failure before trying again.
const FAILED_PAUSE: Duration = Duration::from_secs(1);

/// What one step came to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Sent,
    /// The socket's buffer is full: wait, then go on.
    Full,
    /// Nothing to send now (or no room in the window).
    Idle,
    /// The socket closed: the rest waits for the next registration.
    Closed,
    /// The store failed; try again later.
    Failed,
}

/// Starts and runs the delivery tasks. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Delivery {
    store: Arc<Mutex<Store>>,
    registry: Registry,
    changes: Changes,
    node: Node,
}

impl Delivery {
    /// Delivers through `registry`'s sockets from `store` (the writing connection:
    /// marks and reads happen under its lock, ordered with the statuses it commits).
    /// On PostgreSQL each step is a claim (`Store::claim`), announced to the other nodes.
    pub fn new(store: Arc<Mutex<Store>>, registry: Registry, changes: Changes, node: Node) -> Self {
        Self {
            store,
            registry,
            changes,
            node,
        }
    }

    /// Makes sure `client_id`'s waiting jobs go out: starts its task unless one runs (which
    /// then looks again before it stops).
    pub fn start(&self, client_id: &str) {
        if self.registry.want_delivery(client_id) {
            let delivery = self.clone();
            let client_id = client_id.to_owned();
            tokio::spawn(async move { delivery.run(client_id).await });
        }
    }

    async fn run(self, client_id: String) {
        let mut pause = FULL_PAUSE.0;
        // Jobs handed to this socket whose `delivered` mark could not be stored (a full
        // disk): not sent again on the same connection.
        let mut unmarked: (String, HashSet<String>) = Default::default();
        loop {
            let Some(binding) = self.registry.binding(&client_id) else {
                self.registry.delivery_stopped(&client_id);
                return;
            };
            if unmarked.0 != binding.sid {
                unmarked = (binding.sid.clone(), HashSet::new());
            }
            let this = self.clone();
            let client = client_id.clone();
            let mut skip = std::mem::take(&mut unmarked.1);
            // The store lock may wait behind a group commit's fsync: not on a runtime thread.
            let done = tokio::task::spawn_blocking(move || {
                let step = this.step(&client, &binding, &mut skip);
                (step, skip)
            })
            .await;
            let Ok((step, skip)) = done else {
                self.registry.delivery_stopped(&client_id);
                return;
            };
            unmarked.1 = skip;
            match step {
                Step::Sent => pause = FULL_PAUSE.0,
                Step::Full => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(FULL_PAUSE.1);
                }
                Step::Failed => tokio::time::sleep(FAILED_PAUSE).await,
                Step::Closed => {
                    self.registry.delivery_stopped(&client_id);
                    return;
                }
                Step::Idle => {
                    if self.registry.delivery_idle(&client_id) {
                        return;
                    }
                }
            }
        }
    }

    /// Sends the next jobs that fit; blocking.
    fn step(&self, client_id: &str, binding: &Binding, unmarked: &mut HashSet<String>) -> Step {
        let now = printrelay_protocol::now_ms();
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = if binding.v1 {
            match store.in_flight(client_id, &binding.sid) {
                Ok(n) => WINDOW.saturating_sub(n).min(CHUNK),
                Err(error) => {
                    tracing::error!(%error, client = %client_id, "cannot count jobs in flight");
                    return Step::Failed;
                }
            }
        } else {
            CHUNK
        };
        if room == 0 {
            return Step::Idle;
        }
        let limit = room + unmarked.len();
        let mut outcome = Step::Idle;
        let mut sent = Vec::new();
        let mut send = |jobs: Vec<(String, serde_json::Value)>| {
            for (job_id, payload) in jobs {
                if sent.len() == room {
                    break;
                }
                if unmarked.contains(&job_id) {
                    continue;
                }
                match binding
                    .socket
                    .emit(printrelay_protocol::events::PRINT, &payload)
                {
                    Ok(()) => {
                        outcome = Step::Sent;
                        sent.push(job_id);
                    }
                    Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                        outcome = Step::Full;
                        break;
                    }
                    Err(SendError::Socket(SocketError::Closed)) => {
                        outcome = Step::Closed;
                        break;
                    }
                    Err(SendError::Serialize(error)) => {
                        tracing::error!(%error, job = %job_id, "cannot encode a job");
                        unmarked.insert(job_id);
                    }
                }
            }
            sent.clone()
        };
        let notices = |changes: &[crate::store::StateChange]| {
            if !self.node.clustered {
                return Vec::new();
            }
            let messages = changes
                .iter()
                .map(|change| Message::Job(job_change(change.clone(), now)))
                .collect();
            self.node.notices(messages)
        };
        match store.claim(client_id, &binding.sid, now, limit, &mut send, notices) {
            Ok(changes) => {
                for change in changes {
                    publish_job(&self.changes, change, now);
                }
            }
            Err(error) if sent.is_empty() => {
                tracing::error!(%error, client = %client_id, "cannot read queued jobs");
                return Step::Failed;
            }
            Err(error) => {
                // They were sent; the agent answers them. Without the mark they stay
                // `queued` here until its statuses arrive.
                tracing::error!(%error, client = %client_id, jobs = sent.len(), "cannot mark jobs delivered");
                unmarked.extend(sent);
            }
        }
        outcome
    }
}
