//! The hub's durable state: clients, jobs in delivery order, and every status an agent
//! reported. In SQLite (WAL; the embedded default) or PostgreSQL (`--db postgres://...`),
//! with the same schema, migrations and statements ([`db`] runs them on either).
//! Blocking; called under the hub's mutex, from the blocking pool.
//!
//! Jobs and statuses are committed durably (SQLite `synchronous=FULL`: an fsync per commit;
//! PostgreSQL's default `synchronous_commit`): a `202` means the job survives a power cut;
//! [`Store::write`] takes a whole batch of submissions and statuses in one commit.
//! Presence (online, offline, client_info) and the `delivered` mark are committed without
//! waiting for the disk (SQLite `synchronous=NORMAL`, PostgreSQL `synchronous_commit=off`):
//! presence is reset at every start anyway, and a lost `delivered` only means the job is
//! sent again, which the agent dedupes. Both logs keep commits in order, so the next
//! durable commit makes the earlier ones durable too. This takes the fsync off every
//! connect (10k agents reconnecting).
//!
//! The rooms: [`model`] (what the store takes and gives), `clients` (presence and
//! `client_info`), `jobs` (queueing, delivery, reading jobs, expiry and purge),
//! `statuses` (an agent's `job_status`, read through the protocol's `JobState`), `cancel`
//! (cancelling at the hub, asking agents), `stats` (the console's counters), `nodes`
//! (hub processes sharing a PostgreSQL database, and the `NOTIFY`s between them),
//! `outbox` (those messages sent through Redis instead),
//! `migrations` (the schema), `database` (which engine), `db` and `pg` (running SQL).

mod cancel;
mod clients;
mod database;
mod db;
mod jobs;
mod migrations;
pub mod model;
mod nodes;
mod outbox;
mod pg;
pub mod stats;
mod statuses;
#[cfg(test)]
pub mod testdb;
#[cfg(test)]
mod tests;

use std::path::Path;

use printrelay_protocol::{ClientInfo, JobState};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use cancel::apply_cancel;
use clients::apply_presence;
use db::{args, Db, Row};
use jobs::{queue_job, upkeep_in};
use statuses::{apply_status, stored_rank};

pub use database::{Database, InvalidDatabase};
pub use model::*;
use nodes::notify_in;
pub use nodes::{Orphan, CHANNEL};
use outbox::Commit;
pub use outbox::Outbox;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("hub store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Never shows the connection URL (it may hold a password).
    #[error("hub store (PostgreSQL): {}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    /// The PostgreSQL connection was lost inside a transaction (a new one is made for the
    /// next).
    #[error("hub store (PostgreSQL): the connection was lost during a transaction")]
    ConnectionLost,
    /// The commit of a batch of submissions failed; every submitter in it gets this.
    #[error("{0}")]
    Batch(std::sync::Arc<StoreError>),
    /// The task writing submissions ended without an answer.
    #[error("hub store: the job writer stopped")]
    WriterStopped,
    /// A read on the blocking pool ended without an answer (it panicked, or the runtime
    /// is shutting down).
    #[error("hub store: a read stopped before it answered")]
    ReadStopped,
    /// The thread listening for other hub nodes could not start.
    #[error("hub store: cannot start listening for other hub nodes: {0}")]
    Listen(std::io::Error),
    /// The Redis server the nodes talk through (`--cluster`) cannot be used.
    #[error("hub cluster: Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Live nodes on the database talk on another channel than this one (PostgreSQL
    /// `NOTIFY`, or another Redis): they would not hear each other.
    #[error("hub cluster: this node talks through {ours}, but live node {node} on the same database talks through {theirs}: give every node the same --cluster setting (switching: stop them all first)")]
    OtherChannel {
        ours: String,
        node: String,
        theirs: String,
    },
    /// The database was written by a newer hub; opening it could lose data.
    #[error("hub store: the database is at schema version {found}, this hub knows up to {known}; use a newer hub")]
    TooNew { found: i64, known: i64 },
}

/// A PostgreSQL error with its cause (the server's message and SQLSTATE), which the
/// crate's own `Display` leaves out.
fn postgres_message(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
    }
    match std::error::Error::source(error) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}

impl StoreError {
    /// True when the disk (or the configured size cap) has no room left.
    pub fn is_full(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            StoreError::Postgres(e) => e.code() == Some(&postgres::error::SqlState::DISK_FULL),
            StoreError::Batch(inner) => inner.is_full(),
            _ => false,
        }
    }
}

/// The hub database.
#[derive(Debug)]
pub struct Store {
    db: Db,
    /// Set when the nodes talk through Redis (`outbox`): announcements go there after
    /// their commit.
    outbox: Option<Outbox>,
}

