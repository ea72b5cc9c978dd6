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

use std::path::Path;

use printrelay_protocol::JobState;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE clients (
        client_id TEXT PRIMARY KEY,
        connected INTEGER NOT NULL DEFAULT 0,
        socket_id TEXT,
        last_seen INTEGER NOT NULL,
        info TEXT
    );
    CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL UNIQUE,
        client_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        error TEXT,
        delivered_to TEXT
    );
    CREATE INDEX jobs_client_state ON jobs(client_id, state);
    CREATE TABLE job_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        status TEXT NOT NULL
    );",
    // 2: a job's history is read by job id (and purged with it); the upkeep finds
    // waiting jobs by expiry and finished ones by age.
    "CREATE INDEX job_events_job ON job_events(job_id);
    CREATE INDEX jobs_state_expiry ON jobs(state, expires_at);
    CREATE INDEX jobs_state_updated ON jobs(state, updated_at);",
];

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

/// The members of a `job_status` the hub acts on, typed by the protocol (a state it does
/// not know is refused); the rest (error, printer, spooler id) is kept as the agent sent it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusHead {
    job_id: String,
    state: JobState,
}

/// A client as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub client_id: String,
    pub connected: bool,
    pub socket_id: Option<String>,
    pub last_seen: u64,
    /// The agent's last `client_info` (printers, version, host).
    pub info: Option<Value>,
    /// Last application heartbeat on the current connection (kept in memory, not stored).
    pub last_heartbeat_at: Option<u64>,
    /// Round trip the agent last measured to this hub, in ms.
    pub rtt_ms: Option<u64>,
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    pub client_id: String,
    /// `queued` (waiting for the client), `delivered` (sent, no status yet), then the
    /// agent's states: `received`, `spooled`, `completed`, `failed`...
    pub state: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub expires_at: Option<u64>,
    pub error: Option<Value>,
    /// Every status the agent reported, oldest first.
    pub events: Vec<Value>,
}

/// A job that moved to a new state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub job_id: String,
    pub client_id: String,
    pub state: String,
    pub error: Option<Value>,
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_id: String,
    pub client_id: String,
    /// What the agent gets, as JSON text.
    pub payload: String,
    pub expires_at: Option<u64>,
}

/// A client registered on a socket (`online`), or that socket closed.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    pub client_id: String,
    pub sid: String,
    pub online: bool,
    pub at: u64,
}

/// One write of a batch: a job to queue, a status an agent reported, a client's
/// presence, or the periodic upkeep.
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    Job(&'a NewJob),
    Status(&'a Value),
    Presence(&'a Presence),
    Upkeep(&'a Upkeep),
}

/// What one write of a batch came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Job(Inserted),
    Status(Applied),
    Presence,
    /// The jobs that expired.
    Upkeep(Vec<StateChange>),
}

/// What a status came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The job moved to the status's state.
    Moved(StateChange),
    /// Stored in the job's history; the job was there or further already.
    Kept,
    /// No job has that id: not stored.
    UnknownJob,
    /// Not a state an agent may report: not stored.
    InvalidState,
}

/// The periodic upkeep: expire waiting jobs whose time passed, and purge finished jobs
/// (with their histories) last changed before `purge_before`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Upkeep {
    pub purge_before: Option<u64>,
}

