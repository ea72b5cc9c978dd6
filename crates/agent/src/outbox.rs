//! The status outbox's sender, a task of its own: sends the stored `job_status`es to the
//! server, oldest first, whenever connected, and removes each once the server has it.
//!
//! A server that acks statuses (PrintRelay's hub acks after its commit) has a status when
//! it acked it; one it did not ack in time is sent again, on the same connection after
//! [`RESEND_AFTER`] or on the next. A server that never acks (the original) is sent each
//! status once per connection; the statuses of a finished job are removed once its last
//! one went out on a connection that stayed up for a heartbeat after. The outbox holds
//! only statuses, never documents, and printing never waits for it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use crate::connection::{now_ms, ConnectionHandle, ConnectionState, EmitError};
use crate::protocol::events;
use crate::store::SharedStore;

/// How long the server has to ack a status before it counts as not acked, when the
/// heartbeat does not tell (an ack later than a heartbeat period is not coming).
const ACK_TIMEOUT: Duration = Duration::from_secs(15);
/// A status a server that acks did not ack is sent again on the same connection after this.
const RESEND_AFTER: Duration = Duration::from_secs(15);
/// Statuses read from the store per round.
const ROUND: usize = 100;

/// States after which a job's statuses can be let go.
const FINAL: &[&str] = &["completed", "failed", "rejected", "expired", "cancelled"];

/// One status sent on a connection and not acked.
#[derive(Debug, Clone)]
struct Tried {
    sid: String,
    at: Instant,
    /// Wall time of the send, to compare with the heartbeat's `last_ping_at`.
    at_ms: u64,
    job_id: String,
    is_final: bool,
    /// The ack did not come in time.
    timed_out: bool,
}

/// The answer to one status.
type Answer = (i64, String, Result<Vec<Value>, EmitError>);

/// What sending a page came to.
enum Page {
    /// Sent; when the next resend of one of them is due.
    Sent(Option<Instant>),
    Disconnected,
}

/// What the outbox knows beyond the store: what it sent on which connection.
#[derive(Debug, Default)]
struct Outbox {
    tried: HashMap<i64, Tried>,
    /// Connections whose server acked a status.
    acking: HashSet<String>,
    /// How long an ack may take on the current connection.
    ack_timeout: Duration,
}

