//! The shared hub state and the one place that delivers jobs to connected agents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use socketioxide::extract::SocketRef;

use crate::events::{Change, Changes, ClientChange, JobChange};
use crate::store::{Client, StateChange, Store, StoreError};

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

    /// Queues a job (without `expires_at`, the default expiry applies); `false` when its id
    /// exists already (the submit is idempotent).
    pub fn submit(
        &self,
        job_id: &str,
        client_id: &str,
        payload: &Value,
        expires_at: Option<u64>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let expires_at = expires_at.or_else(|| self.default_expiry_ms.map(|ms| now + ms));
        let mut store = self.store();
        let created = store.insert_job(job_id, client_id, payload, expires_at, now)?;
        if created {
            // Published under the store lock, so subscribers see a job's states in order.
            self.publish_job(
                StateChange {
                    job_id: job_id.to_owned(),
                    client_id: client_id.to_owned(),
                    state: "queued".into(),
                    error: None,
                },
                now,
            );
            drop(store);
            self.deliver(client_id);
        }
        Ok(created)
    }

    /// Records an agent's `job_status`; announces the job's new state if it moved.
    pub fn record_status(&self, status: &Value) -> Result<(), StoreError> {
        let now = now_ms();
        let mut store = self.store();
        if let Some(change) = store.job_status(status, now)? {
            self.publish_job(change, now);
        }
        Ok(())
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

    /// Sends every deliverable job of `client_id` to its socket, in order; returns how many.
    pub fn deliver(&self, client_id: &str) -> usize {
        let Some(socket) = self
            .sockets
            .lock()
            .ok()
            .and_then(|s| s.get(client_id).cloned())
        else {
            return 0;
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
        let jobs = match self.store().deliverable(client_id, &sid) {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::error!(%error, "cannot read queued jobs");
                return 0;
            }
        };
        let mut sent = 0;
        for (job_id, payload) in jobs {
            // Marked before it is sent, so its `delivered` always precedes the agent's
            // statuses; if the send fails, the next connection gets it again.
            match self.store().delivered(&job_id, &sid, now) {
                Ok(Some(change)) => self.publish_job(change, now),
                Ok(None) => tracing::debug!(job = %job_id, client = %client_id, "re-delivered"),
                Err(error) => {
                    tracing::error!(%error, job = %job_id, "cannot mark a job delivered");
                    break;
                }
            }
            if socket.emit("print", &payload).is_err() {
                break;
            }
            sent += 1;
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
