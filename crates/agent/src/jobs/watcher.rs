//! Follows spooled jobs to their end in the spooler: one task per print queue, started by
//! the worker on the queue's first job, asks the spooler about all of its jobs at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use super::{JobRecord, JobState, Pipeline};
use crate::connection::now_ms;
use crate::printing::SpoolerJobState;
use crate::protocol::{ErrorCode, JobError};

/// How long the spooler may not know a job it took before the job fails `spooler_lost`.
const SPOOLER_LOST_GRACE: Duration = Duration::from_secs(30);

/// next waits in the agent. CUPS refuses jobs at `MaxJobs` (500, finished ones counted),
/// and it forgets finished jobs first: a queue flooded by one burst would forget jobs
/// before the watcher saw how they ended.
pub(super) const MAX_IN_SPOOLER: usize = 100;

/// How many of the agent's jobs each print queue holds, and a wake-up when one leaves.
#[derive(Debug, Default)]
pub(crate) struct InSpooler {
    counts: Mutex<HashMap<String, usize>>,
    pub(super) left: Notify,
}

impl InSpooler {
    pub(super) fn count(&self, queue: &str) -> usize {
        self.counts
            .lock()
            .map(|c| c.get(queue).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub(super) fn added(&self, queue: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(queue.to_owned()).or_default() += 1;
        }
    }

    pub(super) fn removed(&self, queue: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            if let Some(count) = counts.get_mut(queue) {
                *count = count.saturating_sub(1);
            }
        }
        self.left.notify_one();
    }
}

impl Pipeline {
    /// Hands a spooled job to its queue's watcher, starting that task on first use. One
    /// task per queue looks at the spooler once per tick for all of its jobs, so a burst
    /// of jobs costs no more spooler calls than one job.
    pub(super) fn watch(&self, record: JobRecord) {
        let (Some(queue), Some(_)) = (record.printer.clone(), record.spooler_job_id) else {
            return;
        };
        let Ok(mut watchers) = self.watchers.lock() else {
            return;
        };
        self.in_spooler.added(&queue);
        let watcher = watchers.entry(queue.clone()).or_insert_with(|| {
            let (sender, jobs) = mpsc::unbounded_channel();
            tokio::spawn(self.clone().watch_queue(queue, jobs));
            sender
        });
        let _ = watcher.send(record);
    }

    /// Polls `queue` until each of its jobs leaves the spooler; polls back off while
    /// nothing changes, to spare the spooler, and start quick again when jobs arrive.
    async fn watch_queue(self, queue: String, mut jobs: mpsc::UnboundedReceiver<JobRecord>) {
        const QUICK: Duration = Duration::from_millis(100);
        const SLOW: Duration = Duration::from_secs(5);
        let mut pending: Vec<JobRecord> = Vec::new();
        let mut pause = QUICK;
        // Jobs the spooler answered "unknown" about, since when.
        let mut lost_since: HashMap<String, tokio::time::Instant> = HashMap::new();
        loop {
            if pending.is_empty() {
                match jobs.recv().await {
                    Some(record) => pending.push(record),
                    None => return,
                }
                pause = QUICK;
            }
            tokio::time::sleep(pause).await;
            while let Ok(record) = jobs.try_recv() {
                pending.push(record);
                pause = QUICK;
            }
            let ids: Vec<u64> = pending.iter().filter_map(|r| r.spooler_job_id).collect();
            let backend = Arc::clone(&self.backend);
            let printer = queue.clone();
            let states = tokio::task::spawn_blocking(move || backend.job_states(&printer, &ids))
                .await
                .unwrap_or_default();
            let mut waiting = Vec::with_capacity(pending.len());
            for (index, mut record) in pending.drain(..).enumerate() {
                (record.state, record.error) = match states.get(index).copied() {
                    // No answer (the lookup task failed): ask again next tick.
                    None | Some(SpoolerJobState::Active) => {
                        waiting.push(record);
                        continue;
                    }
                    Some(SpoolerJobState::Completed) => (JobState::Completed, None),
                    Some(SpoolerJobState::Cancelled) => (JobState::Cancelled, None),
                    Some(SpoolerJobState::Aborted) => (
                        JobState::Failed,
                        Some(JobError::new(
                            ErrorCode::PrintFailed,
                            "the spooler aborted the job (a filter or the printer's backend failed)",
                        )),
                    ),
                    Some(SpoolerJobState::Unknown) if self.backend.forgets_printed_jobs() => {
                        // It may have printed: `spooled` is the truest state left.
                        tracing::warn!(job = %record.job_id, spooler_id = ?record.spooler_job_id, "the spooler lost track of the job");
                        self.in_spooler.removed(&queue);
                        continue;
                    }
                    Some(SpoolerJobState::Unknown) => {
                        // Perhaps only for a moment (a spooler restarting): give it a grace
                        // period, then say so instead of staying `spooled` for ever.
                        let since = *lost_since
                            .entry(record.job_id.clone())
                            .or_insert_with(tokio::time::Instant::now);
                        if since.elapsed() < SPOOLER_LOST_GRACE {
                            waiting.push(record);
                            continue;
                        }
                        tracing::warn!(job = %record.job_id, spooler_id = ?record.spooler_job_id, "the spooler lost track of the job");
                        (
                            JobState::Failed,
                            Some(JobError::new(
                                ErrorCode::SpoolerLost,
                                "the spooler no longer knows the job: it may or may not have printed",
                            )),
                        )
                    }
                };
                lost_since.remove(&record.job_id);
                self.in_spooler.removed(&queue);
                record.updated_at = now_ms();
                self.publish(&record).await;
            }
            pause = if waiting.len() < states.len() || states.is_empty() {
                QUICK
            } else {
                (pause * 2).min(SLOW)
            };
            pending = waiting;
        }
    }
}