/// SQLite statements cached per connection: the store has a few dozen.
const SQLITE_STATEMENTS: usize = 64;

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates `database` for writing;
    /// `max_pages`, when set, caps a SQLite file's size (writes past it fail as "full").
    pub fn open(database: &Database, max_pages: Option<u64>) -> Result<Self, StoreError> {
        let db = match database {
            Database::Sqlite(path) => {
                let db = rusqlite::Connection::open(path)?;
                db.set_prepared_statement_cache_capacity(SQLITE_STATEMENTS);
                db.pragma_update(None, "journal_mode", "WAL")?;
                db.pragma_update(None, "synchronous", "FULL")?;
                let db = Db::Sqlite(db);
                migrations::migrate(&db)?;
                if let (Some(pages), Db::Sqlite(sqlite)) = (max_pages, &db) {
                    sqlite.pragma_update(None, "max_page_count", pages as i64)?;
                }
                db
            }
            Database::Postgres(url) => {
                let db = Db::Postgres(Box::new(pg::Pg::connect(url, false)?));
                migrations::migrate(&db)?;
                db
            }
        };
        // Nobody is connected to a hub that just started; the last socket id stays known.
        // On PostgreSQL other nodes may hold clients: the nodes' upkeep takes offline
        // those of nodes that stopped instead (`nodes`).
        if let Db::Sqlite(_) = db {
            db.execute("UPDATE clients SET connected = 0", &[])?;
        }
        Ok(Self { db, outbox: None })
    }

    /// A second, read-only connection to the database [`Store::open`] opened: its reads
    /// never wait for a commit (or its fsync) on the writing connection.
    pub fn open_reader(database: &Database) -> Result<Self, StoreError> {
        let db = match database {
            Database::Sqlite(path) => Db::Sqlite(open_sqlite_reader(path)?),
            Database::Postgres(url) => Db::Postgres(Box::new(pg::Pg::connect(url, true)?)),
        };
        Ok(Self { db, outbox: None })
    }

    /// Folds SQLite's write-ahead log into the database file (every commit is already
    /// durable: `synchronous=FULL`); called once at shutdown so the file alone is
    /// complete. Nothing to do for PostgreSQL.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        if let Db::Sqlite(_) = self.db {
            self.db
                .query_opt("PRAGMA wal_checkpoint(TRUNCATE)", &[], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Runs `write` in one transaction committed without waiting for the disk (see the
    /// module notes for which writes may).
    fn without_fsync<T>(
        &mut self,
        write: impl FnOnce(&Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.db {
            Db::Sqlite(sqlite) => {
                sqlite.pragma_update(None, "synchronous", "NORMAL")?;
                let result = self.db.transaction(write);
                sqlite.pragma_update(None, "synchronous", "FULL")?;
                result
            }
            // This transaction only; the session stays durable.
            Db::Postgres(_) => self
                .db
                .transaction_with("SET LOCAL synchronous_commit = off;", write),
        }
    }

    /// Applies `writes` in order in one transaction (one fsync for all of them): the hub's
    /// writer batches submissions and agents' statuses this way.
    #[cfg(test)]
    pub fn write(&mut self, writes: &[Write<'_>], now: u64) -> Result<Vec<Written>, StoreError> {
        self.write_notifying(writes, now, |_| Vec::new())
    }

    /// As [`Store::write`]; `notices` turns what the writes came to into `NOTIFY`
    /// payloads sent in the same transaction (PostgreSQL delivers them only if it commits,
    /// in commit order; nothing is sent on SQLite).
    pub fn write_notifying(
        &mut self,
        writes: &[Write<'_>],
        now: u64,
        notices: impl FnOnce(&[Written]) -> Vec<String>,
    ) -> Result<Vec<Written>, StoreError> {
        self.announcing(Commit::Durable, |tx| {
            let mut written = Vec::with_capacity(writes.len());
            for write in writes {
                written.push(match write {
                    Write::Job(job) => Written::Job(queue_job(tx, job, now)?),
                    Write::Status(status) => Written::Status(apply_status(tx, status, now)?),
                    Write::Presence(presence) => {
                        apply_presence(tx, presence)?;
                        Written::Presence
                    }
                    Write::Upkeep(upkeep) => Written::Upkeep(upkeep_in(tx, upkeep, now)?),
                    Write::Cancel(order) => Written::Cancel(apply_cancel(tx, order, now)?),
                });
            }
            let payloads = notices(&written);
            Ok((written, payloads))
        })
    }
}

fn open_sqlite_reader(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let db = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.set_prepared_statement_cache_capacity(SQLITE_STATEMENTS);
    Ok(db)
}

/// A time or count for SQL: integers are signed 64-bit in both engines.
fn int(value: u64) -> i64 {
    value.min(i64::MAX as u64) as i64
}
