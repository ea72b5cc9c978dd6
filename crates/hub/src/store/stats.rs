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
        let counts = self.db.query_opt(
            &format!(
                "SELECT
                   COUNT(*) FILTER (WHERE state = 'completed' AND updated_at >= ?1),
                   COUNT(*) FILTER (WHERE state IN ('failed', 'rejected', 'expired')
                                     AND updated_at >= ?1),
                   COUNT(*) FILTER (WHERE state IN {WAITING})
                 FROM jobs"
            ),
            args![int(since)],
            |row| Ok((row.uint(0)?, row.uint(1)?, row.uint(2)?)),
        )?;
        let (completed, failed, waiting) = counts.unwrap_or_default();
        let oldest_waiting = self.db.query_opt(
            &format!(
                "SELECT job_id, client_id, created_at FROM jobs WHERE state IN {WAITING}
                 ORDER BY seq LIMIT 1"
            ),
            &[],
            |row| {
                Ok(WaitingJob {
                    job_id: row.text(0)?,
                    client_id: row.text(1)?,
                    created_at: row.uint(2)?,
                })
            },
        )?;
        Ok(JobStats {
            completed,
            failed,
            waiting,
            oldest_waiting,
        })
    }
}
