//! Jobs: queued in submission order, handed out for delivery, read back; waiting jobs
//! expire and old finished ones are purged.

use super::*;

impl Store {
    /// Up to `limit` jobs to send to a client's socket `sid` now, in order: queued ones,
    /// and ones delivered over an earlier connection that never got a status (the agent
    /// dedupes, so re-sending is safe) unless someone asked to cancel them (the agent is
    /// asked instead); none whose `expiresAt` passed.
    pub fn deliverable(
        &self,
        client_id: &str,
        sid: &str,
        now: u64,
        limit: usize,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        self.db.query(
            DELIVERABLE,
            args![client_id, sid, int(now), int(limit as u64)],
            |row| Ok((row.text(0)?, json_or_null(&row.text(1)?))),
        )
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
        self.without_fsync(|tx| mark_delivered(tx, job_ids, sid, now))
    }

    /// Hands `client_id`'s next deliverable jobs (as [`Store::deliverable`] picks them) to
    /// `send`, which answers the ids its socket `sid` took; those are marked as
    /// [`Store::delivered`] does. On PostgreSQL this is a claim: the jobs are selected
    /// `FOR UPDATE SKIP LOCKED` and marked in the same transaction, with the `NOTIFY`s
    /// `notices` makes of the changes, so two nodes never send one job at once (a job
    /// another node is sending is skipped; once marked, it is no longer queued).
    pub fn claim(
        &mut self,
        client_id: &str,
        sid: &str,
        now: u64,
        limit: usize,
        send: impl FnOnce(Vec<(String, Value)>) -> Vec<String>,
        notices: impl FnOnce(&[StateChange]) -> Vec<String>,
    ) -> Result<Vec<StateChange>, StoreError> {
        if let Db::Sqlite(_) = self.db {
            // One writing connection: nothing else can take them meanwhile.
            let sent = send(self.deliverable(client_id, sid, now, limit)?);
            if sent.is_empty() {
                return Ok(Vec::new());
            }
            return self.delivered(&sent, sid, now);
        }
        self.announcing(Commit::Lazy, |tx| {
            let jobs = tx.query(
                &format!("{DELIVERABLE} FOR UPDATE SKIP LOCKED"),
                args![client_id, sid, int(now), int(limit as u64)],
                |row| Ok((row.text(0)?, json_or_null(&row.text(1)?))),
            )?;
            let sent = send(jobs);
            let changes = mark_delivered(tx, &sent, sid, now)?;
            let payloads = notices(&changes);
            Ok((changes, payloads))
        })
    }

    /// How many of `client_id`'s jobs wait for it (queued, or sent without an answer on an
    /// earlier connection), not counting those whose `expiresAt` passed.
    pub fn waiting(&self, client_id: &str, now: u64) -> Result<usize, StoreError> {
        let count = self.db.query_opt(
            "SELECT COUNT(*) FROM jobs WHERE client_id = ?1 AND state IN ('queued', 'delivered')
             AND (expires_at IS NULL OR expires_at > ?2)",
            args![client_id, int(now)],
            |row| row.uint(0),
        )?;
        Ok(count.unwrap_or(0) as usize)
    }

    /// How many of `client_id`'s jobs were sent on socket `sid` and not yet answered.
    pub fn in_flight(&self, client_id: &str, sid: &str) -> Result<usize, StoreError> {
        let count = self.db.query_opt(
            "SELECT COUNT(*) FROM jobs WHERE client_id = ?1 AND state = 'delivered'
             AND delivered_to = ?2",
            args![client_id, sid],
            |row| row.uint(0),
        )?;
        Ok(count.unwrap_or(0) as usize)
    }

    /// Jobs, newest first, as `query` selects them. Without status histories (ask for one
    /// job for that).
    pub fn jobs(&self, query: &JobQuery<'_>) -> Result<Vec<Job>, StoreError> {
        // A piece of an id, matched as it is: LIKE's wildcards in it are escaped.
        let text = query.text.map(|text| {
            text.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        });
        // Each parameter is typed where it first appears: PostgreSQL cannot tell the type
        // of a bare `$1 IS NULL`.
        self.db.query(
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs
                 WHERE (CAST(?1 AS TEXT) IS NULL OR client_id = ?1)
                   AND (CAST(?2 AS TEXT) IS NULL OR state = ?2)
                   AND (CAST(?5 AS TEXT) IS NULL OR lower(job_id) LIKE '%' || CAST(?5 AS TEXT) || '%' ESCAPE '\\'
                        OR lower(client_id) LIKE '%' || CAST(?5 AS TEXT) || '%' ESCAPE '\\')
                   AND (CAST(?6 AS BIGINT) IS NULL OR created_at >= ?6)
                   AND (CAST(?7 AS BIGINT) IS NULL OR created_at < ?7)
                 ORDER BY seq DESC LIMIT ?3 OFFSET ?4"
            ),
            args![
                query.client_id,
                query.state,
                query.limit.clamp(1, 1000) as i64,
                int(query.offset as u64),
                text.as_deref(),
                query.since.map(int),
                query.until.map(int),
            ],
            job_from_row,
        )
    }

    /// The client a job is for.
    pub fn job_client(&self, job_id: &str) -> Result<Option<String>, StoreError> {
        self.db.query_opt(
            "SELECT client_id FROM jobs WHERE job_id = ?1",
            args![job_id],
            |row| row.text(0),
        )
    }

    /// One job with its status history.
    pub fn job(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        let job = self.db.query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?1"),
            args![job_id],
            job_from_row,
        )?;
        let Some(mut job) = job else { return Ok(None) };
        job.events = self.db.query(
            "SELECT status FROM job_events WHERE job_id = ?1 ORDER BY id",
            args![job_id],
            |row| Ok(json_or_null(&row.text(0)?)),
        )?;
        Ok(Some(job))
    }
}

