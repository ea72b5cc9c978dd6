//! The agent's durable store (SQLite, WAL): jobs and, apart, their documents, every status
//! transition in an outbox until the server has it, and connection events. This module
//! opens and migrates the database; the rooms below hold its parts:
//!
//! - [`jobs`]: storing jobs and their state changes, pruning the history;
//! - [`history`]: reading jobs back (one, the newest, the unfinished, a query, a document);
//! - [`outbox`]: the statuses the server does not have yet;
//! - [`connection_log`]: the connection events the window shows;
//! - `codec`: how documents, states and codes are written in the tables;
//! - `migrations`: the schema, step by step.
//!
//! Blocking: the async side calls it through `spawn_blocking` (see [`SharedStore`]).

mod codec;
pub mod connection_log;
pub mod history;
pub mod jobs;
mod migrations;
pub mod outbox;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::protocol::{
    Document, EpochMillis, ErrorCode, JobError, JobState, JobStatus, PrintJob, RemoteKind,
};
use crate::record::{DocumentKind, JobRecord};

use codec::*;
use history::record_of;
use migrations::MIGRATIONS;
use outbox::push_status;

pub use connection_log::ConnectionEvent;
pub use history::{JobPage, JobQuery};
pub use jobs::{Inserted, Unfinished};

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("job store: cannot create {path}: {detail}")]
    Folder { path: String, detail: String },
    #[error("job store: the store task failed: {0}")]
    Task(String),
    #[error("job store: schema version {found} is newer than this agent knows ({known})")]
    TooNew { found: i64, known: usize },
}

/// The SQLite database of one agent.
#[derive(Debug)]
pub struct Store {
    db: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it. The file, its
    /// journal files and its folder are private to the user (documents are stored here).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        crate::private::prepare_database(path).map_err(|e| StoreError::Folder {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::init(Connection::open(path)?)
    }

    /// An in-memory database, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(db: Connection) -> Result<Self, StoreError> {
        db.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a job acknowledged as `received` survives a power cut, not only a crash.
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = Self { db };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let version: i64 = self
            .db
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.db.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (index + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Runs `write` committed without waiting for the disk (`synchronous=NORMAL`), for
    /// writes the agent can redo after a power cut. WAL keeps commits in order, so the
    /// next full commit makes these durable too.
    fn without_fsync<T>(
        &mut self,
        write: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.db.pragma_update(None, "synchronous", "NORMAL")?;
        let result = write(&mut self.db);
        self.db.pragma_update(None, "synchronous", "FULL")?;
        Ok(result?)
    }
}

/// The store, shared between tasks; every call runs on the blocking pool.
#[derive(Debug, Clone)]
pub struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    /// Wraps an open store.
    pub fn new(store: Store) -> Self {
        Self(Arc::new(Mutex::new(store)))
    }

    /// Runs `f` on the store in `spawn_blocking`.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::Task(e.to_string())))
    }
}
