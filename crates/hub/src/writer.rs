//! The group-commit writer: submissions, agents' statuses, presence and upkeep wait in
//! one queue and are committed in order, a batch per transaction (one fsync per batch).
//! One writer runs at a time, on the blocking pool: the fsync never holds a runtime thread.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use socketioxide::extract::AckSender;
use tokio::sync::oneshot;

use crate::cluster::Node;
use crate::events::Changes;
use crate::store::{
    Applied, CancelOrder, CancelOutcome, Inserted, NewJob, Presence, Store, StoreError, Upkeep,
    Write, Written,
};

mod announce;

use announce::{deliver_to, job_changes, messages};
pub use announce::{job_change, publish_job};

/// At most this many writes go in one transaction.
const MAX_BATCH: usize = 256;

/// What a submission came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    /// False when the job id existed already.
    pub created: bool,
    /// The job's state as committed: `queued` for a new job, else that of the job that
    /// had the id.
    pub state: String,
}

/// A write waiting to be committed.
pub enum Pending {
    /// A submitted job; its submitter waits for the answer.
    Job {
        job: NewJob,
        answer: oneshot::Sender<Result<Submitted, StoreError>>,
    },
    /// An agent's status; acked once committed (agents delete it from their outbox then).
    Status {
        status: Value,
        ack: Option<AckSender>,
    },
    Presence(Presence),
    Upkeep(Upkeep),
    /// A cancel order; its sender (if any) waits for the outcome.
    Cancel {
        order: CancelOrder,
        answer: Option<oneshot::Sender<Result<CancelOutcome, StoreError>>>,
    },
}

/// What a committed batch asks of the hub afterwards.
#[derive(Debug, Default, PartialEq)]
pub struct Committed {
    /// Clients with something new to deliver (a new job, or room in their window), in
    /// batch order, each once.
    pub deliver_to: Vec<String>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Pending>,
    writing: bool,
}

/// The queue of writes. Cheap to clone.
#[derive(Clone, Default)]
pub struct WriteQueue(Arc<Mutex<Queue>>);

impl std::fmt::Debug for WriteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteQueue").finish_non_exhaustive()
    }
}

/// The right to run as the one writer. Dropped before the queue was empty (a panic, or
/// a runtime that shut down before the writer ran), it lets the next write start one.
#[derive(Debug)]
pub struct WriterTurn {
    queue: WriteQueue,
    finished: bool,
}

impl Drop for WriterTurn {
    fn drop(&mut self) {
        if !self.finished {
            self.queue.lock().writing = false;
        }
    }
}

impl WriteQueue {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a write; the writer's turn when none runs (the caller must run it).
    pub fn push(&self, write: Pending) -> Option<WriterTurn> {
        let mut queue = self.lock();
        queue.waiting.push(write);
        (!std::mem::replace(&mut queue.writing, true)).then(|| WriterTurn {
            queue: self.clone(),
            finished: false,
        })
    }
}

impl WriterTurn {
    /// The next batch, or `None` when the queue is empty (the turn then ends: cleared
    /// under the same lock a turn is given under, so no write waits without a writer).
    pub fn next_batch(&mut self) -> Option<Vec<Pending>> {
        let mut queue = self.queue.lock();
        if queue.waiting.is_empty() {
            queue.writing = false;
            self.finished = true;
            return None;
        }
        let take = queue.waiting.len().min(MAX_BATCH);
        Some(queue.waiting.drain(..take).collect())
    }
}

