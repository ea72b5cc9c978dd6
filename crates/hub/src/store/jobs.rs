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
        let mut statement = self.db.prepare_cached(
            "SELECT job_id, payload FROM jobs WHERE client_id = ?1
               AND (state = 'queued' OR (state = 'delivered' AND delivered_to IS NOT ?2
                                         AND cancel_requested_at IS NULL))
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
                    "UPDATE jobs SET state = 'delivered', updated_at = ?2, delivered_to = ?3,
                       delivered_at = COALESCE(delivered_at, ?2)
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

    /// Jobs, newest first, as `query` selects them. Without status histories (ask for one
    /// job for that).
    pub fn jobs(&self, query: &JobQuery<'_>) -> Result<Vec<Job>, StoreError> {
        let mut statement = self.db.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs
             WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR state = ?2)
               AND (?5 IS NULL OR instr(lower(job_id), ?5) > 0 OR instr(lower(client_id), ?5) > 0)
               AND (?6 IS NULL OR created_at >= ?6) AND (?7 IS NULL OR created_at < ?7)
             ORDER BY seq DESC LIMIT ?3 OFFSET ?4"
        ))?;
        let as_sql = |t: Option<u64>| t.map(|t| t.min(i64::MAX as u64) as i64);
        let rows = statement.query_map(
            params![
                query.client_id,
                query.state,
                query.limit.clamp(1, 1000) as i64,
                query.offset.min(i64::MAX as usize) as i64,
                query.text.map(str::to_lowercase),
                as_sql(query.since),
                as_sql(query.until),
            ],
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
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?1"),
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
pub(super) fn queue_job(
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

/// Expires waiting jobs whose time passed and purges old finished ones, in `tx`.
pub(super) fn upkeep_in(
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

/// The columns [`job_from_row`] reads, in its order.
pub(super) const JOB_COLUMNS: &str = "job_id, client_id, state, created_at, updated_at, \
     expires_at, error, delivered_at, cancel_requested_at";

pub(super) fn job_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
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
        delivered_at: row.get::<_, Option<i64>>(7)?.map(|t| t as u64),
        cancel_requested_at: row.get::<_, Option<i64>>(8)?.map(|t| t as u64),
        events: Vec::new(),
    })
}
