//! The job pipeline: one worker task stores and prints jobs in arrival order, a watcher
//! task per spooled job follows it to completion in the spooler, and the outbox task
//! sends every status to the server, oldest first, whenever connected.
//!
//! Exactly once: a job is stored before `received` goes out; a known job id is never
//! printed again; unfinished jobs are resumed at start.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};

use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify};

use crate::connection::{now_ms, EpochMillis};
use crate::events::AgentEvent;
use crate::printing::{resolve_printer, PrintError, PrinterBackend, SpoolerJobState, Submission};
use crate::protocol::{Document, ErrorCode, JobError, PrintJob, Rejected};
use crate::settings::Settings;
use crate::store::{Inserted, Store, StoreError};

/// Where a job is in its life (protocol section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// For a reprint: the job it reprints.
    pub reprint_of: Option<String>,
}

/// The `job_status` payload for a record (protocol section 5).
pub fn status_payload(record: &JobRecord, duplicate: bool) -> Value {
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
    if duplicate {
        status["duplicate"] = json!(true);
    }
    status
}

/// The name a job carries in the spooler, so a restarted agent can find it there.
pub fn document_name(job_id: &str) -> String {
    format!("printrelay:{job_id}")
}

/// What the worker takes: a valid job, or a payload that failed validation.
#[derive(Debug)]
pub enum Incoming {
    Job(PrintJob),
    Rejected(Rejected),
    /// A new local job printing the document of job `of` again.
    Reprint {
        job: PrintJob,
        of: String,
    },
    /// Cancel a job that is not finished.
    Cancel {
        job_id: String,
        reply: oneshot::Sender<Result<JobRecord, ControlError>>,
    },
}

/// Why a request about one job could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no job {0:?}")]
    NotFound(String),
    #[error("job {job_id:?} is already {state:?}")]
    AlreadyFinished { job_id: String, state: JobState },
    #[error("{0}")]
    Store(String),
    /// The spooler refused (e.g. to cancel a job it holds).
    #[error("the spooler refused: {0}")]
    Spooler(String),
    #[error("the job worker has stopped")]
    WorkerGone,
}

/// The first wait before a job the spooler was too busy for is submitted again; it
/// doubles up to [`SPOOLER_BUSY_MAX_WAIT`] while the spooler stays busy.
const SPOOLER_BUSY_FIRST_WAIT: Duration = Duration::from_millis(100);
const SPOOLER_BUSY_MAX_WAIT: Duration = Duration::from_secs(5);
/// How long the spooler may not know a job it took before the job fails `spooler_lost`.
const SPOOLER_LOST_GRACE: Duration = Duration::from_secs(30);
/// How long the spooler may refuse a job as busy before the job fails.
const SPOOLER_BUSY_GIVE_UP: Duration = Duration::from_secs(600);

/// At most this many of the agent's jobs wait in one print queue of the spooler; the
/// next waits in the agent. CUPS refuses jobs at `MaxJobs` (500, finished ones counted),
/// and it forgets finished jobs first: a queue flooded by one burst would forget jobs
/// before the watcher saw how they ended.
const MAX_IN_SPOOLER: usize = 100;

/// How many of the agent's jobs each print queue holds, and a wake-up when one leaves.
#[derive(Debug, Default)]
pub(crate) struct InSpooler {
    counts: Mutex<HashMap<String, usize>>,
    left: Notify,
}

impl InSpooler {
    fn count(&self, queue: &str) -> usize {
        self.counts
            .lock()
            .map(|c| c.get(queue).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn added(&self, queue: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(queue.to_owned()).or_default() += 1;
        }
    }

    fn removed(&self, queue: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            if let Some(count) = counts.get_mut(queue) {
                *count = count.saturating_sub(1);
            }
        }
        self.left.notify_one();
    }
}