/// Commits `batch` in one transaction, publishes the changes in order (under the store
/// lock, so subscribers see each job's states in order), then answers submitters and
/// acks statuses. A failed commit answers submitters with the error and acks nothing
/// (the agents send those statuses again).
pub fn commit(
    store: &Mutex<Store>,
    changes: &Changes,
    node: &Node,
    default_expiry_ms: Option<u64>,
    mut batch: Vec<Pending>,
) -> Committed {
    let now = printrelay_protocol::now_ms();
    for pending in &mut batch {
        if let Pending::Job { job, .. } = pending {
            // From the same instant as `createdAt`.
            job.expires_at = job
                .expires_at
                .or_else(|| default_expiry_ms.map(|ms| now + ms));
        }
    }
    let writes: Vec<Write<'_>> = batch
        .iter()
        .map(|pending| match pending {
            Pending::Job { job, .. } => Write::Job(job),
            Pending::Status { status, .. } => Write::Status(status),
            Pending::Presence(presence) => Write::Presence(presence),
            Pending::Upkeep(upkeep) => Write::Upkeep(upkeep),
            Pending::Cancel { order, .. } => Write::Cancel(order),
        })
        .collect();
    let written = {
        let mut store = store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let written = store.write_notifying(&writes, now, |written| match node.clustered {
            true => node.notices(messages(&writes, written, now)),
            false => Vec::new(),
        });
        if let Ok(written) = &written {
            for change in job_changes(&writes, written) {
                publish_job(changes, change, now);
            }
        }
        written
    };
    let deliver_to = match &written {
        Ok(written) => deliver_to(&writes, written),
        Err(_) => Vec::new(),
    };
    drop(writes);
    let written = match written {
        Ok(written) => written,
        Err(error) if batch.len() > 1 => {
            // One write that cannot be stored (no room for a large job) must not fail the
            // statuses and presence beside it: each alone, in order.
            tracing::warn!(%error, writes = batch.len(), "a batch failed; committing its writes one by one");
            let mut committed = Committed::default();
            for pending in batch {
                let one = commit(store, changes, node, default_expiry_ms, vec![pending]);
                for client_id in one.deliver_to {
                    committed.wants(&client_id);
                }
            }
            return committed;
        }
        Err(error) => {
            tracing::error!(%error, writes = batch.len(), "cannot store a batch of writes");
            let error = Arc::new(error);
            for pending in batch {
                match pending {
                    Pending::Job { answer, .. } => {
                        let _ = answer.send(Err(StoreError::Batch(Arc::clone(&error))));
                    }
                    Pending::Cancel {
                        answer: Some(answer),
                        ..
                    } => {
                        let _ = answer.send(Err(StoreError::Batch(Arc::clone(&error))));
                    }
                    _ => {}
                }
            }
            return Committed::default();
        }
    };
    tracing::debug!(writes = batch.len(), "committed a batch");
    let committed = Committed { deliver_to };
    for (pending, written) in batch.into_iter().zip(written) {
        match (pending, written) {
            (Pending::Job { answer, .. }, Written::Job(inserted)) => {
                let created = inserted == Inserted::Created;
                let state = match inserted {
                    Inserted::Created => "queued".to_owned(),
                    Inserted::Exists(state) => state,
                };
                let _ = answer.send(Ok(Submitted { created, state }));
            }
            (Pending::Status { ack: Some(ack), .. }, Written::Status(applied)) => {
                send_ack(ack, &applied);
            }
            (
                Pending::Cancel {
                    answer: Some(answer),
                    ..
                },
                Written::Cancel(outcome),
            ) => {
                let _ = answer.send(Ok(outcome));
            }
            _ => {}
        }
    }
    committed
}

impl Committed {
    fn wants(&mut self, client_id: &str) {
        if !self.deliver_to.iter().any(|c| c == client_id) {
            self.deliver_to.push(client_id.to_owned());
        }
    }
}

