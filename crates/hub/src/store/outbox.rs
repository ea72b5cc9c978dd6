//! Where the messages a write announces to other hub nodes go (`crate::cluster`): by
//! PostgreSQL `NOTIFY` in the write's own transaction (the default), or, when the nodes
//! talk through Redis (`--cluster redis://...`), into an [`Outbox`] once the transaction
//! has committed, for the publishing task to send on ([`Store::announcing`] decides).
//! Runs under the writing store's lock, so payloads enter the outbox in commit order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::{self, error::TrySendError};

use super::*;

/// Payloads waiting for the Redis publisher: a bounded queue (a Redis that stalls must
/// not grow the hub's memory), with a count of what did not fit.
#[derive(Debug, Clone)]
pub struct Outbox {
    sender: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
}

impl Outbox {
    /// An outbox holding up to `capacity` payloads, and the publisher's end of it.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<String>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let outbox = Self {
            sender,
            dropped: Arc::default(),
        };
        (outbox, receiver)
    }

    /// How many payloads did not fit since the last call (the publisher then tells the
    /// other nodes they missed some).
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }

    fn post(&self, payloads: Vec<String>) {
        for payload in payloads {
            match self.sender.try_send(payload) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                // The hub is shutting down.
                Err(TrySendError::Closed(_)) => return,
            }
        }
    }
}

/// How a transaction that announces something is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Commit {
    /// Waiting for the disk.
    Durable,
    /// Without waiting for the disk (see the module notes of `store`).
    Lazy,
}

impl Store {
    /// From now on, announcements go into `outbox` after their transaction commits
    /// instead of by `NOTIFY` in it.
    pub fn post_to(&mut self, outbox: Outbox) {
        self.outbox = Some(outbox);
    }

    /// Runs `work` in one transaction and announces the payloads it returns beside its
    /// value: by `NOTIFY` in the transaction, or into the outbox once it has committed.
    pub(super) fn announcing<T>(
        &mut self,
        commit: Commit,
        work: impl FnOnce(&Db) -> Result<(T, Vec<String>), StoreError>,
    ) -> Result<T, StoreError> {
        let after_commit = self.outbox.is_some();
        let run = |tx: &Db| {
            let (value, payloads) = work(tx)?;
            if after_commit {
                return Ok((value, payloads));
            }
            notify_in(tx, &payloads)?;
            Ok((value, Vec::new()))
        };
        let (value, later) = match commit {
            Commit::Durable => self.db.transaction(run)?,
            Commit::Lazy => self.without_fsync(run)?,
        };
        self.post(later);
        Ok(value)
    }

    /// Sends `payloads` now, outside any transaction (nothing on SQLite).
    pub fn notify(&mut self, payloads: Vec<String>) -> Result<(), StoreError> {
        if self.outbox.is_some() {
            self.post(payloads);
            return Ok(());
        }
        notify_in(&self.db, &payloads)
    }

    /// Hands `payloads` (of a committed transaction) to the outbox, if there is one.
    fn post(&self, payloads: Vec<String>) {
        if let Some(outbox) = &self.outbox {
            outbox.post(payloads);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_outbox_counts_what_it_drops_and_keeps_the_order_of_the_rest() {
        let (outbox, mut receiver) = Outbox::new(2);
        outbox.post(vec!["a".into(), "b".into(), "c".into()]);
        assert_eq!(outbox.take_dropped(), 1);
        assert_eq!(outbox.take_dropped(), 0);
        assert_eq!(receiver.try_recv().ok().as_deref(), Some("a"));
        assert_eq!(receiver.try_recv().ok().as_deref(), Some("b"));
        assert!(receiver.try_recv().is_err());
    }
}
