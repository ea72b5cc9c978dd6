//! The shared hub state and the one place that delivers jobs to connected agents.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use socketioxide::extract::SocketRef;

use crate::events::{Change, Changes, ClientChange, JobChange};
use crate::store::{Client, Inserted, NewJob, StateChange, Store, StoreError, Write, Written};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// An agent's last application heartbeat.
#[derive(Debug, Clone, Copy)]
struct Heartbeat {
    at: u64,
    rtt_ms: Option<u64>,
}

/// At most this many writes (submissions and statuses) go in one transaction.
const MAX_BATCH: usize = 256;

/// What a submission came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    /// False when the job id existed already.
    pub created: bool,
    /// The job's state when it was answered (`queued`, `delivered`, or that of the job
    /// that had the id).
    pub state: String,
}

/// A write waiting to be committed: a submitted job, whose submitter waits for the
/// answer, or an agent's status, which nobody waits for (agents send them without ack).
enum Pending {
    Job {
        job: NewJob,
        answer: tokio::sync::oneshot::Sender<Result<Submitted, StoreError>>,
    },
    Status(Value),
}

/// Writes waiting for the writer; `writing` while a writer runs.
#[derive(Default)]
struct WriteQueue {
    waiting: Vec<Pending>,
    writing: bool,
}

