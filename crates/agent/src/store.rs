//! The agent's durable store (SQLite, WAL): jobs and, apart, their documents, every status
//! transition in an outbox until the server has it, and connection events.
//!
//! Blocking: the async side calls it through `spawn_blocking` (see [`crate::jobs`]).

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::connection::EpochMillis;
use crate::jobs::JobRecord;
use crate::protocol::{Document, ErrorCode, JobError, PrintJob, RemoteKind};
use crate::protocol::{JobState, JobStatus};

/// Schema migrations, applied in order; `PRAGMA user_version` counts the applied ones.
const MIGRATIONS: &[&str] = &[
    // 1: jobs, status outbox, connection events.
    "CREATE TABLE jobs (
        job_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        requested_printer TEXT,
        printer TEXT,
        state TEXT NOT NULL,
        content_type TEXT NOT NULL,
        content BLOB NOT NULL,
        size_bytes INTEGER NOT NULL,
        copies INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        submit_started_at INTEGER,
        spooler_job_id INTEGER,
        error_code TEXT,
        error_message TEXT,
        options TEXT NOT NULL DEFAULT '{}',
        expires_at INTEGER
    );
    CREATE INDEX jobs_state ON jobs(state);
    CREATE INDEX jobs_received_at ON jobs(received_at);
    CREATE TABLE status_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        status TEXT NOT NULL
    );
    CREATE TABLE connection_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        event TEXT NOT NULL
    );",
    // 2: reprints link to the job they reprint.
    "ALTER TABLE jobs ADD COLUMN reprint_of TEXT;",
    // 3: who asked for the job (a test page or reprint at this PC may use any printer,
    // also after a restart).
    "ALTER TABLE jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'server';",
    // 4: documents in a table of their own: SQLite rewrites a whole row on every update,
    // and a job's state changes must not copy (and write again) a document of many MB.
    "CREATE TABLE documents (
        job_id TEXT PRIMARY KEY,
        content BLOB NOT NULL
    );
    INSERT INTO documents (job_id, content) SELECT job_id, content FROM jobs WHERE content_type != 'none';
    ALTER TABLE jobs DROP COLUMN content;",
];

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

/// A filter over the job history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JobQuery {
    /// Any of these states (empty: all).
    pub states: Vec<JobState>,
    pub printer: Option<String>,
    /// Part of the job id or title.
    pub text: Option<String>,
    /// Received at or after (ms since epoch).
    pub since: Option<EpochMillis>,
    /// Received before (ms since epoch).
    pub until: Option<EpochMillis>,
    pub offset: usize,
    /// Page size, 1..=1000.
    pub limit: usize,
}

impl Default for JobQuery {
    fn default() -> Self {
        Self {
            states: Vec::new(),
            printer: None,
            text: None,
            since: None,
            until: None,
            offset: 0,
            limit: 50,
        }
    }
}

/// One page of a [`JobQuery`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobPage {
    pub jobs: Vec<JobRecord>,
    /// Matching jobs in all pages.
    pub total: u64,
}

/// A stored connection event: when, and the connection state it entered.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionEvent {
    pub at: EpochMillis,
    pub event: Value,
}

/// What inserting a job found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// A new job, stored; its record.
    New(JobRecord),
    /// The job id was known: here is its record; nothing was stored.
    Duplicate(JobRecord),
}