/// Acks a committed status: `{"ok": true}`, or `{"ok": false, "error": {code, message}}`
/// for one the hub will never store (the agent drops it either way).
fn send_ack(ack: AckSender, applied: &Applied) {
    let answer = match applied {
        Applied::Moved(_) | Applied::Kept => json!({"ok": true}),
        Applied::UnknownJob => {
            json!({"ok": false, "error": {"code": "unknown_job", "message": "no such job"}})
        }
        Applied::InvalidState => json!({"ok": false, "error": {
            "code": "invalid_state", "message": "not a state an agent may report"}}),
    };
    if let Err(error) = ack.send(&answer) {
        // The agent sends an unacknowledged status again; nothing is lost.
        tracing::debug!(%error, "cannot ack a status");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Change;
    use crate::store::Database;

    fn changes() -> Changes {
        // The sender may go: nothing here waits for a shutdown.
        let (_closing, closing_rx) = tokio::sync::watch::channel(false);
        Changes::new(closing_rx)
    }

    /// A turn dropped before it ran (a runtime shutting down) lets the next write start
    /// a writer: no write waits for a writer that never comes.
    #[test]
    fn a_turn_that_never_ran_does_not_stall_later_writes() {
        let queue = WriteQueue::default();
        let upkeep = || Pending::Upkeep(Upkeep { purge_before: None });
        let turn = queue
            .push(upkeep())
            .expect("the first write starts a writer");
        assert!(queue.push(upkeep()).is_none(), "one writer at a time");
        drop(turn);
        let mut turn = queue.push(upkeep()).expect("a new writer");
        assert_eq!(turn.next_batch().map(|b| b.len()), Some(3));
        assert!(turn.next_batch().is_none());
        assert!(queue.push(upkeep()).is_some(), "the turn ended when empty");
    }

    crate::on_both_engines!(async a_batch_is_answered_in_order_and_stores_only_real_statuses);
    /// One batch with a duplicate in it: the first wins, both answered, in batch order;
    /// statuses of unknown jobs and unknown states are not stored.
    async fn a_batch_is_answered_in_order_and_stores_only_real_statuses(database: Database) {
        // Store calls run on the blocking pool, as in the hub.
        let store = tokio::task::spawn_blocking(move || Store::open(&database, None))
            .await
            .expect("opened")
            .expect("store");
        let store = Arc::new(Mutex::new(store));
        let changes = changes();
        let mut published = changes.subscribe();
        let mut answers = Vec::new();
        let mut batch: Vec<Pending> = [("x", "pc-1"), ("y", "pc-1"), ("x", "pc-2")]
            .into_iter()
            .map(|(job_id, client_id)| {
                let (answer, answered) = oneshot::channel();
                answers.push(answered);
                Pending::Job {
                    job: NewJob {
                        job_id: job_id.into(),
                        client_id: client_id.into(),
                        payload: "{}".into(),
                        expires_at: None,
                    },
                    answer,
                }
            })
            .collect();
        for status in [
            json!({"jobId": "x", "state": "banana"}),
            json!({"jobId": "nope", "state": "received"}),
            json!({"jobId": "y", "state": "received", "duplicate": true}),
        ] {
            batch.push(Pending::Status { status, ack: None });
        }
        let committed = {
            let (store, changes) = (Arc::clone(&store), changes.clone());
            tokio::task::spawn_blocking(move || {
                commit(&store, &changes, &Node::new(false), None, batch)
            })
            .await
            .expect("committed")
        };
        assert_eq!(committed.deliver_to, ["pc-1"]);
        let mut got = Vec::new();
        for answered in answers {
            let submitted = answered.await.expect("answered").expect("stored");
            got.push((submitted.created, submitted.state));
        }
        assert_eq!(
            got,
            [
                (true, "queued".to_owned()),
                (true, "queued".to_owned()),
                (false, "queued".to_owned())
            ]
        );
        let order: Vec<(String, String)> = std::iter::from_fn(|| match published.try_recv() {
            Ok(Change::Job(change)) => Some((change.job_id, change.state)),
            _ => None,
        })
        .collect();
        let expected = [("x", "queued"), ("y", "queued"), ("y", "received")];
        assert_eq!(order, expected.map(|(j, s)| (j.to_owned(), s.to_owned())));
        let (x, nope) = tokio::task::spawn_blocking(move || {
            let store = store.lock().expect("store");
            (store.job("x"), store.job("nope"))
        })
        .await
        .expect("read");
        let x = x.expect("read").expect("stored");
        assert_eq!((x.client_id.as_str(), x.events.len()), ("pc-1", 0));
        assert_eq!(nope.expect("read").map(|j| j.job_id), None);
    }
}
