//! What a committed batch announces: its job changes (to this node's event streams and,
//! in a cluster, to the other nodes with presence, cancel asks and wake-ups), and the
//! clients it gives something to deliver. Run by the writer under the store lock.

use super::Committed;
use crate::cluster::Message;
use crate::events::{Change, Changes, ClientChange, JobChange};
use crate::store::{Applied, CancelOutcome, Inserted, StateChange, Write, Written};

/// The job changes a committed batch announces, in order.
pub(super) fn job_changes(writes: &[Write<'_>], written: &[Written]) -> Vec<StateChange> {
    let mut changes = Vec::new();
    for (write, result) in writes.iter().zip(written) {
        match (write, result) {
            (Write::Job(job), Written::Job(Inserted::Created)) => changes.push(StateChange {
                job_id: job.job_id.clone(),
                client_id: job.client_id.clone(),
                state: "queued".into(),
                error: None,
            }),
            (_, Written::Status(Applied::Moved(change)))
            | (_, Written::Cancel(CancelOutcome::AtHub(change))) => changes.push(change.clone()),
            (_, Written::Upkeep(expired)) => changes.extend(expired.iter().cloned()),
            _ => {}
        }
    }
    changes
}

/// Clients with something new to deliver after a committed batch, in batch order, each
/// once: a new job; a job that left `delivered` (room in the window).
pub(super) fn deliver_to(writes: &[Write<'_>], written: &[Written]) -> Vec<String> {
    let mut committed = Committed::default();
    for (write, result) in writes.iter().zip(written) {
        match (write, result) {
            (Write::Job(job), Written::Job(Inserted::Created)) => committed.wants(&job.client_id),
            (_, Written::Status(Applied::Moved(change)))
            | (_, Written::Cancel(CancelOutcome::AtHub(change))) => {
                committed.wants(&change.client_id)
            }
            _ => {}
        }
    }
    committed.deliver_to
}

/// What other nodes hear of a committed batch: its job changes, presence (announced
/// locally when it happened), cancel asks, and the clients to deliver to.
pub(super) fn messages(writes: &[Write<'_>], written: &[Written], now: u64) -> Vec<Message> {
    let mut messages: Vec<Message> = job_changes(writes, written)
        .into_iter()
        .map(|change| Message::Job(job_change(change, now)))
        .collect();
    for (write, result) in writes.iter().zip(written) {
        match (write, result) {
            (Write::Presence(presence), _) => messages.push(Message::Client(ClientChange {
                client_id: presence.client_id.clone(),
                connected: presence.online,
                socket_id: presence.sid.clone(),
                at: presence.at,
            })),
            (_, Written::Cancel(CancelOutcome::Requested { client_id, .. })) => {
                messages.push(Message::Cancel {
                    client_id: client_id.clone(),
                })
            }
            _ => {}
        }
    }
    let clients = deliver_to(writes, written);
    if !clients.is_empty() {
        messages.push(Message::Deliver { clients });
    }
    messages
}

/// A job's new state as an announced change.
pub fn job_change(change: StateChange, at: u64) -> JobChange {
    JobChange {
        job_id: change.job_id,
        client_id: change.client_id,
        state: change.state,
        at,
        error: change.error,
    }
}

/// Announces a job's new state.
pub fn publish_job(changes: &Changes, change: StateChange, at: u64) {
    changes.publish(Change::Job(job_change(change, at)));
}
