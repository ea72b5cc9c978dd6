//! Storing jobs as they arrive and their state changes (each with its status queued for
//! the server in the same transaction), and pruning the history.

use super::*;

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

impl Store {
    /// Stores new jobs in state `received`, each with its status in the outbox, or
    /// reports the existing record of a known id. Jobs that arrive together (a burst, or
    /// a queue sent on reconnect) share one commit, so one wait for the disk. All or none
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
            kind: None,
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

/// Stores one new job in `tx` (see [`Store::insert_all`]).
pub(super) fn insert_job(
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
        kind: Some(DocumentKind::of(&job.document)),
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
pub(super) fn write_transition(db: &mut Connection, record: &JobRecord) -> rusqlite::Result<()> {
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
