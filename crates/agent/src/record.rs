//! A job as the agent keeps it: the record the store holds, the UI shows and
//! `job_status` is made from. Plain data, below the tasks that change it.

use serde::Serialize;

use crate::protocol::{EpochMillis, JobError, JobState, JobStatus};

/// One job as the UI and `job_status` see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    pub job_id: String,
    pub title: String,
    pub printer: Option<String>,
    pub state: JobState,
    pub size_bytes: u64,
    pub copies: u32,
    pub received_at: EpochMillis,
    pub updated_at: EpochMillis,
    pub spooler_job_id: Option<u64>,
    pub error: Option<JobError>,
    /// For a reprint: the job it reprints.
    pub reprint_of: Option<String>,
}

/// The `job_status` an agent sends for a record (protocol section 5).
pub fn job_status(record: &JobRecord, duplicate: bool) -> JobStatus {
    JobStatus {
        job_id: record.job_id.clone(),
        state: record.state,
        at: record.updated_at,
        printer: record.printer.clone(),
        spooler_job_id: record.spooler_job_id,
        error: record.error.clone(),
        duplicate,
    }
}