/// How printing one job went, for the worker's loop.
enum Printed {
    /// Spooled, or ended (failed, expired).
    Done,
    /// The spooler refused it for now, in these words: submit it again later.
    Busy(PrintJob, JobRecord, String),
    /// Its queue holds [`MAX_IN_SPOOLER`] of our jobs: submit it when one left.
    QueueFull(PrintJob, JobRecord),
}

/// The store, shared between tasks; every call runs on the blocking pool.
#[derive(Debug, Clone)]
pub struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    /// Wraps an open store.
    pub fn new(store: Store) -> Self {
        Self(Arc::new(Mutex::new(store)))
    }

    /// Runs `f` on the store in `spawn_blocking`.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::Task(e.to_string())))
    }
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
    /// Resumes unfinished jobs, then takes new ones until the sender side closes. Jobs
    /// are stored (and `received` sent) as they arrive; printing waits while `paused`.
    pub async fn run(
        self,
        mut incoming: mpsc::UnboundedReceiver<Incoming>,
        mut paused: watch::Receiver<bool>,
    ) {
        let mut ready = self.resume().await;
        // While the spooler is busy: since when, when to submit the first ready job
        // again, and the wait after that.
        let mut busy_since: Option<tokio::time::Instant> = None;
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut busy_wait = SPOOLER_BUSY_FIRST_WAIT;
        // The first ready job's queue holds as many of our jobs as it may.
        let mut queue_full = false;
        loop {
            let retry_due = retry_at.is_none_or(|at| at <= tokio::time::Instant::now());
            if !*paused.borrow_and_update() && retry_due && !queue_full {
                if let Some((job, record)) = ready.pop_front() {
                    // Store what already arrived first, so `received` goes out promptly.
                    self.take(drain(&mut incoming, Vec::new()), &mut ready)
                        .await;
                    let (job, record, reason) = match self.print(job, record).await {
                        Printed::Done => {
                            (busy_since, retry_at, busy_wait) =
                                (None, None, SPOOLER_BUSY_FIRST_WAIT);
                            continue;
                        }
                        Printed::QueueFull(job, record) => {
                            ready.push_front((job, record));
                            queue_full = true;
                            continue;
                        }
                        Printed::Busy(job, record, reason) => (job, record, reason),
                    };
                    let since = *busy_since.get_or_insert_with(tokio::time::Instant::now);
                    if since.elapsed() >= SPOOLER_BUSY_GIVE_UP {
                        // A refusal that lasts is not "busy": fail this job, try the next.
                        let error = JobError::new(
                            ErrorCode::PrintFailed,
                            format!(
                                "the job could not be handed to the spooler for {} minutes: {reason}",
                                SPOOLER_BUSY_GIVE_UP.as_secs() / 60
                            ),
                        );
                        self.finish(record, JobState::Failed, Some(error)).await;
                        (busy_since, retry_at, busy_wait) = (None, None, SPOOLER_BUSY_FIRST_WAIT);
                        continue;
                    }
                    tracing::warn!(job = %job.job_id, wait_ms = busy_wait.as_millis() as u64, %reason, "the spooler is busy; trying again");
                    ready.push_front((job, record));
                    retry_at = Some(tokio::time::Instant::now() + busy_wait);
                    busy_wait = (busy_wait * 2).min(SPOOLER_BUSY_MAX_WAIT);
                    continue;
                }
            }
            let retry = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                item = incoming.recv() => match item {
                    Some(item) => self.take(drain(&mut incoming, vec![item]), &mut ready).await,
                    None => return,
                },
                changed = paused.changed() => if changed.is_err() { return },
                () = retry => {}
                () = self.in_spooler.left.notified(), if queue_full => queue_full = false,
            }
        }
    }

    /// Handles what arrived, in order; jobs next to each other are stored in one commit.
    async fn take(&self, items: Vec<Incoming>, ready: &mut VecDeque<(PrintJob, JobRecord)>) {
        let mut jobs = Vec::new();
        for item in items {
            match item {
                Incoming::Job(job) => jobs.push((job, None)),
                Incoming::Reprint { job, of } => jobs.push((job, Some(of))),
                Incoming::Rejected(rejected) => {
                    ready.extend(self.accept(std::mem::take(&mut jobs)).await);
                    self.reject(rejected).await;
                }
                Incoming::Cancel { job_id, reply } => {
                    ready.extend(self.accept(std::mem::take(&mut jobs)).await);
                    let _ = reply.send(self.cancel(&job_id, ready).await);
                }
            }
        }
        ready.extend(self.accept(jobs).await);
    }

    async fn cancel(
        &self,
        job_id: &str,
        ready: &mut VecDeque<(PrintJob, JobRecord)>,
    ) -> Result<JobRecord, ControlError> {
        if let Some(index) = ready.iter().position(|(job, _)| job.job_id == job_id) {
            if let Some((_, record)) = ready.remove(index) {
                return Ok(self.finish(record, JobState::Cancelled, None).await);
            }
        }
        let id = job_id.to_owned();
        let record = self
            .store
            .call(move |s| s.get(&id))
            .await
            .map_err(|e| ControlError::Store(e.to_string()))?
            .ok_or_else(|| ControlError::NotFound(job_id.to_owned()))?;
        match (record.state, &record.printer, record.spooler_job_id) {
            (JobState::Spooled, Some(printer), Some(spooler_id)) => {
                let backend = Arc::clone(&self.backend);
                let printer = printer.clone();
                // The watcher sees the spooler's cancellation and publishes it.
                tokio::task::spawn_blocking(move || backend.cancel(&printer, spooler_id))
                    .await
                    .map_err(|_| ControlError::WorkerGone)?
                    .map_err(|e| ControlError::Spooler(e.to_string()))?;
                Ok(record)
            }
            (state, _, _) => Err(ControlError::AlreadyFinished {
                job_id: record.job_id,
                state,
            }),
        }
    }

    /// Jobs to finish after a restart: spooled ones get a watcher, the rest are returned
    /// to be printed (unless the spooler already has them).
    async fn resume(&self) -> VecDeque<(PrintJob, JobRecord)> {
        let mut ready = VecDeque::new();
        let unfinished = match self.store.call(|s| s.unfinished()).await {
            Ok(unfinished) => unfinished,
            Err(error) => {
                tracing::error!(%error, "cannot read unfinished jobs");
                return ready;
            }
        };
        for item in unfinished {
            tracing::info!(job = %item.record.job_id, state = ?item.record.state, "resuming job");
            if item.record.state == JobState::Spooled {
                self.watch(item.record);
                continue;
            }
            if item.submit_started {
                if let Some(record) = self.find_in_spooler(item.record.clone()).await {
                    self.publish(&record).await;
                    self.watch(record);
                    continue;
                }
            }
            ready.push_back((item.job, item.record));
        }
        ready
    }

    /// Looks for a job the agent may have submitted before it stopped.
    async fn find_in_spooler(&self, mut record: JobRecord) -> Option<JobRecord> {
        let printer = record.printer.clone()?;
        let backend = Arc::clone(&self.backend);
        let name = document_name(&record.job_id);
        let queue = printer.clone();
        let found = tokio::task::spawn_blocking(move || backend.find_job(&queue, &name))
            .await
            .ok()
            .flatten()?;
        tracing::info!(job = %record.job_id, spooler_id = found, "already in the spooler; not printing again");
        record.state = JobState::Spooled;
        record.spooler_job_id = Some(found);
        record.updated_at = now_ms();
        Some(record)
    }

    /// Stores new jobs (with the job a reprint repeats) and announces them; returns the
    /// ones to print, in order.
    async fn accept(&self, jobs: Vec<(PrintJob, Option<String>)>) -> Vec<(PrintJob, JobRecord)> {
        if jobs.is_empty() {
            return Vec::new();
        }
        let at = now_ms();
        let (jobs, stored) = self
            .store
            .call(move |s| {
                let stored = s.insert_all(&jobs, at)?;
                Ok((jobs, stored))
            })
            .await
            .unwrap_or_else(|error| {
                // Not stored means not acknowledged: the server keeps them and delivers again.
                tracing::error!(%error, "cannot store arrived jobs; not printing them");
                (Vec::new(), Vec::new())
            });
        let mut to_print = Vec::new();
        for ((job, _), inserted) in jobs.into_iter().zip(stored) {
            match inserted {
                Inserted::New(record) => {
                    self.announce(&record);
                    to_print.push((job, record));
                }
                Inserted::Duplicate(record) => {
                    tracing::info!(job = %record.job_id, state = ?record.state, "duplicate delivery; not printing again");
                    let status = status_payload(&record, true);
                    if let Err(error) = self.store.call(move |s| s.queue_status(&status)).await {
                        tracing::error!(%error, "cannot queue a duplicate status");
                    }
                    self.outbox.notify_one();
                }
            }
        }
        to_print
    }

    async fn reject(&self, rejected: Rejected) {
        let at = now_ms();
        let stored = self
            .store
            .call(move |s| s.insert_rejected(&rejected.job_id, &rejected.error, at))
            .await;
        match stored {
            Ok(Inserted::New(record)) => self.announce(&record),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "cannot store a rejected job"),
        }
    }

    /// Prints one job, or gives it back when it has to wait (see [`Printed`]).
    async fn print(&self, mut job: PrintJob, mut record: JobRecord) -> Printed {
        if job
            .expires_at
            .is_some_and(|t| t <= time::OffsetDateTime::now_utc())
        {
            let error = JobError::new(
                ErrorCode::Expired,
                "the job expired before it could be printed",
            );
            self.finish(record, JobState::Expired, Some(error)).await;
            return Printed::Done;
        }
        let (selected, allow_choice, max_bytes, fetch_policy) = {
            let settings = self.settings.borrow();
            (
                settings.printer.clone(),
                settings.allow_server_printer_choice,
                settings.max_job_bytes,
                crate::fetch::FetchPolicy::from_settings(&settings),
            )
        };
        let allow_choice = allow_choice || job.origin == crate::protocol::Origin::Local;
        let wanted = match choose_printer(job.printer.as_deref(), selected.as_deref(), allow_choice)
        {
            Ok(wanted) => wanted,
            Err(error) => {
                self.finish(record, JobState::Failed, Some(error)).await;
                return Printed::Done;
            }
        };
        let backend = Arc::clone(&self.backend);
        let printer = tokio::task::spawn_blocking(move || {
            resolve_printer(&backend.printers(), wanted.as_deref())
        })
        .await
        .unwrap_or(Err(PrintError::Spooler("printer lookup failed".into())));
        let printer = match printer {
            Ok(printer) => printer.system_name,
            Err(error) => {
                self.finish(record, JobState::Failed, Some(print_error(&error)))
                    .await;
                return Printed::Done;
            }
        };
        if let Document::Remote { url, kind } = &job.document {
            match crate::fetch::fetch(url, *kind, max_bytes, &fetch_policy).await {
                Ok(document) => job.document = document,
                Err(error) => {
                    self.finish(record, JobState::Failed, Some(error)).await;
                    return Printed::Done;
                }
            }
        }
        if self.in_spooler.count(&printer) >= MAX_IN_SPOOLER {
            return Printed::QueueFull(job, record);
        }
        let started = {
            let (id, queue) = (job.job_id.clone(), printer.clone());
            self.store
                .call(move |s| s.mark_submit_started(&id, &queue, now_ms()))
                .await
        };
        if let Err(error) = started {
            // Without the mark a crash could print it twice: not now, but again later like
            // a busy spooler's job (it fails visibly if the store stays unwritable).
            tracing::error!(%error, "cannot store the submit mark; trying again later");
            return Printed::Busy(job, record, format!("cannot store the job: {error}"));
        }
        let backend = Arc::clone(&self.backend);
        let queue = printer.clone();
        let submitted = tokio::task::spawn_blocking(move || {
            let submitted = backend.submit(Submission {
                printer: &queue,
                document_name: &document_name(&job.job_id),
                document: &job.document,
                copies: job.copies,
                options: &job.options,
            });
            (job, submitted)
        })
        .await;
        record.printer = Some(printer);
        match submitted {
            Ok((_, Ok(spooler_id))) => {
                record.spooler_job_id = Some(spooler_id);
                record.state = JobState::Spooled;
                record.updated_at = now_ms();
                self.publish(&record).await;
                self.watch(record);
            }
            // Nothing reached the spooler: the same job goes again later.
            Ok((job, Err(PrintError::SpoolerBusy(reason)))) => {
                return Printed::Busy(job, record, reason)
            }
            Ok((_, Err(error))) => {
                self.finish(record, JobState::Failed, Some(print_error(&error)))
                    .await;
            }
            Err(task) => {
                let error = PrintError::Spooler(format!("print task failed: {task}"));
                self.finish(record, JobState::Failed, Some(print_error(&error)))
                    .await;
            }
        }
        Printed::Done
    }

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

    /// Hands a spooled job to its queue's watcher, starting that task on first use. One
    /// task per queue looks at the spooler once per tick for all of its jobs, so a burst
    /// of jobs costs no more spooler calls than one job.
    fn watch(&self, record: JobRecord) {
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

/// `first` and whatever else is waiting in `incoming`, in order of arrival.
fn drain(
    incoming: &mut mpsc::UnboundedReceiver<Incoming>,
    mut first: Vec<Incoming>,
) -> Vec<Incoming> {
    while let Ok(item) = incoming.try_recv() {
        first.push(item);
    }
    first
}

/// The queue a job goes to (`None`: the system default), per the documented rule:
/// a job naming a printer other than the user's choice fails with
/// `printer_not_allowed` unless the user lets servers choose.
fn choose_printer(
    requested: Option<&str>,
    selected: Option<&str>,
    allow_choice: bool,
) -> Result<Option<String>, JobError> {
    match (requested, selected) {
        (Some(requested), _) if allow_choice => Ok(Some(requested.to_owned())),
        (Some(requested), Some(selected)) if requested == selected => Ok(Some(selected.to_owned())),
        (Some(requested), _) => Err(JobError::new(
            ErrorCode::PrinterNotAllowed,
            format!("the job asks for printer {requested:?}, but this PC lets servers use only its selected printer"),
        )),
        (None, selected) => Ok(selected.map(str::to_owned)),
    }
}

fn print_error(error: &PrintError) -> JobError {
    let code = match error {
        PrintError::PrinterNotFound(_) => ErrorCode::PrinterNotFound,
        PrintError::NoPrinter => ErrorCode::NoPrinter,
        PrintError::SpoolFile(_) | PrintError::Spooler(_) | PrintError::SpoolerBusy(_) => {
            ErrorCode::PrintFailed
        }
    };
    JobError::new(code, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_choice_follows_the_documented_rule() {
        assert_eq!(choose_printer(None, None, false), Ok(None));
        assert_eq!(choose_printer(None, Some("A"), false), Ok(Some("A".into())));
        assert_eq!(
            choose_printer(Some("B"), Some("A"), true),
            Ok(Some("B".into()))
        );
        assert_eq!(
            choose_printer(Some("A"), Some("A"), false),
            Ok(Some("A".into()))
        );
        for (requested, selected) in [(Some("B"), Some("A")), (Some("B"), None)] {
            let error = choose_printer(requested, selected, false).expect_err("not allowed");
            assert_eq!(error.code, ErrorCode::PrinterNotAllowed);
        }
    }
}
