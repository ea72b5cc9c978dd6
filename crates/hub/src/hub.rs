//! The shared hub state and the one place that delivers jobs to connected agents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use socketioxide::extract::SocketRef;

use crate::store::Store;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Shared by the socket handlers and the HTTP routes. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    store: Arc<Mutex<Store>>,
    /// clientId -> the socket it registered on.
    sockets: Arc<Mutex<HashMap<String, SocketRef>>>,
    /// socket sid -> the clientId it registered.
    clients: Arc<Mutex<HashMap<String, String>>>,
    /// Held while delivering, so two deliveries (a submit and a registration) never
    /// send the same queued job twice.
    delivering: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub over an open store.
    pub fn new(store: Store) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
            sockets: Arc::new(Mutex::new(HashMap::new())),
            clients: Arc::new(Mutex::new(HashMap::new())),
            delivering: Arc::new(Mutex::new(())),
        }
    }

    /// The store, locked. SQLite calls are short; holding a std mutex across them on a
    /// runtime thread is cheaper than a hop to the blocking pool.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers that `client_id` lives on `socket`.
    pub fn bind(&self, client_id: &str, socket: &SocketRef) {
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
    pub fn unbind_socket(&self, sid: &str) -> Option<String> {
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
        let now = now_ms();
        let sid = socket.id.to_string();
        let jobs = match self.store().deliverable(client_id, &sid, now) {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::error!(%error, "cannot read queued jobs");
                return 0;
            }
        };
        let mut sent = 0;
        for (job_id, payload) in jobs {
            if socket.emit("print", &payload).is_err() {
                break;
            }
            if let Err(error) = self.store().delivered(&job_id, &sid, now) {
                tracing::error!(%error, job = %job_id, "cannot mark a job delivered");
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