/// The jobs [`Store::deliverable`] gives, in order.
const DELIVERABLE: &str = "SELECT job_id, payload FROM jobs WHERE client_id = ?1
       AND (state = 'queued' OR (state = 'delivered' AND delivered_to IS DISTINCT FROM ?2
                                 AND cancel_requested_at IS NULL))
       AND (expires_at IS NULL OR expires_at > ?3)
     ORDER BY seq LIMIT ?4";

/// Marks `job_ids` as being sent on socket `sid` in `tx`; the changes of those that were
/// `queued` (a re-delivery keeps the state, a job that moved on meanwhile is left alone).
fn mark_delivered(
    tx: &Db,
    job_ids: &[String],
    sid: &str,
    now: u64,
) -> Result<Vec<StateChange>, StoreError> {
    let mut changes = Vec::new();
    for job_id in job_ids {
        let params = args![job_id, int(now), sid];
        let first = tx.query_opt(
            "UPDATE jobs SET state = 'delivered', updated_at = ?2, delivered_to = ?3,
                       delivered_at = COALESCE(delivered_at, ?2)
                     WHERE job_id = ?1 AND state = 'queued' RETURNING client_id",
            params,
            |row| row.text(0),
        )?;
        match first {
            Some(client_id) => changes.push(StateChange {
                job_id: job_id.clone(),
                client_id,
                state: "delivered".into(),
                error: None,
            }),
            None => {
                tx.execute(
                    "UPDATE jobs SET updated_at = ?2, delivered_to = ?3
                             WHERE job_id = ?1 AND state = 'delivered'",
                    params,
                )?;
            }
        }
    }
    Ok(changes)
}

/// Stored JSON text (written by the hub), or null should it not read.
pub(super) fn json_or_null(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// Queues one job in the transaction `tx`; a taken id leaves its job as it is.
pub(super) fn queue_job(tx: &Db, job: &NewJob, now: u64) -> Result<Inserted, StoreError> {
    let created = tx.execute(
        "INSERT INTO jobs (job_id, client_id, payload, state, created_at, updated_at, expires_at)
         VALUES (?1, ?2, ?3, 'queued', ?4, ?4, ?5) ON CONFLICT (job_id) DO NOTHING",
        args![
            &job.job_id,
            &job.client_id,
            &job.payload,
            int(now),
            job.expires_at.map(int)
        ],
    )? > 0;
    if created {
        return Ok(Inserted::Created);
    }
    let state = tx.query_opt(
        "SELECT state FROM jobs WHERE job_id = ?1",
        args![&job.job_id],
        |row| row.text(0),
    )?;
    Ok(Inserted::Exists(state.unwrap_or_default()))
}

/// Expires waiting jobs whose time passed and purges old finished ones, in `tx`.
pub(super) fn upkeep_in(
    tx: &Db,
    upkeep: &Upkeep,
    now: u64,
) -> Result<Vec<StateChange>, StoreError> {
    let expired = tx.query(
        "UPDATE jobs SET state = 'expired', updated_at = ?1
         WHERE state IN ('queued', 'delivered') AND expires_at IS NOT NULL AND expires_at <= ?1
         RETURNING job_id, client_id",
        args![int(now)],
        |row| {
            Ok(StateChange {
                job_id: row.text(0)?,
                client_id: row.text(1)?,
                state: "expired".into(),
                error: None,
            })
        },
    )?;
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
            args![int(before)],
        )?;
        tx.execute(
            &format!("DELETE FROM jobs WHERE {finished} AND updated_at <= ?1"),
            args![int(before)],
        )?;
    }
    Ok(expired)
}

/// The columns [`job_from_row`] reads, in its order.
pub(super) const JOB_COLUMNS: &str = "job_id, client_id, state, created_at, updated_at, \
     expires_at, error, delivered_at, cancel_requested_at";

pub(super) fn job_from_row(row: &Row<'_>) -> Result<Job, StoreError> {
    Ok(Job {
        job_id: row.text(0)?,
        client_id: row.text(1)?,
        state: row.text(2)?,
        created_at: row.uint(3)?,
        updated_at: row.uint(4)?,
        expires_at: row.opt_uint(5)?,
        error: row.opt_text(6)?.and_then(|e| serde_json::from_str(&e).ok()),
        delivered_at: row.opt_uint(7)?,
        cancel_requested_at: row.opt_uint(8)?,
        events: Vec::new(),
    })
}
