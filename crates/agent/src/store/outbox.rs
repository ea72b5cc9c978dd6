//! The statuses the server does not have yet: queued with each transition, read in
//! order, removed once acknowledged or settled.

use super::*;

impl Store {
    /// Queues a status that is not a stored transition (a duplicate delivery's answer).
    pub fn queue_status(&mut self, status: &JobStatus) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO status_outbox (job_id, status) VALUES (?1, ?2)",
            params![status.job_id, serde_json::json!(status).to_string()],
        )?;
        Ok(())
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
}

pub(super) fn push_status(
    tx: &rusqlite::Transaction<'_>,
    record: &JobRecord,
) -> rusqlite::Result<()> {
    let status = serde_json::json!(crate::record::job_status(record, false)).to_string();
    tx.execute(
        "INSERT INTO status_outbox (job_id, status) VALUES (?1, ?2)",
        params![record.job_id, status],
    )?;
    Ok(())
}
