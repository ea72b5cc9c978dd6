//! Reading jobs back: one record, the newest, the unfinished ones, a filtered page of the
//! history, a job with its document (to print it, or print it again).

use super::*;

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

impl Store {
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
                submit_started: row.get::<_, Option<i64>>("submit_started_at")?.is_some(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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
}

pub(super) const RECORD_COLUMNS: &str = "job_id, title, printer, state, size_bytes, copies, received_at, updated_at, spooler_job_id, error_code, error_message, reprint_of, content_type";

pub(super) fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
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
        kind: DocumentKind::parse(&row.get::<_, String>(12)?),
    })
}
/// One job's record.
pub(super) fn record_of(db: &Connection, job_id: &str) -> rusqlite::Result<Option<JobRecord>> {
    db.query_row(
        &format!("SELECT {RECORD_COLUMNS} FROM jobs WHERE job_id = ?1"),
        params![job_id],
        record_from_row,
    )
    .optional()
}