/// The one running writer. Dropped before it finished (it panicked, or the runtime shut
/// down before it ran), it lets the next write start another.
struct Writer {
    queue: Arc<Mutex<WriteQueue>>,
    finished: bool,
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.finished {
            lock(&self.queue).writing = false;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Shared by the socket handlers and the HTTP routes. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    store: Arc<Mutex<Store>>,
    /// clientId -> the socket it registered on.
    sockets: Arc<Mutex<HashMap<String, SocketRef>>>,
    /// socket sid -> the clientId it registered.
    clients: Arc<Mutex<HashMap<String, String>>>,
    /// clientId -> its last heartbeat on the current connection. In memory: a write per
    /// heartbeat per agent would cost the database more than the figure is worth.
    heartbeats: Arc<Mutex<HashMap<String, Heartbeat>>>,
    /// Held while delivering, so two deliveries (a submit and a registration) never
    /// send the same queued job twice.
    delivering: Arc<Mutex<()>>,
    /// Submissions and statuses waiting for the writer (group commit).
    writes: Arc<Mutex<WriteQueue>>,
    changes: Changes,
    /// How long a job submitted without `expiresAt` may wait, in ms; `None`: forever.
    default_expiry_ms: Option<u64>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub over an open store; event streams end when `closing` turns true.
    pub fn new(
        store: Store,
        closing: tokio::sync::watch::Receiver<bool>,
        default_expiry_ms: Option<u64>,
    ) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
            sockets: Arc::new(Mutex::new(HashMap::new())),
            clients: Arc::new(Mutex::new(HashMap::new())),
            heartbeats: Arc::new(Mutex::new(HashMap::new())),
            delivering: Arc::new(Mutex::new(())),
            writes: Arc::new(Mutex::new(WriteQueue::default())),
            changes: Changes::new(closing),
            default_expiry_ms,
        }
    }

    /// The broadcast of job and client changes.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    fn publish_job(&self, change: StateChange, at: u64) {
        self.changes.publish(Change::Job(JobChange {
            job_id: change.job_id,
            client_id: change.client_id,
            state: change.state,
            at,
            error: change.error,
        }));
    }

    /// Queues a job (without `expires_at`, the default expiry applies) and sends it to its
    /// client if that is online. Answers once the job is durable: submissions that arrive
    /// while one commit syncs are committed together in the next (group commit, one fsync
    /// per batch). Idempotent: a taken id leaves its job as it is (`created` false).
    pub async fn submit(
        &self,
        job_id: &str,
        client_id: &str,
        payload: &Value,
        expires_at: Option<u64>,
    ) -> Result<Submitted, StoreError> {
        let job = NewJob {
            job_id: job_id.to_owned(),
            client_id: client_id.to_owned(),
            payload: payload.to_string(),
            expires_at,
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.enqueue(Pending::Job { job, answer });
        answered.await.unwrap_or(Err(StoreError::WriterStopped))
    }

    /// Records an agent's `job_status` and announces the job's new state if it moved,
    /// committed with the writes around it (a burst of jobs brings three statuses each).
    pub fn record_status(&self, status: Value) {
        self.enqueue(Pending::Status(status));
    }

    /// Adds a write to the queue; starts the writer unless one runs.
    fn enqueue(&self, write: Pending) {
        let start_writer = {
            let mut queue = lock(&self.writes);
            queue.waiting.push(write);
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            let hub = self.clone();
            let writer = Writer {
                queue: Arc::clone(&self.writes),
                finished: false,
            };
            tokio::task::spawn_blocking(move || hub.write_queued(writer));
        }
    }

    /// Commits the waiting writes, a batch at a time, until none waits. One runs at a time
    /// (on the blocking pool: the fsync must not hold a runtime thread).
    fn write_queued(&self, mut writer: Writer) {
        loop {
            let batch: Vec<Pending> = {
                let mut queue = lock(&self.writes);
                if queue.waiting.is_empty() {
                    // Cleared under the same lock a writer is started under: no write is left
                    // waiting without a writer.
                    queue.writing = false;
                    writer.finished = true;
                    return;
                }
                let take = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..take).collect()
            };
            self.write_batch(batch);
        }
    }

    /// One transaction for `batch`, in order; then the new jobs go out and each submitter
    /// gets its answer.
    fn write_batch(&self, mut batch: Vec<Pending>) {
        let now = now_ms();
        for pending in &mut batch {
            if let Pending::Job { job, .. } = pending {
                // From the same instant as `createdAt`.
                job.expires_at = job
                    .expires_at
                    .or_else(|| self.default_expiry_ms.map(|ms| now + ms));
            }
        }
        let writes: Vec<Write<'_>> = batch
            .iter()
            .map(|pending| match pending {
                Pending::Job { job, .. } => Write::Job(job),
                Pending::Status(status) => Write::Status(status),
            })
            .collect();
        let written = {
            let mut store = self.store();
            let written = store.write(&writes, now);
            if let Ok(written) = &written {
                // Published under the store lock, so subscribers see a job's states in order.
                for (write, result) in writes.iter().zip(written) {
                    match (write, result) {
                        (Write::Job(job), Written::Job(Inserted::Created)) => self.publish_job(
                            StateChange {
                                job_id: job.job_id.clone(),
                                client_id: job.client_id.clone(),
                                state: "queued".into(),
                                error: None,
                            },
                            now,
                        ),
                        (_, Written::Status(Some(change))) => self.publish_job(change.clone(), now),
                        _ => {}
                    }
                }
            }
            written
        };
        drop(writes);
        let written = match written {
            Ok(written) => written,
            Err(error) => {
                tracing::error!(%error, writes = batch.len(), "cannot store a batch of jobs and statuses");
                let error = Arc::new(error);
                for pending in batch {
                    if let Pending::Job { answer, .. } = pending {
                        let _ = answer.send(Err(StoreError::Batch(Arc::clone(&error))));
                    }
                }
                return;
            }
        };
        tracing::debug!(writes = batch.len(), "committed a batch");
        let submitted: Vec<(NewJob, _, Inserted)> = batch
            .into_iter()
            .zip(written)
            .filter_map(|(pending, written)| match (pending, written) {
                (Pending::Job { job, answer }, Written::Job(inserted)) => {
                    Some((job, answer, inserted))
                }
                _ => None,
            })
            .collect();
        // Each client with a new job once, in the order of the batch.
        let mut sent = HashSet::new();
        let mut seen = HashSet::new();
        for (job, _, inserted) in &submitted {
            if *inserted == Inserted::Created && seen.insert(job.client_id.as_str()) {
                sent.extend(self.deliver(&job.client_id));
            }
        }
        for (job, answer, inserted) in submitted {
            let created = inserted == Inserted::Created;
            let state = if sent.contains(&job.job_id) {
                "delivered".to_owned()
            } else {
                match inserted {
                    Inserted::Created => "queued".to_owned(),
                    Inserted::Exists(state) => state,
                }
            };
            let _ = answer.send(Ok(Submitted { created, state }));
        }
    }

    /// Marks `client_id` online on `socket` (binding it first, so that once the store
    /// says "connected", /startPrint finds the socket).
    pub fn client_online(&self, client_id: &str, socket: &SocketRef) -> Result<(), StoreError> {
        self.bind(client_id, socket);
        let now = now_ms();
        let mut store = self.store();
        store.client_online(client_id, &socket.id.to_string(), now)?;
        self.changes.publish(Change::Client(ClientChange {
            client_id: client_id.to_owned(),
            connected: true,
            socket_id: socket.id.to_string(),
            at: now,
        }));
        Ok(())
    }

    /// Records an application heartbeat from socket `sid` with the round trip the agent
    /// last measured (`rttMs` in its payload, absent before its first answer).
    pub fn heartbeat(&self, sid: &str, rtt_ms: Option<u64>) {
        let Some(client_id) = lock(&self.clients).get(sid).cloned() else {
            return;
        };
        lock(&self.heartbeats).insert(
            client_id,
            Heartbeat {
                at: now_ms(),
                rtt_ms,
            },
        );
    }

    /// Every client, with its live heartbeat figures.
    pub fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let clients = self.store().clients()?;
        Ok(clients
            .into_iter()
            .map(|c| self.with_heartbeat(c))
            .collect())
    }

    /// One client, with its live heartbeat figures.
    pub fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let client = self.store().client(client_id)?;
        Ok(client.map(|c| self.with_heartbeat(c)))
    }

    fn with_heartbeat(&self, mut client: Client) -> Client {
        if client.connected {
            if let Some(beat) = lock(&self.heartbeats).get(&client.client_id) {
                client.last_heartbeat_at = Some(beat.at);
                client.rtt_ms = beat.rtt_ms;
            }
        }
        client
    }

    /// Forgets socket `sid`; marks its client offline unless it re-registered on a newer
    /// socket meanwhile.
    pub fn socket_closed(&self, sid: &str) -> Result<(), StoreError> {
        let Some(client_id) = self.unbind_socket(sid) else {
            return Ok(());
        };
        lock(&self.heartbeats).remove(&client_id);
        let now = now_ms();
        let mut store = self.store();
        if store.client_offline(&client_id, sid, now)? {
            self.changes.publish(Change::Client(ClientChange {
                client_id,
                connected: false,
                socket_id: sid.to_owned(),
                at: now,
            }));
        }
        Ok(())
    }

    /// Expires the waiting jobs of `client_id` whose `expiresAt` passed, then counts the
    /// jobs that a registration on `sid` will be sent.
    pub fn pending(&self, client_id: &str, sid: &str) -> Result<usize, StoreError> {
        self.expire(client_id)?;
        Ok(self.store().deliverable(client_id, sid)?.len())
    }

    fn expire(&self, client_id: &str) -> Result<(), StoreError> {
        let now = now_ms();
        let mut store = self.store();
        for change in store.expire(client_id, now)? {
            self.publish_job(change, now);
        }
        Ok(())
    }

    /// The store, locked. SQLite calls are short; holding a std mutex across them on a
    /// runtime thread is cheaper than a hop to the blocking pool.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers that `client_id` lives on `socket`.
    fn bind(&self, client_id: &str, socket: &SocketRef) {
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.insert(client_id.to_owned(), socket.clone());
        }
        if let Ok(mut clients) = self.clients.lock() {
            clients.insert(socket.id.to_string(), client_id.to_owned());
        }
    }

    /// The client registered on socket `sid`.
    pub fn client_of(&self, sid: &str) -> Option<String> {
        self.clients.lock().ok()?.get(sid).cloned()
    }

    /// Forgets socket `sid`; returns its client. A client that already re-registered on
    /// a newer socket keeps that binding.
    fn unbind_socket(&self, sid: &str) -> Option<String> {
        let client_id = self.clients.lock().ok()?.remove(sid)?;
        if let Ok(mut sockets) = self.sockets.lock() {
            if sockets
                .get(&client_id)
                .is_some_and(|s| s.id.to_string() == sid)
            {
                sockets.remove(&client_id);
            }
        }
        Some(client_id)
    }

    /// Sends every deliverable job of `client_id` to its socket, in order; returns their ids.
    pub fn deliver(&self, client_id: &str) -> Vec<String> {
        let Some(socket) = self
            .sockets
            .lock()
            .ok()
            .and_then(|s| s.get(client_id).cloned())
        else {
            return Vec::new();
        };
        let _one_at_a_time = self
            .delivering
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(error) = self.expire(client_id) {
            tracing::error!(%error, "cannot expire queued jobs");
        }
        let now = now_ms();
        let sid = socket.id.to_string();
        let jobs = {
            let mut store = self.store();
            let jobs = match store.deliverable(client_id, &sid) {
                Ok(jobs) => jobs,
                Err(error) => {
                    tracing::error!(%error, "cannot read queued jobs");
                    return Vec::new();
                }
            };
            if jobs.is_empty() {
                return Vec::new();
            }
            // Marked before they are sent, so a job's `delivered` always precedes the
            // agent's statuses; if a send fails, the next connection gets the job again.
            let ids: Vec<String> = jobs.iter().map(|(id, _)| id.clone()).collect();
            match store.delivered(&ids, &sid, now) {
                Ok(changes) => {
                    for change in changes {
                        self.publish_job(change, now);
                    }
                }
                Err(error) => {
                    tracing::error!(%error, client = %client_id, "cannot mark jobs delivered");
                    return Vec::new();
                }
            }
            jobs
        };
        let mut sent = Vec::with_capacity(jobs.len());
        for (job_id, payload) in jobs {
            if socket.emit("print", &payload).is_err() {
                break;
            }
            sent.push(job_id);
        }
        sent
    }

    /// True when `client_id` is registered on a live socket.
    pub fn is_online(&self, client_id: &str) -> bool {
        self.sockets.lock().is_ok_and(|s| s.contains_key(client_id))
    }

    /// A job for an agent, from the v1 body: the original field `printData` is kept for
    /// text so original browser clients can print it too.
    pub fn agent_payload(body: &Value) -> Value {
        let mut payload = body.clone();
        if let Some(fields) = payload.as_object_mut() {
            fields.remove("clientId");
        }
        payload
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;

    fn hub() -> Hub {
        let store = Store::open(Path::new(":memory:")).expect("store");
        // The sender may go: nothing here waits for a shutdown.
        let (_closing, closing_rx) = tokio::sync::watch::channel(false);
        Hub::new(store, closing_rx, None)
    }

    /// Many submitters at once (some with the same job id): each gets the right `created`,
    /// every distinct job is stored once, and its `queued` is published exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_submissions_are_each_answered_and_all_stored() {
        let hub = hub();
        let mut changes = hub.changes().subscribe();
        let submitters: Vec<_> = (0..300)
            .map(|i| {
                let hub = hub.clone();
                // Every third one repeats the id of the one before it.
                let job_id = format!("job-{}", i - usize::from(i % 3 == 2));
                tokio::spawn(async move {
                    let submitted = hub
                        .submit(
                            &job_id,
                            &format!("pc-{}", i % 7),
                            &json!({"jobId": job_id}),
                            None,
                        )
                        .await;
                    (job_id, submitted)
                })
            })
            .collect();
        let mut created: HashMap<String, usize> = HashMap::new();
        for submitter in submitters {
            let (job_id, submitted) = submitter.await.expect("submitter");
            let submitted = submitted.expect("submitted");
            assert_eq!(submitted.state, "queued", "{job_id}: nobody is online");
            *created.entry(job_id).or_default() += usize::from(submitted.created);
        }
        assert_eq!(created.len(), 200);
        assert!(created.values().all(|&n| n == 1), "{created:?}");
        let stored = hub.store().jobs(None, None, 1000, 0).expect("jobs");
        assert_eq!(stored.len(), 200);
        let mut published = HashSet::new();
        while let Ok(Change::Job(change)) = changes.try_recv() {
            assert_eq!(change.state, "queued");
            assert!(published.insert(change.job_id), "published twice");
        }
        assert_eq!(published.len(), 200);
    }

    /// A writer dropped before it ran (a runtime shutting down) leaves no submission
    /// waiting for a writer that never comes.
    #[tokio::test]
    async fn a_writer_that_never_ran_does_not_stall_later_submissions() {
        let hub = hub();
        lock(&hub.writes).writing = true;
        drop(Writer {
            queue: Arc::clone(&hub.writes),
            finished: false,
        });
        let submitted = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            hub.submit("job", "pc-1", &json!({}), None),
        )
        .await
        .expect("answered")
        .expect("stored");
        assert!(submitted.created);
    }

    /// One batch with a duplicate in it: the first wins, both answered, in batch order.
    #[tokio::test]
    async fn a_duplicate_within_one_batch_is_answered_as_existing() {
        let hub = hub();
        let mut changes = hub.changes().subscribe();
        let mut answers = Vec::new();
        let batch: Vec<Pending> = [("x", "pc-1"), ("y", "pc-1"), ("x", "pc-2")]
            .into_iter()
            .map(|(job_id, client_id)| {
                let (answer, answered) = tokio::sync::oneshot::channel();
                answers.push(answered);
                Pending::Job {
                    job: NewJob {
                        job_id: job_id.into(),
                        client_id: client_id.into(),
                        payload: "{}".into(),
                        expires_at: None,
                    },
                    answer,
                }
            })
            .collect();
        hub.write_batch(batch);
        let mut got = Vec::new();
        for answered in answers {
            let submitted = answered.await.expect("answered").expect("stored");
            got.push((submitted.created, submitted.state));
        }
        assert_eq!(
            got,
            [
                (true, "queued".to_owned()),
                (true, "queued".to_owned()),
                (false, "queued".to_owned())
            ]
        );
        let order: Vec<String> = std::iter::from_fn(|| match changes.try_recv() {
            Ok(Change::Job(change)) => Some(change.job_id),
            _ => None,
        })
        .collect();
        assert_eq!(order, ["x", "y"]);
        let x = hub.store().job("x").expect("read").expect("stored");
        assert_eq!(x.client_id, "pc-1");
    }
}
