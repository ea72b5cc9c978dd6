//! The job pipeline: one worker task prints jobs in arrival order; a watcher task per
//! spooled job follows it to completion in the spooler.
//!
//! History is in memory for now (the last [`HISTORY_LIMIT`] jobs).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc, watch};

use crate::connection::{now_ms, ConnectionHandle, EpochMillis};
use crate::events::AgentEvent;
use crate::printing::{resolve_printer, PrintError, PrinterBackend, SpoolerJobState, Submission};
use crate::protocol::{events, ErrorCode, JobError, PrintJob, Rejected};
use crate::settings::Settings;

/// Jobs kept in memory for the UI.
pub const HISTORY_LIMIT: usize = 200;

/// Where a job is in its life (protocol section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum JobState {
    Received,
    Spooled,
    Completed,
    Failed,
    Rejected,
    Expired,
    Cancelled,
}

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
}

/// What the worker takes: a valid job, or a payload that failed validation.
#[derive(Debug)]
pub enum Incoming {
    Job(PrintJob),
    Rejected(Rejected),
}

/// Shared, bounded job history.
#[derive(Debug, Clone, Default)]
pub struct History(Arc<Mutex<VecDeque<JobRecord>>>);

impl History {
    /// The newest jobs first.
    pub fn recent(&self, limit: usize) -> Vec<JobRecord> {
        self.0
            .lock()
            .map(|jobs| jobs.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default()
    }

    fn upsert(&self, record: &JobRecord) {
        let Ok(mut jobs) = self.0.lock() else { return };
        match jobs.iter_mut().find(|j| j.job_id == record.job_id) {
            Some(existing) => *existing = record.clone(),
            None => {
                if jobs.len() >= HISTORY_LIMIT {
                    jobs.pop_front();
                }
                jobs.push_back(record.clone());
            }
        }
    }
}

/// The worker's collaborators.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub backend: Arc<dyn PrinterBackend>,
    pub settings: watch::Receiver<Settings>,
    pub history: History,
    pub events: broadcast::Sender<AgentEvent>,
    pub connection: ConnectionHandle,
}

impl Pipeline {
    /// Runs the worker until the sender side closes.
    pub async fn run(self, mut incoming: mpsc::UnboundedReceiver<Incoming>) {
        while let Some(item) = incoming.recv().await {
            match item {
                Incoming::Job(job) => self.print(job).await,
                Incoming::Rejected(rejected) => {
                    let now = now_ms();
                    let record = JobRecord {
                        job_id: rejected.job_id,
                        title: String::new(),
                        printer: None,
                        state: JobState::Rejected,
                        size_bytes: 0,
                        copies: 0,
                        received_at: now,
                        updated_at: now,
                        spooler_job_id: None,
                        error: Some(rejected.error),
                    };
                    self.publish(&record).await;
                }
            }
        }
    }

    async fn print(&self, job: PrintJob) {
        let now = now_ms();
        let mut record = JobRecord {
            job_id: job.job_id.clone(),
            title: job.title.clone(),
            printer: None,
            state: JobState::Received,
            size_bytes: job.document.bytes().len() as u64,
            copies: job.copies,
            received_at: now,
            updated_at: now,
            spooler_job_id: None,
            error: None,
        };
        self.publish(&record).await;

        let (selected, allow_choice) = {
            let settings = self.settings.borrow();
            (
                settings.printer.clone(),
                settings.allow_server_printer_choice,
            )
        };
        let wanted = match (&job.printer, allow_choice) {
            (Some(name), true) => Some(name.clone()),
            _ => selected,
        };
        let backend = Arc::clone(&self.backend);
        let result = tokio::task::spawn_blocking(move || {
            let printer = resolve_printer(&backend.printers(), wanted.as_deref())?;
            let document_name = format!("printrelay:{}", job.job_id);
            let id = backend.submit(Submission {
                printer: &printer.system_name,
                document_name: &document_name,
                document: &job.document,
                copies: job.copies,
            })?;
            Ok::<_, PrintError>((printer.system_name, id))
        })
        .await
        .unwrap_or_else(|e| Err(PrintError::Spooler(format!("print task failed: {e}"))));

        match result {
            Ok((printer, spooler_id)) => {
                record.printer = Some(printer);
                record.spooler_job_id = Some(spooler_id);
                record.state = JobState::Spooled;
                record.updated_at = now_ms();
                self.publish(&record).await;
                tokio::spawn(self.clone().watch_until_done(record));
            }
            Err(error) => {
                let code = match error {
                    PrintError::PrinterNotFound(_) => ErrorCode::PrinterNotFound,
                    PrintError::NoPrinter => ErrorCode::NoPrinter,
                    PrintError::SpoolFile(_) | PrintError::Spooler(_) => ErrorCode::PrintFailed,
                };
                record.state = JobState::Failed;
                record.error = Some(JobError::new(code, error.to_string()));
                record.updated_at = now_ms();
                self.publish(&record).await;
            }
        }
    }

    /// Polls the spooler until the job leaves it; polls back off to spare the spooler.
    async fn watch_until_done(self, mut record: JobRecord) {
        let (Some(printer), Some(spooler_id)) = (record.printer.clone(), record.spooler_job_id)
        else {
            return;
        };
        let mut pause = Duration::from_millis(100);
        loop {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
            let backend = Arc::clone(&self.backend);
            let printer = printer.clone();
            let state =
                tokio::task::spawn_blocking(move || backend.job_state(&printer, spooler_id))
                    .await
                    .unwrap_or(SpoolerJobState::Unknown);
            let next = match state {
                SpoolerJobState::Active => continue,
                SpoolerJobState::Completed => JobState::Completed,
                SpoolerJobState::Cancelled => JobState::Cancelled,
                SpoolerJobState::Unknown => {
                    tracing::warn!(job = %record.job_id, spooler_id, "the spooler lost track of the job");
                    return;
                }
            };
            record.state = next;
            record.updated_at = now_ms();
            self.publish(&record).await;
            return;
        }
    }

    /// Stores the record, tells the UI, and reports the status to the server.
    async fn publish(&self, record: &JobRecord) {
        tracing::info!(job = %record.job_id, state = ?record.state, printer = ?record.printer, "job");
        self.history.upsert(record);
        let _ = self.events.send(AgentEvent::Job(record.clone()));
        let mut status = json!({
            "jobId": record.job_id,
            "state": record.state,
            "at": record.updated_at,
            "printer": record.printer,
        });
        if let Some(id) = record.spooler_job_id {
            status["spoolerJobId"] = json!(id);
        }
        if let Some(error) = &record.error {
            status["error"] = json!(error);
        }
        if let Err(e) = self.connection.emit(events::JOB_STATUS, status).await {
            tracing::debug!(job = %record.job_id, error = %e, "job status not sent");
        }
    }
}
