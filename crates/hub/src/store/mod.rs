//! The hub's durable state (SQLite, WAL): clients, jobs in delivery order, and every
//! status an agent reported. Blocking; called under the hub's mutex.
//!
//! Jobs and statuses are committed with `synchronous=FULL` (an fsync per commit: a `202`
//! means the job survives a power cut; [`Store::write`] takes a whole batch of
//! submissions and statuses in one commit). Presence (online, offline, client_info) and the
//! `delivered` mark are committed without an fsync (`synchronous=NORMAL`): presence is reset
//! at every start anyway, and a lost `delivered` only means the job is sent again, which
//! the agent dedupes. WAL keeps commits in order, so the next FULL commit makes the earlier
//! ones durable too. This takes the fsync off every connect (10k agents reconnecting).
//!
//! The rooms: [`model`] (what the store takes and gives), `clients` (presence and
//! `client_info`), `jobs` (queueing, delivery, reading jobs, expiry and purge),
//! `statuses` (an agent's `job_status`, read through the protocol's `JobState`), `cancel`
//! (cancelling at the hub, asking agents), `stats` (the console's counters),
//! `migrations` (the schema).

mod cancel;
mod clients;
mod jobs;
mod migrations;
pub mod model;
pub mod stats;
mod statuses;
#[cfg(test)]
mod tests;

use std::path::Path;

use printrelay_protocol::{ClientInfo, JobState};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use cancel::apply_cancel;
use clients::apply_presence;
use jobs::{queue_job, upkeep_in};
use migrations::MIGRATIONS;
use statuses::{apply_status, stored_rank};

pub use model::*;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("hub store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The commit of a batch of submissions failed; every submitter in it gets this.
    #[error("{0}")]
    Batch(std::sync::Arc<StoreError>),
    /// The task writing submissions ended without an answer.
    #[error("hub store: the job writer stopped")]
    WriterStopped,
    /// The database was written by a newer hub; opening it could lose data.
    #[error("hub store: the database is at schema version {found}, this hub knows up to {known}; use a newer hub")]
    TooNew { found: i64, known: i64 },
}

impl StoreError {
    /// True when the disk (or the configured size cap) has no room left.
    pub fn is_full(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            StoreError::Batch(inner) => inner.is_full(),
            _ => false,
        }
    }
}

/// The hub database.
#[derive(Debug)]
pub struct Store {
    db: Connection,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path` for writing;
    /// `max_pages`, when set, caps its size (writes past it fail as "full").
    pub fn open(path: &Path, max_pages: Option<u64>) -> Result<Self, StoreError> {
        let mut db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut db)?;
        if let Some(pages) = max_pages {
            db.pragma_update(None, "max_page_count", pages as i64)?;
        }
        // Nobody is connected to a hub that just started; the last socket id stays known.
        db.execute("UPDATE clients SET connected = 0", [])?;
        Ok(Self { db })
    }

    /// A second, read-only connection to the database [`Store::open`] opened: with WAL,
    /// its reads never wait for a commit (or its fsync) on the writing connection.
    pub fn open_reader(path: &Path) -> Result<Self, StoreError> {
        let db = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Ok(Self { db })
    }

    /// Folds the write-ahead log into the database file (every commit is already durable:
    /// `synchronous=FULL`); called once at shutdown so the file alone is complete.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.db
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Runs `write` committed without an fsync (see the module notes for which writes may).
    fn without_fsync<T>(
        &mut self,
        write: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.db.pragma_update(None, "synchronous", "NORMAL")?;
        let result = write(&self.db);
        self.db.pragma_update(None, "synchronous", "FULL")?;
        Ok(result?)
    }

    /// Applies `writes` in order in one transaction (one fsync for all of them): the hub's
    /// writer batches submissions and agents' statuses this way.
    pub fn write(&mut self, writes: &[Write<'_>], now: u64) -> Result<Vec<Written>, StoreError> {
        let tx = self.db.transaction()?;
        let mut written = Vec::with_capacity(writes.len());
        for write in writes {
            written.push(match write {
                Write::Job(job) => Written::Job(queue_job(&tx, job, now)?),
                Write::Status(status) => Written::Status(apply_status(&tx, status, now)?),
                Write::Presence(presence) => {
                    apply_presence(&tx, presence)?;
                    Written::Presence
                }
                Write::Upkeep(upkeep) => Written::Upkeep(upkeep_in(&tx, upkeep, now)?),
                Write::Cancel(order) => Written::Cancel(apply_cancel(&tx, order, now)?),
            });
        }
        tx.commit()?;
        Ok(written)
    }
}

/// Brings the schema to the newest version, each step in its own transaction (a crash
/// mid-way leaves the previous version); refuses a database from a newer hub.
fn migrate(db: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let tx = db.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