/// Sends stored statuses whenever connected; `wake` is notified when one is stored.
pub(crate) async fn run_outbox(
    store: SharedStore,
    connection: ConnectionHandle,
    wake: Arc<Notify>,
) {
    let mut state = connection.watch_state();
    let mut heartbeat = connection.watch_heartbeat();
    let (answers_tx, mut answers) = mpsc::unbounded_channel::<Answer>();
    let mut outbox = Outbox {
        ack_timeout: ACK_TIMEOUT,
        ..Outbox::default()
    };
    loop {
        let sid = match &*state.borrow_and_update() {
            ConnectionState::Connected { sid, .. } => Some(sid.clone()),
            _ => None,
        };
        let mut next_round = None;
        if let Some(sid) = &sid {
            outbox.tried.retain(|_, t| &t.sid == sid);
            outbox.acking.retain(|s| s == sid);
            let beat = heartbeat.borrow_and_update().clone();
            outbox.ack_timeout = match beat.ping_interval_ms + beat.ping_timeout_ms {
                0 => ACK_TIMEOUT,
                ms => Duration::from_millis(ms),
            };
            outbox.settle(&store, sid, beat.last_ping_at).await;
            next_round = outbox.send(&store, &connection, sid, &answers_tx).await;
        }
        let sleep = async {
            match next_round {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = wake.notified() => {}
            changed = state.changed() => if changed.is_err() { return },
            _ = heartbeat.changed() => {}
            Some(answer) = answers.recv() => outbox.answered(&store, answer).await,
            () = sleep => {}
        }
    }
}

impl Outbox {
    /// Sends what is due on connection `sid`, in order; when the next resend is due.
    async fn send(
        &mut self,
        store: &SharedStore,
        connection: &ConnectionHandle,
        sid: &str,
        answers: &mpsc::UnboundedSender<Answer>,
    ) -> Option<Instant> {
        let tried: HashSet<i64> = self.tried.keys().copied().collect();
        let acking = self.acking.contains(sid);
        let mut after = 0;
        let mut next = None;
        loop {
            let page = store.call(move |s| s.pending_statuses(after, ROUND)).await;
            let page = match page {
                Ok(page) if page.is_empty() => return next,
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(%error, "cannot read the status outbox");
                    return Some(Instant::now() + RESEND_AFTER);
                }
            };
            after = page.last().map_or(after, |(id, _)| *id);
            // Statuses waiting for an answer on this connection are skipped cheaply.
            let due: Vec<(i64, Value)> = page
                .into_iter()
                .filter(|(id, _)| acking || !tried.contains(id))
                .collect();
            match self.send_page(connection, sid, answers, due).await {
                Page::Sent(due_at) => {
                    next = match (next, due_at) {
                        (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                        (a, b) => a.or(b),
                    }
                }
                Page::Disconnected => return next,
            }
        }
    }

    /// Sends one page of due statuses; when the next resend among them is due.
    async fn send_page(
        &mut self,
        connection: &ConnectionHandle,
        sid: &str,
        answers: &mpsc::UnboundedSender<Answer>,
        pending: Vec<(i64, Value)>,
    ) -> Page {
        let acking = self.acking.contains(sid);
        let now = Instant::now();
        let mut next = None;
        for (id, status) in pending {
            if let Some(tried) = self.tried.get(&id) {
                // Sent on this connection: again only to a server that acks, once due.
                let due = tried.at + RESEND_AFTER;
                if !(acking && tried.timed_out && due <= now) {
                    if acking && tried.timed_out {
                        next = Some(next.map_or(due, |n: Instant| n.min(due)));
                    }
                    continue;
                }
            }
            let job_id = status["jobId"].as_str().unwrap_or_default().to_owned();
            let is_final = status["state"].as_str().is_some_and(|s| FINAL.contains(&s));
            tracing::debug!(outbox = id, job = %job_id, sid, "sending a status");
            let Ok(answer) = connection.emit_with_ack(events::JOB_STATUS, status).await else {
                return Page::Disconnected;
            };
            self.tried.insert(
                id,
                Tried {
                    sid: sid.to_owned(),
                    at: Instant::now(),
                    at_ms: now_ms(),
                    job_id,
                    is_final,
                    timed_out: false,
                },
            );
            let answers = answers.clone();
            let sid = sid.to_owned();
            let timeout = self.ack_timeout;
            tokio::spawn(async move {
                let result = match tokio::time::timeout(timeout, answer).await {
                    Err(_) => Err(EmitError::AckTimeout),
                    Ok(Err(_)) => Err(EmitError::NotConnected),
                    Ok(Ok(result)) => result,
                };
                let _ = answers.send((id, sid, result));
            });
        }
        Page::Sent(next)
    }

    /// Takes the server's answer to status `id`.
    async fn answered(&mut self, store: &SharedStore, (id, sid, result): Answer) {
        tracing::debug!(outbox = id, sid, ?result, "status answered");
        match result {
            Ok(answer) => {
                if let Some(refusal) = answer.first().filter(|a| a["ok"] == false) {
                    // The hub will never store it (unknown job, not this client's): let go.
                    tracing::warn!(status = id, answer = %refusal, "the server refused a status");
                }
                self.tried.remove(&id);
                self.acking.insert(sid);
                if let Err(error) = store.call(move |s| s.statuses_acked(&[id])).await {
                    tracing::error!(%error, "cannot remove an acked status");
                }
            }
            Err(EmitError::AckTimeout) => {
                if let Some(tried) = self.tried.get_mut(&id) {
                    tried.timed_out = true;
                }
            }
            // The connection ended: it goes out again on the next one.
            Err(_) => {
                self.tried.remove(&id);
            }
        }
    }

    /// For a server that never acks: removes the statuses of finished jobs whose final
    /// status went out on connection `sid` before a heartbeat that came after it.
    async fn settle(&mut self, store: &SharedStore, sid: &str, last_ping_ms: Option<u64>) {
        if self.acking.contains(sid) {
            return;
        }
        let Some(last_ping_ms) = last_ping_ms else {
            return;
        };
        let settled: Vec<(i64, String)> = self
            .tried
            .iter()
            .filter(|(_, t)| t.timed_out && t.is_final && t.sid == sid && t.at_ms < last_ping_ms)
            .map(|(id, t)| (*id, t.job_id.clone()))
            .collect();
        if settled.is_empty() {
            return;
        }
        for (id, _) in &settled {
            self.tried.remove(id);
        }
        if let Err(error) = store.call(move |s| s.statuses_settled(&settled)).await {
            tracing::error!(%error, "cannot remove settled statuses");
        }
    }
}
