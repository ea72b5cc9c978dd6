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

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

const MIGRATIONS: &[&str] = &["CREATE TABLE clients (
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
    );"];

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

/// One write of a batch: a job to queue, or a status an agent reported.
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    Job(&'a NewJob),
    Status(&'a Value),
}

/// What one write of a batch came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Job(Inserted),
    /// The job's new state, when the status moved it on.
    Status(Option<StateChange>),
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
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        let version: i64 = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            db.execute_batch(sql)?;
            db.pragma_update(None, "user_version", (index + 1) as i64)?;
        }
        // Nobody is connected to a hub that just started.
        db.execute("UPDATE clients SET connected = 0, socket_id = NULL", [])?;
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

    /// Marks a client connected on `socket_id`.
    pub fn client_online(
        &mut self,
        client_id: &str,
        socket_id: &str,
        now: u64,
    ) -> Result<(), StoreError> {
        self.without_fsync(|db| {
            db.execute(
            "INSERT INTO clients (client_id, connected, socket_id, last_seen) VALUES (?1, 1, ?2, ?3)
             ON CONFLICT(client_id) DO UPDATE SET connected = 1, socket_id = ?2, last_seen = ?3",
            params![client_id, socket_id, now as i64],
        )
        })?;
        Ok(())
    }

    /// Marks a client offline if `socket_id` is still its socket.
    pub fn client_offline(
        &mut self,
        client_id: &str,
        socket_id: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        Ok(self.without_fsync(|db| db.execute(
            "UPDATE clients SET connected = 0, last_seen = ?3 WHERE client_id = ?1 AND socket_id = ?2",
            params![client_id, socket_id, now as i64],
        ))? > 0)
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
            });
        }
        tx.commit()?;
        Ok(written)
    }

    /// Marks the waiting jobs of `client_id` whose `expiresAt` passed as `expired`.
    pub fn expire(&mut self, client_id: &str, now: u64) -> Result<Vec<StateChange>, StoreError> {
        let mut statement = self.db.prepare_cached(
            "UPDATE jobs SET state = 'expired', updated_at = ?2
             WHERE client_id = ?1 AND state IN ('queued', 'delivered')
               AND expires_at IS NOT NULL AND expires_at <= ?2
             RETURNING job_id",
        )?;
        let rows = statement.query_map(params![client_id, now as i64], |row| row.get(0))?;
        let mut expired = Vec::new();
        for job_id in rows {
            expired.push(StateChange {
                job_id: job_id?,
                client_id: client_id.to_owned(),
                state: "expired".into(),
                error: None,
            });
        }
        Ok(expired)
    }

    /// Jobs to send to a client's socket `sid` now, in order: queued ones, and ones
    /// delivered over an earlier connection that never got a status (the agent dedupes,
    /// so re-sending is safe). Call [`Store::expire`] first.
    pub fn deliverable(
        &mut self,
        client_id: &str,
        sid: &str,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let mut statement = self.db.prepare_cached(
            "SELECT job_id, payload FROM jobs WHERE client_id = ?1
               AND (state = 'queued' OR (state = 'delivered' AND delivered_to IS NOT ?2))
             ORDER BY seq",
        )?;
        let rows = statement.query_map(params![client_id, sid], |row| {
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

/// Records one `job_status` of an agent in `tx`; the job's new state when it moved.
fn apply_status(
    tx: &rusqlite::Transaction<'_>,
    status: &Value,
    now: u64,
) -> Result<Option<StateChange>, StoreError> {
    let Some(job_id) = status["jobId"].as_str() else {
        return Ok(None);
    };
    let Some(state) = status["state"].as_str() else {
        return Ok(None);
    };
    tx.prepare_cached("INSERT INTO job_events (job_id, at, status) VALUES (?1, ?2, ?3)")?
        .execute(params![job_id, now as i64, status.to_string()])?;
    // A duplicate answer repeats the current state, and statuses may be handled out of
    // order (socketioxide runs each event on its own task): a job only moves forward.
    let current: Option<(String, String)> = tx
        .prepare_cached("SELECT state, client_id FROM jobs WHERE job_id = ?1")?
        .query_row(params![job_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((current, client_id)) = current else {
        return Ok(None);
    };
    if status["duplicate"] == Value::Bool(true) || state_rank(state) <= state_rank(&current) {
        return Ok(None);
    }
    let error = status.get("error").filter(|e| !e.is_null()).cloned();
    tx.prepare_cached("UPDATE jobs SET state = ?2, updated_at = ?3, error = ?4 WHERE job_id = ?1")?
        .execute(params![
            job_id,
            state,
            now as i64,
            error.as_ref().map(Value::to_string)
        ])?;
    Ok(Some(StateChange {
        job_id: job_id.to_owned(),
        client_id,
        state: state.to_owned(),
        error,
    }))
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

/// Order of job states: a job never moves to a lower rank.
fn state_rank(state: &str) -> u8 {
    match state {
        "queued" => 0,
        "delivered" => 1,
        "received" => 2,
        "spooled" => 3,
        _ => 4,
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
mod tests {
    use super::*;

    fn synchronous(store: &Store) -> i64 {
        store
            .db
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap_or(-1)
    }

    /// Queues `jobs` in one batch; what each came to.
    fn insert_jobs(
        store: &mut Store,
        jobs: &[NewJob],
        now: u64,
    ) -> Result<Vec<Inserted>, StoreError> {
        let writes: Vec<Write<'_>> = jobs.iter().map(Write::Job).collect();
        Ok(store
            .write(&writes, now)?
            .into_iter()
            .filter_map(|w| match w {
                Written::Job(inserted) => Some(inserted),
                Written::Status(_) => None,
            })
            .collect())
    }

    fn new_job(job_id: &str, client_id: &str) -> NewJob {
        NewJob {
            job_id: job_id.into(),
            client_id: client_id.into(),
            payload: serde_json::json!({"jobId": job_id}).to_string(),
            expires_at: None,
        }
    }

    /// One batch: new ids are created in order, a taken id (stored before, or earlier in
    /// the same batch) keeps its job and tells its state.
    #[test]
    fn a_batch_queues_new_jobs_and_leaves_taken_ids_alone() -> Result<(), StoreError> {
        let mut store = Store::open(Path::new(":memory:"))?;
        insert_jobs(&mut store, &[new_job("old", "pc-1")], 1)?;
        store.delivered(&["old".to_owned()], "sid-1", 2)?;
        let mut again = new_job("a", "pc-2");
        again.payload = "{}".into();
        let inserted = insert_jobs(
            &mut store,
            &[
                new_job("a", "pc-1"),
                new_job("old", "pc-1"),
                again,
                new_job("b", "pc-1"),
            ],
            3,
        )?;
        assert_eq!(
            inserted,
            [
                Inserted::Created,
                Inserted::Exists("delivered".into()),
                Inserted::Exists("queued".into()),
                Inserted::Created
            ]
        );
        // The first `a` won: its client and payload are the stored ones.
        let a = store.deliverable("pc-1", "sid-2")?;
        let ids: Vec<&str> = a.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["old", "a", "b"]);
        assert_eq!(a[1].1, serde_json::json!({"jobId": "a"}));
        assert!(store.deliverable("pc-2", "sid-3")?.is_empty());
        Ok(())
    }

    /// Jobs and statuses in one batch apply in order: a status may follow its job's
    /// submission in the same commit; one for an unknown job or that goes back changes nothing.
    #[test]
    fn a_batch_applies_jobs_and_statuses_in_order() -> Result<(), StoreError> {
        let mut store = Store::open(Path::new(":memory:"))?;
        let job = new_job("a", "pc-1");
        let received = serde_json::json!({"jobId": "a", "state": "received"});
        let spooled = serde_json::json!({"jobId": "a", "state": "spooled"});
        let unknown = serde_json::json!({"jobId": "nope", "state": "completed"});
        let written = store.write(
            &[
                Write::Job(&job),
                Write::Status(&spooled),
                Write::Status(&received),
                Write::Status(&unknown),
            ],
            1,
        )?;
        let moved: Vec<Option<String>> = written
            .iter()
            .map(|w| match w {
                Written::Job(inserted) => Some(format!("{inserted:?}")),
                Written::Status(change) => change.as_ref().map(|c| c.state.clone()),
            })
            .collect();
        assert_eq!(
            moved,
            [Some("Created".into()), Some("spooled".into()), None, None]
        );
        let stored = store.job("a")?.map(|j| (j.state, j.events.len()));
        assert_eq!(stored, Some(("spooled".into(), 2)));
        Ok(())
    }

    /// Marking a delivery: queued jobs change to `delivered`, re-sent ones and jobs that
    /// moved on meanwhile do not change.
    #[test]
    fn delivered_changes_only_queued_jobs() -> Result<(), StoreError> {
        let mut store = Store::open(Path::new(":memory:"))?;
        let jobs = ["q", "d", "c"].map(|id| new_job(id, "pc-1"));
        insert_jobs(&mut store, &jobs, 1)?;
        store.delivered(&["d".to_owned(), "c".to_owned()], "sid-1", 2)?;
        let completed = serde_json::json!({"jobId": "c", "state": "completed"});
        store.write(&[Write::Status(&completed)], 3)?;
        let ids = ["q", "d", "c"].map(String::from);
        let changes = store.delivered(&ids, "sid-2", 4)?;
        assert_eq!(
            changes
                .iter()
                .map(|c| (c.job_id.as_str(), c.client_id.as_str()))
                .collect::<Vec<_>>(),
            [("q", "pc-1")]
        );
        let states: Vec<String> = ids
            .iter()
            .map(|id| {
                store
                    .job(id)
                    .map(|j| j.map(|j| j.state).unwrap_or_default())
            })
            .collect::<Result<_, _>>()?;
        assert_eq!(states, ["delivered", "delivered", "completed"]);
        // `d` was re-sent on sid-2, so that socket is not sent it again.
        assert!(store.deliverable("pc-1", "sid-2")?.is_empty());
        Ok(())
    }

    /// Presence and `delivered` skip the fsync; every other write keeps it (FULL = 2).
    #[test]
    fn writes_without_fsync_leave_full_durability_in_force() -> Result<(), StoreError> {
        let mut store = Store::open(Path::new(":memory:"))?;
        assert_eq!(synchronous(&store), 2);
        store.client_online("pc-1", "sid-1", 1)?;
        store.client_info("pc-1", &serde_json::json!({"printers": []}), 2)?;
        insert_jobs(&mut store, &[new_job("job-1", "pc-1")], 3)?;
        let changes = store.delivered(&["job-1".to_owned()], "sid-1", 4)?;
        assert_eq!(
            changes.into_iter().map(|c| c.state).collect::<Vec<_>>(),
            ["delivered"]
        );
        assert!(store.client_offline("pc-1", "sid-1", 5)?);
        assert_eq!(synchronous(&store), 2);
        // And what was written without an fsync is there.
        let client = store.client("pc-1")?;
        assert_eq!(
            client.map(|c| (c.connected, c.info.is_some())),
            Some((false, true))
        );
        Ok(())
    }
}
