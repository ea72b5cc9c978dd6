//! The hub's shared state and its operations: submissions and statuses go to the
//! group-commit writer, presence to the registry (and, in order, the writer), deliveries
//! to a task per client; reads use a connection of their own that never waits for a commit.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use socketioxide::extract::{AckSender, SocketRef};

use crate::cluster::redis::RedisUrl;
use crate::cluster::{Message, Node};
use crate::delivery::Delivery;
use crate::events::{Change, Changes, ClientChange, ClientInfoChange};
use crate::registry::{Heartbeat, Registry};
use crate::store::{Database, Job, NewJob, Presence, Store, StoreError, Upkeep};
use crate::writer::{Pending, WriteQueue, WriterTurn};

pub use crate::writer::Submitted;

use printrelay_protocol::{now_ms, ClientInfo, Replaced};

/// What the older socket of a client id is told before it is closed.
pub const REPLACED_REASON: &str = "another connection registered this client id";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How the hub keeps its data.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    /// How long a job submitted without `expiresAt` may wait, in ms; `None`: forever.
    pub default_expiry_ms: Option<u64>,
    /// How long finished jobs are kept, in ms; `None`: forever.
    pub finished_ms: Option<u64>,
}

/// Shared by the socket handlers and the HTTP routes. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    /// The writing connection: the writer's commits, delivery marks, client_info.
    writer: Arc<Mutex<Store>>,
    /// A read-only connection: API reads never wait behind a commit's fsync.
    reader: Arc<Mutex<Store>>,
    registry: Registry,
    writes: WriteQueue,
    delivery: Delivery,
    changes: Changes,
    retention: Retention,
    /// This process, and whether other nodes share its database.
    node: Node,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub over `database` (created and migrated if needed; `max_pages` caps a SQLite
    /// file's size); event streams end when `closing` turns true. On PostgreSQL it joins
    /// the cluster of nodes on that database (see [`crate::cluster`]), taking another
    /// node as stopped after `node_timeout` without a heartbeat; the nodes talk through
    /// `redis` when given, else through PostgreSQL `NOTIFY`.
    pub async fn open(
        database: &Database,
        max_pages: Option<u64>,
        closing: tokio::sync::watch::Receiver<bool>,
        retention: Retention,
        node_timeout: std::time::Duration,
        redis: Option<RedisUrl>,
    ) -> Result<Self, StoreError> {
        let mut node = Node::new(database.is_postgres());
        node.timeout = node_timeout;
        if let Some(redis) = &redis {
            node.channel = redis.to_string().into();
        }
        let url = match database {
            Database::Postgres(url) => Some(url.clone()),
            Database::Sqlite(_) => None,
        };
        let database = database.clone();
        // Connecting and migrating block (and PostgreSQL's client may not run on a runtime
        // thread at all).
        let (writer, reader) = tokio::task::spawn_blocking(move || {
            let writer = Store::open(&database, max_pages)?;
            Ok::<_, StoreError>((writer, Store::open_reader(&database)?))
        })
        .await
        .unwrap_or(Err(StoreError::ReadStopped))?;
        let writer = Arc::new(Mutex::new(writer));
        let reader = Arc::new(Mutex::new(reader));
        let registry = Registry::default();
        let changes = Changes::new(closing);
        let delivery = Delivery::new(
            Arc::clone(&writer),
            registry.clone(),
            changes.clone(),
            node.clone(),
        );
        let hub = Self {
            writer,
            reader,
            registry,
            writes: WriteQueue::default(),
            delivery,
            changes,
            retention,
            node,
        };
        if let Some(url) = url {
            hub.join_cluster(url, redis).await?;
        }
        Ok(hub)
    }

    /// The broadcast of job and client changes.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Queues a job (without `expires_at`, the default expiry applies); it goes out to its
    /// client once that is online. Answers once the job is durable: submissions that arrive
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

    /// Records an agent's `job_status` with the writes around it; `ack` answers once it is
    /// committed (the agent keeps it in its outbox until then).
    pub fn record_status(&self, status: Value, ack: Option<AckSender>) {
        self.enqueue(Pending::Status { status, ack });
    }

    /// Expires waiting jobs whose time passed; with `purge`, also removes finished jobs
    /// past retention.
    pub fn upkeep(&self, purge: bool) {
        let purge_before = self
            .retention
            .finished_ms
            .filter(|_| purge)
            .map(|ms| now_ms().saturating_sub(ms));
        self.enqueue(Pending::Upkeep(Upkeep { purge_before }));
    }

    /// Adds a write to the queue; runs the writer unless one runs.
    fn enqueue(&self, write: Pending) {
        if let Some(turn) = self.writes.push(write) {
            let hub = self.clone();
            tokio::task::spawn_blocking(move || hub.write_queued(turn));
        }
    }

    /// Commits the waiting writes, a batch at a time, until none waits; then starts the
    /// deliveries they call for.
    fn write_queued(&self, mut turn: WriterTurn) {
        while let Some(batch) = turn.next_batch() {
            let committed = crate::writer::commit(
                &self.writer,
                &self.changes,
                &self.node,
                self.retention.default_expiry_ms,
                batch,
            );
            for client_id in committed.deliver_to {
                if self.registry.is_online(&client_id) {
                    self.delivery.start(&client_id);
                }
            }
        }
    }

    /// Registers `client_id` on `socket` by the presence rule (see [`crate::registry`]):
    /// the id this socket held before goes offline, an older socket of the same id is told
    /// why and closed. Presence is announced at once and stored in order by the writer.
    pub fn register(&self, client_id: &str, socket: &SocketRef, v1: bool) {
        let sid = socket.id.to_string();
        let now = now_ms();
        let (registered, ()) = self.registry.register(client_id, socket, v1, |registered| {
            if let Some(released) = &registered.released {
                self.went_offline(released, &sid, now);
            }
            self.enqueue(Pending::Presence(Presence {
                client_id: client_id.to_owned(),
                sid: sid.clone(),
                node_id: self.node.id.to_string(),
                online: true,
                at: now,
            }));
            self.changes.publish(Change::Client(ClientChange {
                client_id: client_id.to_owned(),
                connected: true,
                socket_id: sid.clone(),
                at: now,
            }));
        });
        if let Some(older) = registered.replaced {
            tracing::warn!(client = %client_id, older = %older.id, newer = %sid, "client id registered again: the older connection is closed");
            let _ = older.emit(
                printrelay_protocol::events::REPLACED,
                &Replaced {
                    client_id: client_id.to_owned(),
                    reason: REPLACED_REASON.to_owned(),
                    by: sid.clone(),
                    at: now,
                },
            );
            let _ = older.disconnect();
        }
    }

    /// Forgets socket `sid`; its client goes offline unless it lives on another socket.
    pub fn socket_closed(&self, sid: &str) {
        let now = now_ms();
        self.registry
            .socket_closed(sid, |client_id| self.went_offline(client_id, sid, now));
    }

    fn went_offline(&self, client_id: &str, sid: &str, now: u64) {
        self.enqueue(Pending::Presence(Presence {
            client_id: client_id.to_owned(),
            sid: sid.to_owned(),
            node_id: self.node.id.to_string(),
            online: false,
            at: now,
        }));
        self.changes.publish(Change::Client(ClientChange {
            client_id: client_id.to_owned(),
            connected: false,
            socket_id: sid.to_owned(),
            at: now,
        }));
    }

    /// Sends `client_id` its waiting jobs (in the background, in order), and asks it to
    /// cancel those someone cancelled while it held them.
    pub fn deliver(&self, client_id: &str) {
        self.delivery.start(client_id);
        self.ask_cancels(client_id);
    }

    /// Records an application heartbeat from socket `sid` with the round trip the agent
    /// last measured (`rttMs` in its payload, absent before its first answer).
    pub fn heartbeat(&self, sid: &str, rtt_ms: Option<u64>) {
        self.registry.heartbeat(
            sid,
            Heartbeat {
                at: now_ms(),
                rtt_ms,
            },
        );
    }

    /// Stores an agent's `client_info` (printers, version, host), then announces it.
    pub fn client_info(&self, client_id: &str, info: &ClientInfo) {
        let writer = Arc::clone(&self.writer);
        let changes = self.changes.clone();
        let node = self.node.clone();
        let client_id = client_id.to_owned();
        let info = info.clone();
        // The writing connection may wait behind a commit: not on a runtime thread.
        tokio::task::spawn_blocking(move || {
            let now = now_ms();
            let mut store = lock(&writer);
            match store.client_info(&client_id, &info, now) {
                Ok(()) => {
                    let change = ClientInfoChange { client_id, at: now };
                    let notices = node.notices(vec![Message::ClientInfo(change.clone())]);
                    if let Err(error) = store.notify(notices) {
                        tracing::warn!(%error, "cannot tell other nodes of a client_info");
                    }
                    changes.publish(Change::ClientInfo(change))
                }
                Err(error) => tracing::error!(%error, "cannot store client_info"),
            }
        });
    }

    /// The number of jobs waiting for `client_id`.
    pub async fn pending(&self, client_id: &str) -> Result<usize, StoreError> {
        let id = client_id.to_owned();
        self.read(move |store| store.waiting(&id, now_ms())).await
    }

    /// One job with its status history.
    pub async fn job(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        let id = job_id.to_owned();
        self.read(move |store| store.job(&id)).await
    }

    /// The client a job is for.
    pub async fn job_client(&self, job_id: &str) -> Result<Option<String>, StoreError> {
        let id = job_id.to_owned();
        self.read(move |store| store.job_client(&id)).await
    }

    /// Runs `read` on the read-only store, on the blocking pool: it never waits for the
    /// writer, and no store call runs on a runtime thread (PostgreSQL's client would panic
    /// there, and SQLite's blocks it).
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reader = Arc::clone(&self.reader);
        tokio::task::spawn_blocking(move || read(&lock(&reader)))
            .await
            .unwrap_or(Err(StoreError::ReadStopped))
    }

    /// The client registered on socket `sid`.
    pub fn client_of(&self, sid: &str) -> Option<String> {
        self.registry.client_of(sid)
    }

    /// True when `client_id` is registered on a live socket of this node.
    pub fn is_online(&self, client_id: &str) -> bool {
        self.registry.is_online(client_id)
    }

    /// True when `client_id` is connected to this node, or to another live one.
    pub async fn is_connected(&self, client_id: &str) -> Result<bool, StoreError> {
        if self.is_online(client_id) {
            return Ok(true);
        }
        if !self.node.clustered {
            return Ok(false);
        }
        Ok(self.client(client_id).await?.is_some_and(|c| c.connected))
    }

    /// Folds SQLite's write-ahead log into the database file (at shutdown).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        let writer = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || lock(&writer).checkpoint())
            .await
            .unwrap_or(Err(StoreError::ReadStopped))
    }
}

mod cancel;
mod cluster;
mod presence;
#[cfg(test)]
mod tests;
