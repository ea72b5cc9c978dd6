//! The job pipeline: the worker task ([`worker`]) stores jobs as they arrive and prints
//! them in arrival order, one watcher task per print queue ([`watcher`]) follows spooled
//! jobs to their end, and the outbox task (`crate::outbox`) sends every status to the
//! server. This module holds what they share: the job's states and record, the messages
//! the worker takes, and the store handle.
//!
//! Exactly once: a job is stored before `received` goes out; a known job id is never
//! printed again; unfinished jobs are resumed at start.

mod watcher;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify};

use crate::connection::now_ms;
use crate::events::AgentEvent;
use crate::printing::{PrintError, PrinterBackend};
use crate::protocol::{JobError, JobState, PrintAck, PrintJob, Rejected};
use crate::record::JobRecord;
use crate::settings::Settings;
use crate::store::{SharedStore, StoreError};

pub(crate) use watcher::InSpooler;

/// How many messages wait for the worker before senders wait (and the most it stores in
/// one commit): the worker stores jobs while it prints, so senders only wait for the
/// disk, and a flood of documents waits in the network, not in memory.
pub const INCOMING_CAPACITY: usize = 8;

/// The name a job carries in the spooler, so a restarted agent can find it there.
pub fn document_name(job_id: &str) -> String {
    format!("printrelay:{job_id}")
}

/// Where the answer to a server's acked `print` goes once the job is stored (nowhere when
/// it could not be stored: the server's callback times out and it sends the job again).
pub type AckReply = oneshot::Sender<PrintAck>;

/// What the worker takes: a valid job, or a payload that failed validation.
#[derive(Debug)]
pub enum Incoming {
    /// A job to store and print; `ack` gets its answer once it is stored.
    Job {
        job: PrintJob,
        ack: Option<AckReply>,
    },
    /// A payload to store as rejected; `ack` gets its answer once it is stored.
    Rejected {
        rejected: Rejected,
        ack: Option<AckReply>,
    },
    /// A new local job printing the document of job `of` again.
    Reprint { job: PrintJob, of: String },
    /// Cancel a job that is not finished.
    Cancel {
        job_id: String,
        reply: oneshot::Sender<Result<JobRecord, ControlError>>,
    },
}

/// Why a request about one job could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no job {0:?}")]
    NotFound(String),
    #[error("job {job_id:?} is already {state:?}")]
    AlreadyFinished { job_id: String, state: JobState },
    /// The job store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The spooler refused (e.g. to cancel a job it holds).
    #[error("the spooler refused: {0}")]
    Spooler(#[from] PrintError),
    #[error("the job worker has stopped")]
    WorkerGone,
}

/// The worker's collaborators.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub backend: Arc<dyn PrinterBackend>,
    pub settings: watch::Receiver<Settings>,
    pub store: SharedStore,
    pub events: broadcast::Sender<AgentEvent>,
    pub outbox: Arc<Notify>,
    /// Print queue -> its watcher task, which follows every spooled job on that queue.
    pub watchers: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<JobRecord>>>>,
    pub in_spooler: Arc<InSpooler>,
}

impl Pipeline {
    /// Ends a job in a final state.
    async fn finish(
        &self,
        mut record: JobRecord,
        state: JobState,
        error: Option<JobError>,
    ) -> JobRecord {
        record.state = state;
        record.error = error;
        record.updated_at = now_ms();
        self.publish(&record).await;
        record
    }

    /// Stores a transition (with its status in the outbox) and tells the UI.
    async fn publish(&self, record: &JobRecord) {
        let stored = {
            let record = record.clone();
            self.store.call(move |s| s.transition(&record)).await
        };
        if let Err(error) = stored {
            tracing::error!(job = %record.job_id, %error, "cannot store a job transition");
        }
        self.announce(record);
    }

    /// Tells the UI and wakes the outbox; the record is already stored.
    fn announce(&self, record: &JobRecord) {
        tracing::info!(job = %record.job_id, state = ?record.state, printer = ?record.printer, "job");
        let _ = self.events.send(AgentEvent::Job(record.clone()));
        self.outbox.notify_one();
    }
}
