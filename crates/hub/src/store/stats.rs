//! The figures an admin reads at a glance: jobs finished since a moment, jobs waiting,
//! the oldest waiting one.

use super::*;

/// Job counts for the console's counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStats {
    /// Jobs that reached `completed` since the moment asked for.
    pub completed: u64,
    /// Jobs that ended `failed`, `rejected` or `expired` since then.
    pub failed: u64,
    /// Jobs not finished (`queued`, `delivered`, `received`, `spooled`), whenever made.
    pub waiting: u64,
    /// The oldest of those.
    pub oldest_waiting: Option<WaitingJob>,
}

/// A job not finished yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitingJob {
    pub job_id: String,
    pub client_id: String,
    pub created_at: u64,
}

const WAITING: &str = "('queued', 'delivered', 'received', 'spooled')";

impl Store {
    /// The counts of jobs finished since `since` (ms since the Unix epoch) and waiting now.
    pub fn job_stats(&self, since: u64) -> Result<JobStats, StoreError> {
        let since = since.min(i64::MAX as u64) as i64;
        let (completed, failed, waiting): (i64, i64, i64) = self.db.query_row(
            &format!(
                "SELECT
                   COUNT(*) FILTER (WHERE state = 'completed' AND updated_at >= ?1),
                   COUNT(*) FILTER (WHERE state IN ('failed', 'rejected', 'expired')
                                     AND updated_at >= ?1),
                   COUNT(*) FILTER (WHERE state IN {WAITING})
                 FROM jobs"
            ),
            params![since],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let oldest_waiting = self
            .db
            .query_row(
                &format!(
                    "SELECT job_id, client_id, created_at FROM jobs WHERE state IN {WAITING}
                     ORDER BY seq LIMIT 1"
                ),
                [],
                |r| {
                    Ok(WaitingJob {
                        job_id: r.get(0)?,
                        client_id: r.get(1)?,
                        created_at: r.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .optional()?;
        let count = |n: i64| n.max(0) as u64;
        Ok(JobStats {
            completed: count(completed),
            failed: count(failed),
            waiting: count(waiting),
            oldest_waiting,
        })
    }
}