/// A job that was not finished when the agent stopped.
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub record: JobRecord,
    /// True when the agent may have handed it to the spooler before it stopped.
    pub submit_started: bool,
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

    /// Stores a new job in state `received` with its status in the outbox, or reports
    /// the existing record when the id is known.
    pub fn insert(
        &mut self,
        job: &PrintJob,
        reprint_of: Option<&str>,
        at: EpochMillis,
    ) -> Result<Inserted, StoreError> {
        let mut inserted = self.insert_all(&[(job.clone(), reprint_of.map(str::to_owned))], at)?;
        Ok(inserted.remove(0))
    }

    /// [`Store::insert`] for jobs that arrived together (a burst, or a queue sent on
    /// reconnect): one commit, so one wait for the disk, for all of them. All or none
    /// are stored; the answers come in the order of `jobs`.
    pub fn insert_all(
        &mut self,
        jobs: &[(PrintJob, Option<String>)],
        at: EpochMillis,
    ) -> Result<Vec<Inserted>, StoreError> {
        let tx = self.db.transaction()?;
        let mut inserted = Vec::with_capacity(jobs.len());
        for (job, reprint_of) in jobs {
            inserted.push(insert_job(&tx, job, reprint_of.as_deref(), at)?);
        }
        tx.commit()?;
        Ok(inserted)
    }

    /// Stores a job that never became printable (bad payload) as `rejected`, unless known.
    pub fn insert_rejected(
        &mut self,
        job_id: &str,
        error: &JobError,
        at: EpochMillis,
    ) -> Result<Inserted, StoreError> {
        if let Some(existing) = self.get(job_id)? {
            return Ok(Inserted::Duplicate(existing));
        }
        let record = JobRecord {
            job_id: job_id.to_owned(),
            title: String::new(),
            printer: None,
            state: JobState::Rejected,
            size_bytes: 0,
            copies: 0,
            received_at: at,
            updated_at: at,
            spooler_job_id: None,
            error: Some(error.clone()),
            reprint_of: None,
        };
        let tx = self.db.transaction()?;
        tx.execute(
            "INSERT INTO jobs (job_id, title, state, content_type, size_bytes, copies,
                received_at, updated_at, error_code, error_message)
             VALUES (?1, '', 'rejected', 'none', 0, 0, ?2, ?2, ?3, ?4)",
            params![job_id, at as i64, code_text(error.code), error.message],
        )?;
        push_status(&tx, &record)?;
        tx.commit()?;
        Ok(Inserted::New(record))
    }

    /// Notes, before the spooler call, that the job may reach the spooler.
    pub fn mark_submit_started(
        &mut self,
        job_id: &str,
        printer: &str,
        at: EpochMillis,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE jobs SET submit_started_at = ?2, printer = ?3 WHERE job_id = ?1",
            params![job_id, at as i64, printer],
        )?;
        Ok(())
    }

    /// Stores a state transition and queues its status for the server. Once the job is
    /// in the spooler (it has a spooler id) this does not wait for the disk: after a power
    /// cut the agent asks the spooler again (see [`Store::unfinished`]).
    pub fn transition(&mut self, record: &JobRecord) -> Result<(), StoreError> {
        if record.spooler_job_id.is_some() {
            self.without_fsync(|db| write_transition(db, record))
        } else {
            Ok(write_transition(&mut self.db, record)?)
        }
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

    /// One job's record.
    pub fn get(&self, job_id: &str) -> Result<Option<JobRecord>, StoreError> {
        Ok(record_of(&self.db, job_id)?)
    }

    /// The newest `limit` jobs, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        let mut statement = self.db.prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM jobs ORDER BY received_at DESC, rowid DESC LIMIT ?1"
        ))?;
        let rows = statement.query_map(params![limit as i64], record_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Jobs in `received` or `spooled`, oldest first, without their documents (read
    /// each with [`Store::load_job`] when it is its turn to print).
    pub fn unfinished(&self) -> Result<Vec<Unfinished>, StoreError> {
        let mut statement = self.db.prepare(&format!(
            "SELECT {RECORD_COLUMNS}, submit_started_at
             FROM jobs WHERE state IN ('received', 'spooled') ORDER BY received_at, rowid"
        ))?;
        let rows = statement.query_map([], |row| {
            Ok(Unfinished {
                record: record_from_row(row)?,
                submit_started: row.get::<_, Option<i64>>(12)?.is_some(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Queues a status that is not a stored transition (a duplicate delivery's answer).
    pub fn queue_status(&mut self, status: &JobStatus) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO status_outbox (job_id, status) VALUES (?1, ?2)",
            params![status.job_id, serde_json::json!(status).to_string()],
        )?;
        Ok(())
    }

    /// The stored job with its document and settings: to print it, or to print it again.
    /// `None` when there is no such job or its document cannot be read back.
    pub fn load_job(&self, job_id: &str) -> Result<Option<PrintJob>, StoreError> {
        let row = self
            .db
            .query_row(
                "SELECT title, requested_printer, content_type, documents.rowid, copies, options,
                    expires_at, origin
                 FROM jobs JOIN documents USING (job_id) WHERE job_id = ?1",
                params![job_id],
                |row| {
                    Ok((
                        (row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?),
                        (row.get::<_, String>(2)?, row.get::<_, i64>(3)?),
                        (row.get::<_, u32>(4)?, row.get::<_, String>(5)?),
                        (row.get::<_, Option<i64>>(6)?, row.get::<_, String>(7)?),
                    ))
                },
            )
            .optional()?;
        let Some((
            (title, printer),
            (content_type, document),
            (copies, options),
            (expires_at, origin),
        )) = row
        else {
            return Ok(None);
        };
        // Read in place rather than as a column value, which SQLite would copy first.
        let blob = self
            .db
            .blob_open(rusqlite::MAIN_DB, "documents", "content", document, true)?;
        let mut content = vec![0; blob.len()];
        blob.read_at_exact(&mut content, 0)?;
        blob.close()?;
        Ok(
            decode_document(&content_type, content).map(|document| PrintJob {
                job_id: job_id.to_owned(),
                title,
                document,
                printer,
                copies: copies.max(1),
                options: serde_json::from_str(&options).unwrap_or_default(),
                expires_at: expires_at
                    .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()),
                origin: match origin.as_str() {
                    "local" => crate::protocol::Origin::Local,
                    _ => crate::protocol::Origin::Server,
                },
            }),
        )
    }

    /// Jobs matching `query`, newest first, and how many match in all.
    pub fn query(&self, query: &JobQuery) -> Result<JobPage, StoreError> {
        let mut clauses = vec!["1 = 1".to_owned()];
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if !query.states.is_empty() {
            let marks = vec!["?"; query.states.len()].join(", ");
            clauses.push(format!("state IN ({marks})"));
            values.extend(query.states.iter().map(|s| state_text(*s).into()));
        }
        if let Some(printer) = &query.printer {
            clauses.push("printer = ?".into());
            values.push(printer.clone().into());
        }
        if let Some(text) = query.text.as_ref().filter(|t| !t.is_empty()) {
            clauses.push("(job_id LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\')".into());
            let pattern = format!(
                "%{}%",
                text.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            values.push(pattern.clone().into());
            values.push(pattern.into());
        }
        if let Some(since) = query.since {
            clauses.push("received_at >= ?".into());
            values.push((since as i64).into());
        }
        if let Some(until) = query.until {
            clauses.push("received_at < ?".into());
            values.push((until as i64).into());
        }
        let filter = clauses.join(" AND ");
        let total: i64 = self.db.query_row(
            &format!("SELECT COUNT(*) FROM jobs WHERE {filter}"),
            rusqlite::params_from_iter(values.iter()),
            |row| row.get(0),
        )?;
        values.push((query.limit.clamp(1, 1000) as i64).into());
        values.push((query.offset as i64).into());
        let mut statement = self.db.prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM jobs WHERE {filter} ORDER BY received_at DESC, rowid DESC LIMIT ? OFFSET ?"
        ))?;
        let jobs = statement
            .query_map(rusqlite::params_from_iter(values.iter()), record_from_row)?
            .collect::<Result<_, _>>()?;
        Ok(JobPage {
            jobs,
            total: total as u64,
        })
    }

    /// Up to `limit` statuses the server does not have yet, oldest first, after outbox id
    /// `after`: (outbox id, `job_status` payload).
    pub fn pending_statuses(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Value)>, StoreError> {
        let mut statement = self.db.prepare_cached(
            "SELECT id, status FROM status_outbox WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = statement.query_map(params![after, limit as i64], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut pending = Vec::new();
        for row in rows {
            let (id, text) = row?;
            pending.push((id, serde_json::from_str(&text).unwrap_or(Value::Null)));
        }
        Ok(pending)
    }

    /// Removes statuses the server acknowledged, without waiting for the disk: after a
    /// power cut they go out again, and a status that does not move a job on leaves its
    /// state.
    pub fn statuses_acked(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        self.without_fsync(|db| {
            let mut delete = db.prepare_cached("DELETE FROM status_outbox WHERE id = ?1")?;
            for id in ids {
                delete.execute(params![id])?;
            }
            Ok(())
        })
    }

    /// Removes, for each (outbox id, job id), that job's statuses up to that id: sent to a
    /// server that never acks, on a connection that stayed up after the job's final one.
    pub fn statuses_settled(&mut self, settled: &[(i64, String)]) -> Result<(), StoreError> {
        self.without_fsync(|db| {
            let mut delete =
                db.prepare_cached("DELETE FROM status_outbox WHERE job_id = ?1 AND id <= ?2")?;
            for (id, job_id) in settled {
                delete.execute(params![job_id, id])?;
            }
            Ok(())
        })
    }

    /// Appends a connection event (a state change worth showing in the history).
    pub fn record_connection_event(
        &mut self,
        at: EpochMillis,
        event: &Value,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO connection_events (at, event) VALUES (?1, ?2)",
            params![at as i64, event.to_string()],
        )?;
        Ok(())
    }

    /// The newest `limit` connection events, newest first.
    pub fn recent_connection_events(
        &self,
        limit: usize,
    ) -> Result<Vec<ConnectionEvent>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT at, event FROM connection_events ORDER BY id DESC LIMIT ?1")?;
        let rows = statement.query_map(params![limit as i64], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (at, text) = row?;
            events.push(ConnectionEvent {
                at: at as u64,
                event: serde_json::from_str(&text).unwrap_or(Value::Null),
            });
        }
        Ok(events)
    }

    /// Keeps the newest `keep` finished jobs and drops the older finished ones.
    /// Unfinished jobs (received, spooled) are never removed and do not count
    /// towards `keep`: they still have work to do. Also keeps the newest `keep`
    /// connection events.
    pub fn prune(&mut self, keep: usize) -> Result<usize, StoreError> {
        self.db.execute(
            "DELETE FROM connection_events WHERE id NOT IN
                (SELECT id FROM connection_events ORDER BY id DESC LIMIT ?1)",
            params![keep as i64],
        )?;
        let tx = self.db.transaction()?;
        let pruned = tx.execute(
            "DELETE FROM jobs WHERE state NOT IN ('received', 'spooled') AND job_id NOT IN
                (SELECT job_id FROM jobs WHERE state NOT IN ('received', 'spooled')
                 ORDER BY received_at DESC, rowid DESC LIMIT ?1)",
            params![keep as i64],
        )?;
        tx.execute(
            "DELETE FROM documents WHERE job_id NOT IN (SELECT job_id FROM jobs)",
            [],
        )?;
        tx.commit()?;
        Ok(pruned)
    }
}

const RECORD_COLUMNS: &str = "job_id, title, printer, state, size_bytes, copies, received_at, updated_at, spooler_job_id, error_code, error_message, reprint_of";

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    let state: String = row.get(3)?;
    let code: Option<String> = row.get(9)?;
    let message: Option<String> = row.get(10)?;
    Ok(JobRecord {
        job_id: row.get(0)?,
        title: row.get(1)?,
        printer: row.get(2)?,
        state: parse_state(&state),
        size_bytes: row.get::<_, i64>(4)? as u64,
        copies: row.get(5)?,
        received_at: row.get::<_, i64>(6)? as u64,
        updated_at: row.get::<_, i64>(7)? as u64,
        spooler_job_id: row.get::<_, Option<i64>>(8)?.map(|id| id as u64),
        error: code.map(|code| JobError {
            code: parse_code(&code),
            message: message.unwrap_or_default(),
        }),
        reprint_of: row.get(11)?,
    })
}

/// Stores one new job in `tx` (see [`Store::insert_all`]).
fn insert_job(
    tx: &rusqlite::Transaction<'_>,
    job: &PrintJob,
    reprint_of: Option<&str>,
    at: EpochMillis,
) -> rusqlite::Result<Inserted> {
    if let Some(existing) = record_of(tx, &job.job_id)? {
        return Ok(Inserted::Duplicate(existing));
    }
    let (content_type, content) = encode_document(&job.document);
    let record = JobRecord {
        job_id: job.job_id.clone(),
        title: job.title.clone(),
        printer: None,
        state: JobState::Received,
        size_bytes: job.document.bytes().len() as u64,
        copies: job.copies,
        received_at: at,
        updated_at: at,
        spooler_job_id: None,
        error: None,
        reprint_of: reprint_of.map(str::to_owned),
    };
    tx.execute(
        "INSERT INTO jobs (job_id, title, requested_printer, state, content_type,
            size_bytes, copies, received_at, updated_at, options, expires_at, reprint_of, origin)
         VALUES (?1, ?2, ?3, 'received', ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11)",
        params![
            job.job_id,
            job.title,
            job.printer,
            content_type,
            record.size_bytes as i64,
            job.copies,
            at as i64,
            serde_json::to_string(&job.options).unwrap_or_else(|_| "{}".into()),
            job.expires_at.map(|t| t.unix_timestamp()),
            reprint_of,
            match job.origin {
                crate::protocol::Origin::Server => "server",
                crate::protocol::Origin::Local => "local",
            },
        ],
    )?;
    // Written in place rather than bound as a parameter, which SQLite would copy first:
    // a document at the size cap is then held once, not twice.
    tx.execute(
        "INSERT INTO documents (job_id, content) VALUES (?1, zeroblob(?2))",
        params![job.job_id, content.len() as i64],
    )?;
    let rowid = tx.last_insert_rowid();
    let mut blob = tx.blob_open(rusqlite::MAIN_DB, "documents", "content", rowid, false)?;
    blob.write_all_at(content, 0)?;
    blob.close()?;
    push_status(tx, &record)?;
    Ok(Inserted::New(record))
}

/// Stores `record`'s new state with its status in the outbox, in one transaction.
fn write_transition(db: &mut Connection, record: &JobRecord) -> rusqlite::Result<()> {
    let tx = db.transaction()?;
    tx.execute(
        "UPDATE jobs SET state = ?2, printer = ?3, spooler_job_id = ?4, updated_at = ?5,
            error_code = ?6, error_message = ?7 WHERE job_id = ?1",
        params![
            record.job_id,
            state_text(record.state),
            record.printer,
            record.spooler_job_id.map(|id| id as i64),
            record.updated_at as i64,
            record.error.as_ref().map(|e| code_text(e.code)),
            record.error.as_ref().map(|e| e.message.clone()),
        ],
    )?;
    push_status(&tx, record)?;
    tx.commit()
}

/// One job's record.
fn record_of(db: &Connection, job_id: &str) -> rusqlite::Result<Option<JobRecord>> {
    db.query_row(
        &format!("SELECT {RECORD_COLUMNS} FROM jobs WHERE job_id = ?1"),
        params![job_id],
        record_from_row,
    )
    .optional()
}

fn push_status(tx: &rusqlite::Transaction<'_>, record: &JobRecord) -> rusqlite::Result<()> {
    let status = serde_json::json!(crate::jobs::job_status(record, false)).to_string();
    tx.execute(
        "INSERT INTO status_outbox (job_id, status) VALUES (?1, ?2)",
        params![record.job_id, status],
    )?;
    Ok(())
}

fn encode_document(document: &Document) -> (&'static str, &[u8]) {
    match document {
        Document::Text(text) => ("text", text.as_bytes()),
        Document::Raw(bytes) => ("raw", bytes),
        Document::Pdf(bytes) => ("pdf", bytes),
        Document::Remote {
            url,
            kind: RemoteKind::Pdf,
        } => ("pdf_uri", url.as_str().as_bytes()),
        Document::Remote {
            url,
            kind: RemoteKind::Raw,
        } => ("raw_uri", url.as_str().as_bytes()),
    }
}

fn decode_document(content_type: &str, content: Vec<u8>) -> Option<Document> {
    let remote = |content: Vec<u8>, kind| {
        let url = url::Url::parse(&String::from_utf8(content).ok()?).ok()?;
        Some(Document::Remote { url, kind })
    };
    match content_type {
        "text" => String::from_utf8(content).ok().map(Document::Text),
        "raw" => Some(Document::Raw(content)),
        "pdf" => Some(Document::Pdf(content)),
        "pdf_uri" => remote(content, RemoteKind::Pdf),
        "raw_uri" => remote(content, RemoteKind::Raw),
        _ => None,
    }
}

fn as_text<T: serde::Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        _ => String::new(),
    }
}