/// What queueing one job came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    Created,
    /// The id was taken already; the state of the job that has it.
    Exists(String),
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

    /// Stores the agent's `client_info` (it may arrive before `register` is handled).
    pub fn client_info(
        &mut self,
        client_id: &str,
        info: &Value,
        now: u64,
    ) -> Result<(), StoreError> {
        self.without_fsync(|db| {
            db.execute(
                "INSERT INTO clients (client_id, connected, last_seen, info) VALUES (?1, 0, ?3, ?2)
             ON CONFLICT(client_id) DO UPDATE SET info = ?2",
                params![client_id, info.to_string(), now as i64],
            )
        })?;
        Ok(())
    }

    /// One client.
    pub fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT client_id, connected, socket_id, last_seen, info FROM clients WHERE client_id = ?1",
                params![client_id],
                client_from_row,
            )
            .optional()?)
    }

    /// All clients, by id.
    pub fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT client_id, connected, socket_id, last_seen, info FROM clients ORDER BY client_id")?;
        let rows = statement.query_map([], client_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
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
            });
        }
        tx.commit()?;
        Ok(written)
    }

    /// Up to `limit` jobs to send to a client's socket `sid` now, in order: queued ones,
    /// and ones delivered over an earlier connection that never got a status (the agent
    /// dedupes, so re-sending is safe); none whose `expiresAt` passed.
    pub fn deliverable(
        &self,
        client_id: &str,
        sid: &str,
        now: u64,
        limit: usize,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let mut statement = self.db.prepare_cached(
            "SELECT job_id, payload FROM jobs WHERE client_id = ?1
               AND (state = 'queued' OR (state = 'delivered' AND delivered_to IS NOT ?2))
               AND (expires_at IS NULL OR expires_at > ?3)
             ORDER BY seq LIMIT ?4",
        )?;
        let rows = statement
            .query_map(params![client_id, sid, now as i64, limit as i64], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
        let mut jobs = Vec::new();
        for row in rows {
            let (job_id, payload) = row?;
            jobs.push((
                job_id,
                serde_json::from_str(&payload).unwrap_or(Value::Null),
            ));
        }
        Ok(jobs)
    }

    /// Notes that `job_ids` (from [`Store::deliverable`]) are being sent to their client on
    /// socket `sid`, in one commit; the changes of those that were `queued` (a re-delivery
    /// keeps the state, a job that moved on meanwhile is left alone).
    pub fn delivered(
        &mut self,
        job_ids: &[String],
        sid: &str,
        now: u64,
    ) -> Result<Vec<StateChange>, StoreError> {
        self.without_fsync(|db| {
            let tx = db.unchecked_transaction()?;
            let mut changes = Vec::new();
            {
                let mut first = tx.prepare_cached(
                    "UPDATE jobs SET state = 'delivered', updated_at = ?2, delivered_to = ?3
                     WHERE job_id = ?1 AND state = 'queued' RETURNING client_id",
                )?;
                let mut again = tx.prepare_cached(
                    "UPDATE jobs SET updated_at = ?2, delivered_to = ?3
                     WHERE job_id = ?1 AND state = 'delivered'",
                )?;
                for job_id in job_ids {
                    let params = params![job_id, now as i64, sid];
                    match first.query_row(params, |r| r.get(0)).optional()? {
                        Some(client_id) => changes.push(StateChange {
                            job_id: job_id.clone(),
                            client_id,
                            state: "delivered".into(),
                            error: None,
                        }),
                        None => {
                            again.execute(params)?;
                        }
                    }
                }
            }
            tx.commit()?;
            Ok(changes)
        })
    }

    /// How many of `client_id`'s jobs wait for it (queued, or sent without an answer on an
    /// earlier connection), not counting those whose `expiresAt` passed.
    pub fn waiting(&self, client_id: &str, now: u64) -> Result<usize, StoreError> {
        let count: i64 = self
            .db
            .prepare_cached(
                "SELECT COUNT(*) FROM jobs WHERE client_id = ?1 AND state IN ('queued', 'delivered')
                 AND (expires_at IS NULL OR expires_at > ?2)",
            )?
            .query_row(params![client_id, now as i64], |r| r.get(0))?;
        Ok(count.max(0) as usize)
    }

    /// How many of `client_id`'s jobs were sent on socket `sid` and not yet answered.
    pub fn in_flight(&self, client_id: &str, sid: &str) -> Result<usize, StoreError> {
        let count: i64 = self
            .db
            .prepare_cached(
                "SELECT COUNT(*) FROM jobs WHERE client_id = ?1 AND state = 'delivered'
                 AND delivered_to = ?2",
            )?
            .query_row(params![client_id, sid], |r| r.get(0))?;
        Ok(count.max(0) as usize)
    }

    /// Jobs, newest first, optionally of one client and/or in one state; at most `limit`
    /// after skipping `offset`. Without status histories (ask for one job for that).
    pub fn jobs(
        &self,
        client_id: Option<&str>,
        state: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let mut statement = self.db.prepare(
            "SELECT job_id, client_id, state, created_at, updated_at, expires_at, error FROM jobs
             WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR state = ?2)
             ORDER BY seq DESC LIMIT ?3 OFFSET ?4",
        )?;
        let rows = statement.query_map(
            params![client_id, state, limit.clamp(1, 1000) as i64, offset as i64],
            job_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The client a job is for.
    pub fn job_client(&self, job_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT client_id FROM jobs WHERE job_id = ?1",
                params![job_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// One job with its status history.
    pub fn job(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        let job = self
            .db
            .query_row(
                "SELECT job_id, client_id, state, created_at, updated_at, expires_at, error FROM jobs WHERE job_id = ?1",
                params![job_id],
                job_from_row,
            )
            .optional()?;
        let Some(mut job) = job else { return Ok(None) };
        let mut statement = self
            .db
            .prepare("SELECT status FROM job_events WHERE job_id = ?1 ORDER BY id")?;
        let rows = statement.query_map(params![job_id], |row| row.get::<_, String>(0))?;
        for row in rows {
            job.events
                .push(serde_json::from_str(&row?).unwrap_or(Value::Null));
        }
        Ok(Some(job))
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

/// Queues one job in `tx`; a taken id leaves its job as it is.
fn queue_job(
    tx: &rusqlite::Transaction<'_>,
    job: &NewJob,
    now: u64,
) -> Result<Inserted, StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO jobs (job_id, client_id, payload, state, created_at, updated_at, expires_at)
         VALUES (?1, ?2, ?3, 'queued', ?4, ?4, ?5)",
    )?;
    let created = insert.execute(params![
        job.job_id,
        job.client_id,
        job.payload,
        now as i64,
        job.expires_at.map(|t| t as i64)
    ])? > 0;
    Ok(if created {
        Inserted::Created
    } else {
        let mut state = tx.prepare_cached("SELECT state FROM jobs WHERE job_id = ?1")?;
        Inserted::Exists(state.query_row(params![job.job_id], |r| r.get(0))?)
    })
}

/// Records one `job_status` of an agent in `tx`: what it came to.
fn apply_status(
    tx: &rusqlite::Transaction<'_>,
    status: &Value,
    now: u64,
) -> Result<Applied, StoreError> {
    let Ok(StatusHead { job_id, state }) = StatusHead::deserialize(status) else {
        return Ok(Applied::InvalidState);
    };
    let job_id = job_id.as_str();
    let current: Option<(String, String)> = tx
        .prepare_cached("SELECT state, client_id FROM jobs WHERE job_id = ?1")?
        .query_row(params![job_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    // Not stored: a peer could otherwise fill the disk with statuses of made-up jobs.
    let Some((current, client_id)) = current else {
        return Ok(Applied::UnknownJob);
    };
    tx.prepare_cached("INSERT INTO job_events (job_id, at, status) VALUES (?1, ?2, ?3)")?
        .execute(params![job_id, now as i64, status.to_string()])?;
    // Statuses may be handled out of order (socketioxide runs each event on its own
    // task) and repeated (a re-sent outbox, `duplicate: true` answers to a re-delivery):
    // a job only moves forward, and a repeat that moves it forward is applied, since the
    // first copy may never have arrived.
    if rank_of(state) <= stored_rank(&current) {
        return Ok(Applied::Kept);
    }
    let error = status.get("error").filter(|e| !e.is_null()).cloned();
    tx.prepare_cached("UPDATE jobs SET state = ?2, updated_at = ?3, error = ?4 WHERE job_id = ?1")?
        .execute(params![
            job_id,
            state.as_str(),
            now as i64,
            error.as_ref().map(Value::to_string)
        ])?;
    Ok(Applied::Moved(StateChange {
        job_id: job_id.to_owned(),
        client_id,
        state: state.as_str().to_owned(),
        error,
    }))
}

/// Expires waiting jobs whose time passed and purges old finished ones, in `tx`.
fn upkeep_in(
    tx: &rusqlite::Transaction<'_>,
    upkeep: &Upkeep,
    now: u64,
) -> Result<Vec<StateChange>, StoreError> {
    let mut expire = tx.prepare_cached(
        "UPDATE jobs SET state = 'expired', updated_at = ?1
         WHERE state IN ('queued', 'delivered') AND expires_at IS NOT NULL AND expires_at <= ?1
         RETURNING job_id, client_id",
    )?;
    let rows = expire.query_map(params![now as i64], |row| {
        Ok(StateChange {
            job_id: row.get(0)?,
            client_id: row.get(1)?,
            state: "expired".into(),
            error: None,
        })
    })?;
    let expired = rows.collect::<Result<Vec<_>, _>>()?;
    if let Some(before) = upkeep.purge_before {
        let finished: Vec<&str> = JobState::ALL
            .into_iter()
            .filter(|state| state.is_final())
            .map(JobState::as_str)
            .collect();
        let finished = format!("state IN ('{}')", finished.join("', '"));
        tx.execute(
            &format!(
                "DELETE FROM job_events WHERE job_id IN
                 (SELECT job_id FROM jobs WHERE {finished} AND updated_at <= ?1)"
            ),
            params![before as i64],
        )?;
        tx.execute(
            &format!("DELETE FROM jobs WHERE {finished} AND updated_at <= ?1"),
            params![before as i64],
        )?;
    }
    Ok(expired)
}

/// Records a client's registration or its socket closing in `tx`.
fn apply_presence(tx: &rusqlite::Transaction<'_>, presence: &Presence) -> Result<(), StoreError> {
    if presence.online {
        tx.prepare_cached(
            "INSERT INTO clients (client_id, connected, socket_id, last_seen) VALUES (?1, 1, ?2, ?3)
             ON CONFLICT(client_id) DO UPDATE SET connected = 1, socket_id = ?2, last_seen = ?3",
        )?
        .execute(params![presence.client_id, presence.sid, presence.at as i64])?;
    } else {
        tx.prepare_cached(
            "UPDATE clients SET connected = 0, last_seen = ?3 WHERE client_id = ?1 AND socket_id = ?2",
        )?
        .execute(params![presence.client_id, presence.sid, presence.at as i64])?;
    }
    Ok(())
}

fn job_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        job_id: row.get(0)?,
        client_id: row.get(1)?,
        state: row.get(2)?,
        created_at: row.get::<_, i64>(3)? as u64,
        updated_at: row.get::<_, i64>(4)? as u64,
        expires_at: row.get::<_, Option<i64>>(5)?.map(|t| t as u64),
        error: row
            .get::<_, Option<String>>(6)?
            .and_then(|e| serde_json::from_str(&e).ok()),
        events: Vec::new(),
    })
}

/// Order of a job's states at the hub: `queued`, `delivered`, then the agent's states in
/// their protocol order. A job never moves to a lower rank.
fn rank_of(state: JobState) -> u8 {
    2 + state.rank()
}

/// The rank of a stored state; one the hub does not know (never written by this version)
/// ranks last, so nothing moves it.
fn stored_rank(state: &str) -> u8 {
    match state {
        "queued" => 0,
        "delivered" => 1,
        other => JobState::parse(other).map_or(u8::MAX, rank_of),
    }
}

impl Client {
    /// A client registered a moment ago that the writer has not stored yet.
    pub fn live(client_id: String, sid: String, now: u64) -> Self {
        Self {
            client_id,
            connected: true,
            socket_id: Some(sid),
            last_seen: now,
            info: None,
            last_heartbeat_at: None,
            rtt_ms: None,
        }
    }
}

fn client_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Client> {
    Ok(Client {
        client_id: row.get(0)?,
        connected: row.get::<_, i64>(1)? != 0,
        socket_id: row.get(2)?,
        last_seen: row.get::<_, i64>(3)? as u64,
        info: row
            .get::<_, Option<String>>(4)?
            .and_then(|i| serde_json::from_str(&i).ok()),
        last_heartbeat_at: None,
        rtt_ms: None,
    })
}

#[cfg(test)]
mod tests;
