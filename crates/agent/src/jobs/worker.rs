//! The worker task: stores jobs as they arrive and prints them one at a time in arrival
//! order. A job waiting to print is only its record here; its document waits in the store
//! and is read back when its turn comes, so a backlog costs disk, not memory.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::watcher::MAX_IN_SPOOLER;
use super::{document_name, AckReply, ControlError, Incoming, JobRecord, JobState, Pipeline};
use crate::connection::now_ms;
use crate::printing::{resolve_printer, PrintError, Submission};
use crate::protocol::{Document, ErrorCode, JobError, PrintAck, PrintJob, Rejected};
use crate::record::job_status;
use crate::store::Inserted;

/// How printing one job went, for the worker's loop.
enum Printed {
    /// Spooled, or ended (failed, expired).
    Done,
    /// The spooler refused it for now, in these words: submit it again later.
    Busy(JobRecord, String),
    /// Its queue holds [`MAX_IN_SPOOLER`] of our jobs: submit it when one left.
    QueueFull(JobRecord),
}

/// Jobs stored and waiting to print, oldest first: records only.
type Ready = VecDeque<JobRecord>;

/// A cancel for the job being handed to the spooler: answered once the spooler has it.
type DeferredCancel = (String, oneshot::Sender<Result<JobRecord, ControlError>>);

