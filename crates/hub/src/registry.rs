//! Who is connected, in memory, behind one lock: which socket each client id lives on,
//! the id each socket registered, heartbeats, and which clients have a delivery running.
//! Called from the Socket.IO handlers, the HTTP routes and the delivery tasks.
//!
//! The presence rule: a socket holds at most one client id (registering another releases
//! the first), and a client id lives on one socket (a second registration takes over;
//! the older socket is told why and closed). So "connected" is always one live socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use socketioxide::extract::SocketRef;

/// An agent's last application heartbeat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heartbeat {
    /// When it arrived, ms since the epoch.
    pub at: u64,
    /// The round trip the agent last measured, in ms.
    pub rtt_ms: Option<u64>,
}

/// A client's live connection.
#[derive(Debug, Clone)]
pub struct Binding {
    pub socket: SocketRef,
    pub sid: String,
    /// The agent said `protocol: 1` in its handshake: it answers every job with a status,
    /// so deliveries to it are paced by those answers.
    pub v1: bool,
    pub heartbeat: Option<Heartbeat>,
    /// When it registered, ms since the epoch.
    pub since: u64,
}

/// What a registration changed besides binding the id.
#[derive(Debug, Default)]
pub struct Registered {
    /// The id this socket held before (now released: offline).
    pub released: Option<String>,
    /// The older socket of the same id, to be told why and closed.
    pub replaced: Option<SocketRef>,
}

/// The state of a client's delivery task.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Delivery {
    Running,
    /// Running, and asked to look for jobs again before it stops.
    Again,
}

#[derive(Debug, Default)]
struct Inner {
    by_client: HashMap<String, Binding>,
    by_socket: HashMap<String, String>,
    deliveries: HashMap<String, Delivery>,
}

/// The shared registry. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Registry(Arc<Mutex<Inner>>);

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update below leaves the maps consistent before anything can panic.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Binds `client_id` to `socket` by the presence rule; `then` runs under the same lock
    /// (the caller queues the presence writes there, so they are stored in this order).
    pub fn register<T>(
        &self,
        client_id: &str,
        socket: &SocketRef,
        v1: bool,
        then: impl FnOnce(&Registered) -> T,
    ) -> (Registered, T) {
        let sid = socket.id.to_string();
        let mut inner = self.lock();
        let mut registered = Registered::default();
        if let Some(previous) = inner.by_socket.get(&sid).cloned() {
            if previous != client_id {
                inner.by_client.remove(&previous);
                registered.released = Some(previous);
            }
        }
        let binding = Binding {
            socket: socket.clone(),
            sid: sid.clone(),
            v1,
            heartbeat: None,
            since: printrelay_protocol::now_ms(),
        };
        if let Some(older) = inner.by_client.insert(client_id.to_owned(), binding) {
            if older.sid != sid {
                inner.by_socket.remove(&older.sid);
                registered.replaced = Some(older.socket);
            }
        }
        inner.by_socket.insert(sid, client_id.to_owned());
        let result = then(&registered);
        (registered, result)
    }

    /// Forgets socket `sid`; its client id when it still held one. `then` runs under the
    /// same lock with that id.
    pub fn socket_closed<T>(&self, sid: &str, then: impl FnOnce(&str) -> T) -> Option<T> {
        let mut inner = self.lock();
        let client_id = inner.by_socket.remove(sid)?;
        if inner
            .by_client
            .get(&client_id)
            .is_some_and(|b| b.sid == sid)
        {
            inner.by_client.remove(&client_id);
        }
        Some(then(&client_id))
    }

    /// Unbinds `client_id` when its live connection passes `test` (another hub node took
    /// the id over): the binding, whose socket is then closed without going offline.
    pub fn release_if(
        &self,
        client_id: &str,
        test: impl FnOnce(&Binding) -> bool,
    ) -> Option<Binding> {
        let mut inner = self.lock();
        if !inner.by_client.get(client_id).is_some_and(test) {
            return None;
        }
        let binding = inner.by_client.remove(client_id)?;
        inner.by_socket.remove(&binding.sid);
        Some(binding)
    }

    /// The client registered on socket `sid`.
    pub fn client_of(&self, sid: &str) -> Option<String> {
        self.lock().by_socket.get(sid).cloned()
    }

    /// The live connection of `client_id`.
    pub fn binding(&self, client_id: &str) -> Option<Binding> {
        self.lock().by_client.get(client_id).cloned()
    }

    /// Every live connection by client id.
    pub fn bindings(&self) -> HashMap<String, Binding> {
        self.lock().by_client.clone()
    }

    /// True when `client_id` is registered on a live socket.
    pub fn is_online(&self, client_id: &str) -> bool {
        self.lock().by_client.contains_key(client_id)
    }

    /// Records a heartbeat from socket `sid`.
    pub fn heartbeat(&self, sid: &str, beat: Heartbeat) {
        let mut inner = self.lock();
        let Some(client_id) = inner.by_socket.get(sid).cloned() else {
            return;
        };
        if let Some(binding) = inner.by_client.get_mut(&client_id) {
            binding.heartbeat = Some(beat);
        }
    }

    /// Asks for a delivery to `client_id`: true when the caller must start the task (none
    /// runs); otherwise the running one looks again before it stops.
    pub fn want_delivery(&self, client_id: &str) -> bool {
        let mut inner = self.lock();
        match inner.deliveries.get_mut(client_id) {
            Some(state) => {
                *state = Delivery::Again;
                false
            }
            None => {
                inner
                    .deliveries
                    .insert(client_id.to_owned(), Delivery::Running);
                true
            }
        }
    }

    /// The delivery task of `client_id` found nothing to send: true when it may stop;
    /// false when it was asked to look again meanwhile (and must).
    pub fn delivery_idle(&self, client_id: &str) -> bool {
        let mut inner = self.lock();
        match inner.deliveries.get_mut(client_id) {
            Some(state @ Delivery::Again) => {
                *state = Delivery::Running;
                false
            }
            _ => {
                inner.deliveries.remove(client_id);
                true
            }
        }
    }

    /// The delivery task of `client_id` stops (its socket closed).
    pub fn delivery_stopped(&self, client_id: &str) {
        self.lock().deliveries.remove(client_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_asked_for_while_running_looks_again_once() {
        let registry = Registry::default();
        assert!(registry.want_delivery("pc"), "none runs: start one");
        assert!(!registry.want_delivery("pc"), "one runs");
        assert!(!registry.want_delivery("pc"), "still one");
        assert!(!registry.delivery_idle("pc"), "asked again: look again");
        assert!(registry.delivery_idle("pc"), "nothing new: stop");
        assert!(registry.want_delivery("pc"), "stopped: start a new one");
        registry.delivery_stopped("pc");
        assert!(registry.want_delivery("pc"));
    }
}