fn state_text(state: JobState) -> String {
    as_text(state)
}

fn code_text(code: ErrorCode) -> String {
    as_text(code)
}

fn parse_state(text: &str) -> JobState {
    serde_json::from_value(Value::String(text.to_owned())).unwrap_or(JobState::Failed)
}

fn parse_code(text: &str) -> ErrorCode {
    serde_json::from_value(Value::String(text.to_owned())).unwrap_or(ErrorCode::PrintFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> PrintJob {
        PrintJob {
            job_id: id.into(),
            title: "T".into(),
            document: Document::Text("hello".into()),
            printer: Some("Q".into()),
            copies: 2,
            options: crate::protocol::PrintOptions {
                media: Some("A4".into()),
                ..Default::default()
            },
            expires_at: None,
            origin: crate::protocol::Origin::Server,
        }
    }

    #[test]
    fn a_known_job_id_is_a_duplicate_and_nothing_is_stored_twice() {
        let mut store = Store::in_memory().expect("store");
        assert!(matches!(
            store.insert(&job("a"), None, 1).expect("insert"),
            Inserted::New(record) if record.state == JobState::Received && record.received_at == 1
        ));
        match store.insert(&job("a"), None, 2).expect("insert") {
            Inserted::Duplicate(record) => assert_eq!(record.received_at, 1),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(store.recent(10).expect("recent").len(), 1);
        assert_eq!(store.pending_statuses(0, 10).expect("outbox").len(), 1);
    }

    /// `field` of each status waiting in the outbox, oldest first.
    fn outbox_field(store: &Store, field: &str) -> Vec<Value> {
        store
            .pending_statuses(0, 10)
            .expect("outbox")
            .into_iter()
            .map(|(_, s)| s[field].clone())
            .collect()
    }

    #[test]
    fn jobs_that_arrive_together_are_stored_in_order_and_repeats_are_duplicates() {
        let mut store = Store::in_memory().expect("store");
        store.insert(&job("a"), None, 1).expect("insert");
        let batch = [
            (job("b"), None),
            (job("a"), None),
            (job("c"), Some("b".to_owned())),
            (job("b"), None),
        ];
        let inserted = store.insert_all(&batch, 2).expect("insert all");
        let kinds: Vec<(&str, &str)> = inserted
            .iter()
            .map(|i| match i {
                Inserted::New(r) => ("new", r.job_id.as_str()),
                Inserted::Duplicate(r) => ("duplicate", r.job_id.as_str()),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("new", "b"),
                ("duplicate", "a"),
                ("new", "c"),
                ("duplicate", "b")
            ]
        );
        let outbox = outbox_field(&store, "jobId");
        assert_eq!(outbox, ["a", "b", "c"]);
        let reprint = store.get("c").expect("get").expect("stored");
        assert_eq!(reprint.reprint_of.as_deref(), Some("b"));
    }

    #[test]
    fn writes_the_spooler_can_redo_leave_full_durability_in_force() {
        let mut store = Store::in_memory().expect("store");
        store.insert(&job("a"), None, 1).expect("insert");
        let mut record = store.get("a").expect("get").expect("exists");
        record.state = JobState::Spooled;
        record.spooler_job_id = Some(7);
        store.transition(&record).expect("transition");
        store.statuses_acked(&[1]).expect("acked");
        let synchronous: i64 = store
            .db
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("pragma");
        assert_eq!(synchronous, 2, "FULL again for the next write");
        assert_eq!(
            store.get("a").expect("get").map(|r| r.state),
            Some(JobState::Spooled)
        );
    }

    #[test]
    fn transitions_are_stored_and_queued_in_order() {
        let mut store = Store::in_memory().expect("store");
        store.insert(&job("a"), None, 1).expect("insert");
        let mut record = store.get("a").expect("get").expect("exists");
        record.state = JobState::Spooled;
        record.printer = Some("Q".into());
        record.spooler_job_id = Some(7);
        store.transition(&record).expect("transition");
        record.state = JobState::Completed;
        store.transition(&record).expect("transition");
        let states = outbox_field(&store, "state");
        assert_eq!(states, ["received", "spooled", "completed"]);
        let pending = store.pending_statuses(0, 10).expect("outbox");
        let ids: Vec<i64> = pending.iter().map(|(id, _)| *id).collect();
        // Acked out of order: exactly the acked one goes.
        store.statuses_acked(&[ids[1]]).expect("acked");
        let left: Vec<i64> = store
            .pending_statuses(0, 10)
            .expect("outbox")
            .iter()
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(left, [ids[0], ids[2]]);
        assert_eq!(store.pending_statuses(ids[0], 10).expect("after").len(), 1);
        // Settled by job: everything of `a` up to the final one.
        store
            .statuses_settled(&[(ids[2], "a".into())])
            .expect("settled");
        assert!(store.pending_statuses(0, 10).expect("outbox").is_empty());
        assert_eq!(
            store.get("a").expect("get").map(|r| r.spooler_job_id),
            Some(Some(7))
        );
    }

    #[test]
    fn unfinished_jobs_come_back_and_their_documents_load() {
        let mut store = Store::in_memory().expect("store");
        store.insert(&job("a"), None, 1).expect("insert");
        store.insert(&job("b"), None, 2).expect("insert");
        store.mark_submit_started("b", "Q", 3).expect("mark");
        let mut test_page = job("c");
        test_page.origin = crate::protocol::Origin::Local;
        store.insert(&test_page, None, 4).expect("insert");
        let unfinished = store.unfinished().expect("unfinished");
        assert_eq!(unfinished.len(), 3);
        assert_eq!(unfinished[0].record.job_id, "a");
        assert!(!unfinished[0].submit_started);
        assert!(unfinished[1].submit_started);
        assert_eq!(store.load_job("a").expect("load"), Some(job("a")));
        // A test page stays the user's own after a restart (any printer allowed).
        assert_eq!(store.load_job("c").expect("load"), Some(test_page));
    }

    #[test]
    fn survives_reopening_and_refuses_a_newer_schema() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("agent.db");
        Store::open(&path)
            .expect("open")
            .insert(&job("a"), None, 1)
            .expect("insert");
        assert!(Store::open(&path)
            .expect("reopen")
            .get("a")
            .expect("get")
            .is_some());
        let db = Connection::open(&path).expect("raw");
        db.pragma_update(None, "user_version", 99).expect("bump");
        drop(db);
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    fn finish(store: &mut Store, id: &str, state: JobState) {
        let mut record = store.get(id).expect("get").expect("exists");
        record.state = state;
        store.transition(&record).expect("transition");
    }

    fn ids(store: &Store) -> Vec<String> {
        let mut ids: Vec<String> = store
            .db
            .prepare("SELECT job_id FROM jobs")
            .expect("prepare")
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        ids.sort();
        ids
    }

    #[test]
    fn pruning_removes_the_oldest_finished_jobs_beyond_the_limit() {
        let mut store = Store::in_memory().expect("store");
        for i in 0..5 {
            store
                .insert(&job(&format!("j{i}")), None, i)
                .expect("insert");
        }
        finish(&mut store, "j0", JobState::Completed);
        finish(&mut store, "j1", JobState::Failed);
        finish(&mut store, "j2", JobState::Cancelled);
        finish(&mut store, "j3", JobState::Completed);
        assert_eq!(store.prune(2).expect("prune"), 2);
        // j0 and j1 were the oldest finished jobs; j4 is still received.
        assert_eq!(ids(&store), ["j2", "j3", "j4"]);
        assert_eq!(
            store.prune(2).expect("prune again"),
            0,
            "nothing left to prune"
        );
    }

    #[test]
    fn pruning_keeps_unfinished_jobs_and_does_not_count_them() {
        let mut store = Store::in_memory().expect("store");
        for i in 0..5 {
            store
                .insert(&job(&format!("j{i}")), None, i)
                .expect("insert");
        }
        // The two oldest are finished; the newer three are still received or spooled.
        finish(&mut store, "j0", JobState::Completed);
        finish(&mut store, "j1", JobState::Completed);
        let mut spooled = store.get("j3").expect("get").expect("exists");
        spooled.state = JobState::Spooled;
        store.transition(&spooled).expect("transition");
        // Counting the newer unfinished jobs towards the limit would remove both
        // finished ones; only j0 is beyond the newest finished one.
        assert_eq!(store.prune(1).expect("prune"), 1);
        assert_eq!(ids(&store), ["j1", "j2", "j3", "j4"]);
        assert_eq!(store.prune(0).expect("prune all finished"), 1);
        assert_eq!(
            ids(&store),
            ["j2", "j3", "j4"],
            "unfinished jobs are never pruned"
        );
    }
}

#[cfg(test)]
mod query_tests {
    use super::*;
    use crate::protocol::PrintOptions;

    fn job(id: &str, title: &str) -> PrintJob {
        PrintJob {
            job_id: id.into(),
            title: title.into(),
            document: Document::Raw(vec![1, 2, 3]),
            printer: None,
            copies: 1,
            options: PrintOptions::default(),
            expires_at: None,
            origin: crate::protocol::Origin::Server,
        }
    }

    #[test]
    fn filters_by_state_printer_text_time_and_pages() {
        let mut store = Store::in_memory().expect("store");
        for i in 0..30u64 {
            let title = if i % 3 == 0 {
                "Invoice 50%_off"
            } else {
                "Label"
            };
            store
                .insert(&job(&format!("j{i:02}"), title), None, 1000 + i)
                .expect("insert");
            let mut record = store
                .get(&format!("j{i:02}"))
                .expect("get")
                .expect("exists");
            record.state = if i % 2 == 0 {
                JobState::Completed
            } else {
                JobState::Failed
            };
            record.printer = Some(if i < 15 { "A" } else { "B" }.into());
            store.transition(&record).expect("transition");
        }
        let page = |q: JobQuery| store.query(&q).expect("query");
        assert_eq!(page(JobQuery::default()).total, 30);
        assert_eq!(page(JobQuery::default()).jobs[0].job_id, "j29");
        let failed = page(JobQuery {
            states: vec![JobState::Failed],
            ..JobQuery::default()
        });
        assert_eq!(failed.total, 15);
        assert!(failed.jobs.iter().all(|j| j.state == JobState::Failed));
        assert_eq!(
            page(JobQuery {
                printer: Some("B".into()),
                ..JobQuery::default()
            })
            .total,
            15
        );
        // LIKE wildcards in the search text are literal.
        assert_eq!(
            page(JobQuery {
                text: Some("50%_".into()),
                ..JobQuery::default()
            })
            .total,
            10
        );
        assert_eq!(
            page(JobQuery {
                text: Some("%".into()),
                ..JobQuery::default()
            })
            .total,
            10
        );
        assert_eq!(
            page(JobQuery {
                since: Some(1010),
                until: Some(1020),
                ..JobQuery::default()
            })
            .total,
            10
        );
        let second = page(JobQuery {
            offset: 10,
            limit: 10,
            ..JobQuery::default()
        });
        assert_eq!(second.jobs.len(), 10);
        assert_eq!(second.jobs[0].job_id, "j19");
    }

    #[test]
    fn a_stored_job_can_be_loaded_for_a_reprint() {
        let mut store = Store::in_memory().expect("store");
        store.insert(&job("orig", "T"), None, 1).expect("insert");
        let loaded = store.load_job("orig").expect("load").expect("exists");
        assert_eq!(loaded.document, Document::Raw(vec![1, 2, 3]));
        let mut copy = loaded;
        copy.job_id = "local-copy".into();
        store.insert(&copy, Some("orig"), 2).expect("insert");
        assert_eq!(
            store
                .get("local-copy")
                .expect("get")
                .and_then(|r| r.reprint_of),
            Some("orig".into())
        );
    }
}