impl Pipeline {
    /// Resumes unfinished jobs, then takes new ones until the sender side closes. Jobs
    /// are stored (and `received` sent) as they arrive, also while one prints, so the
    /// senders never wait on a slow spooler; printing waits while `paused`.
    pub async fn run(
        self,
        mut incoming: mpsc::Receiver<Incoming>,
        mut paused: watch::Receiver<bool>,
    ) {
        let mut ready = self.resume().await;
        let mut busy = BusyWait::default();
        // The first ready job's queue holds as many of our jobs as it may.
        let mut queue_full = false;
        let mut printing: Option<Pin<Box<dyn Future<Output = Printed> + Send + '_>>> = None;
        let mut in_flight: Option<String> = None;
        let mut deferred: Vec<DeferredCancel> = Vec::new();
        loop {
            if printing.is_none() && !*paused.borrow_and_update() && busy.due() && !queue_full {
                if let Some(record) = ready.pop_front() {
                    in_flight = Some(record.job_id.clone());
                    printing = Some(Box::pin(self.print(record)));
                }
            }
            let print_done = async {
                match printing.as_mut() {
                    Some(print) => print.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                printed = print_done => {
                    printing = None;
                    in_flight = None;
                    match printed {
                        Printed::Done => busy.reset(),
                        Printed::QueueFull(record) => {
                            ready.push_front(record);
                            queue_full = true;
                        }
                        Printed::Busy(record, reason) if busy.refused() => {
                            tracing::warn!(job = %record.job_id, wait_ms = busy.wait.as_millis() as u64, %reason, "the spooler is busy; trying again");
                            ready.push_front(record);
                        }
                        Printed::Busy(record, reason) => {
                            // A refusal that lasts is not "busy": fail this job, try the next.
                            let error = JobError::new(
                                ErrorCode::PrintFailed,
                                format!(
                                    "the job could not be handed to the spooler for {} minutes: {reason}",
                                    BusyWait::GIVE_UP.as_secs() / 60
                                ),
                            );
                            self.finish(record, JobState::Failed, Some(error)).await;
                        }
                    }
                    for (job_id, reply) in deferred.drain(..) {
                        let _ = reply.send(self.cancel(&job_id, &mut ready).await);
                    }
                }
                item = incoming.recv() => match item {
                    Some(item) => {
                        let items = drain(&mut incoming, vec![item]);
                        deferred.extend(self.take(items, &mut ready, in_flight.as_deref()).await);
                    }
                    None => return,
                },
                changed = paused.changed() => if changed.is_err() { return },
                () = busy.elapsed() => busy.retry_at = None,
                () = self.in_spooler.left.notified(), if queue_full => queue_full = false,
            }
        }
    }

    /// Handles what arrived, in order; jobs next to each other are stored in one commit.
    /// Returns the cancels of the job in flight, to answer when its print call returns.
    async fn take(
        &self,
        items: Vec<Incoming>,
        ready: &mut Ready,
        in_flight: Option<&str>,
    ) -> Vec<DeferredCancel> {
        let mut jobs = Arrived::default();
        let mut deferred = Vec::new();
        for item in items {
            match item {
                Incoming::Job { job, ack } => jobs.push(job, None, ack),
                Incoming::Reprint { job, of } => jobs.push(job, Some(of), None),
                Incoming::Rejected { rejected, ack } => {
                    ready.extend(self.accept(std::mem::take(&mut jobs)).await);
                    self.reject(rejected, ack).await;
                }
                Incoming::Cancel { job_id, reply } if in_flight == Some(job_id.as_str()) => {
                    deferred.push((job_id, reply));
                }
                Incoming::Cancel { job_id, reply } => {
                    ready.extend(self.accept(std::mem::take(&mut jobs)).await);
                    let _ = reply.send(self.cancel(&job_id, ready).await);
                }
            }
        }
        ready.extend(self.accept(jobs).await);
        deferred
    }

    async fn cancel(&self, job_id: &str, ready: &mut Ready) -> Result<JobRecord, ControlError> {
        if let Some(index) = ready.iter().position(|record| record.job_id == job_id) {
            if let Some(record) = ready.remove(index) {
                return Ok(self.finish(record, JobState::Cancelled, None).await);
            }
        }
        let id = job_id.to_owned();
        let record = self
            .store
            .call(move |s| s.get(&id))
            .await?
            .ok_or_else(|| ControlError::NotFound(job_id.to_owned()))?;
        match (record.state, &record.printer, record.spooler_job_id) {
            (JobState::Spooled, Some(printer), Some(spooler_id)) => {
                let backend = Arc::clone(&self.backend);
                let printer = printer.clone();
                // The watcher sees the spooler's cancellation and publishes it.
                tokio::task::spawn_blocking(move || backend.cancel(&printer, spooler_id))
                    .await
                    .map_err(|_| ControlError::WorkerGone)??;
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
    async fn resume(&self) -> Ready {
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
            ready.push_back(item.record);
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
    /// ones to print, in order. The documents are dropped here: they wait in the store.
    async fn accept(&self, arrived: Arrived) -> Vec<JobRecord> {
        let Arrived { jobs, acks } = arrived;
        if jobs.is_empty() {
            return Vec::new();
        }
        let at = now_ms();
        let stored = self
            .store
            .call(move |s| s.insert_all(&jobs, at))
            .await
            .unwrap_or_else(|error| {
                // Not stored means not acknowledged: the server keeps them and delivers again.
                tracing::error!(%error, "cannot store arrived jobs; not printing them");
                Vec::new()
            });
        let mut to_print = Vec::new();
        // The answers come in the order of the jobs.
        for (inserted, ack) in stored.into_iter().zip(acks) {
            if let Some(ack) = ack {
                let _ = ack.send(match &inserted {
                    Inserted::New(record) => PrintAck::received(&record.job_id),
                    Inserted::Duplicate(record) => PrintAck::duplicate(&record.job_id),
                });
            }
            match inserted {
                Inserted::New(record) => {
                    self.announce(&record);
                    to_print.push(record);
                }
                Inserted::Duplicate(record) => {
                    tracing::info!(job = %record.job_id, state = ?record.state, "duplicate delivery; not printing again");
                    let status = job_status(&record, true);
                    if let Err(error) = self.store.call(move |s| s.queue_status(&status)).await {
                        tracing::error!(%error, "cannot queue a duplicate status");
                    }
                    self.outbox.notify_one();
                }
            }
        }
        to_print
    }

    async fn reject(&self, rejected: Rejected, ack: Option<AckReply>) {
        let at = now_ms();
        let Rejected { job_id, error } = rejected;
        let answer = PrintAck::rejected(&job_id, error.clone());
        let stored = self
            .store
            .call(move |s| s.insert_rejected(&job_id, &error, at))
            .await;
        let answer = match stored {
            Ok(Inserted::New(record)) => {
                self.announce(&record);
                answer
            }
            Ok(Inserted::Duplicate(record)) => PrintAck::duplicate(record.job_id),
            Err(error) => {
                tracing::error!(%error, "cannot store a rejected job");
                return;
            }
        };
        if let Some(ack) = ack {
            let _ = ack.send(answer);
        }
    }
}

/// Jobs that arrived together, to store in one commit: each with the job it reprints,
/// and where its answer goes.
#[derive(Default)]
struct Arrived {
    jobs: Vec<(PrintJob, Option<String>)>,
    acks: Vec<Option<AckReply>>,
}

impl Arrived {
    fn push(&mut self, job: PrintJob, reprint_of: Option<String>, ack: Option<AckReply>) {
        self.jobs.push((job, reprint_of));
        self.acks.push(ack);
    }
}

/// `first` and what else is waiting in `incoming`, in order of arrival, up to one
/// channel's worth (what one commit stores).
fn drain(incoming: &mut mpsc::Receiver<Incoming>, mut first: Vec<Incoming>) -> Vec<Incoming> {
    while first.len() < super::INCOMING_CAPACITY {
        match incoming.try_recv() {
            Ok(item) => first.push(item),
            Err(_) => break,
        }
    }
    first
}

mod busy;
mod printing;
#[cfg(test)]
mod tests;

use busy::BusyWait;
