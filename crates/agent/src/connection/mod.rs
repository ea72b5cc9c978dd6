//! The connection to the dispatch server: one supervisor task owns the Socket.IO
//! client; everyone else holds a cheap [`ConnectionHandle`].
//!
//! See docs/decisions/0001-own-socketio-client.md for why the client is ours.

mod backoff;
mod dial;
mod endpoint;
mod frame_guard;
mod packet;
mod polling;
mod problem;
mod session;
mod state;
mod supervisor;
#[cfg(test)]
mod tests;
pub mod wake;

pub use backoff::{PolicyProblem, ReconnectPolicy};
pub use endpoint::{namespace_of, normalize_socket_path, Endpoint, DEFAULT_SOCKET_PATH};
pub use packet::placeholder;
pub use problem::ConnectError;
pub use session::frame_cap;
pub use state::{now_ms, ConnectionState, EpochMillis, Heartbeat, Problem, Transport};

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use url::Url;

use crate::protocol::ClientInfo;

/// Everything the supervisor needs to know to connect.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionConfig {
    /// The dispatch servers, tried in order, then round-robin (see the supervisor);
    /// none keeps the connection idle. A URL's path is the Socket.IO namespace.
    pub servers: Vec<Url>,
    /// The engine path on the server (`/socket.io/` unless a reverse proxy moved it).
    pub socket_path: String,
    /// A PEM file of CA certificates trusted besides the operating system's.
    pub ca_file: Option<PathBuf>,
    /// The HTTP proxy to go through (`system` reads the environment and the OS).
    pub proxy: crate::proxy::ProxySetting,
    /// The id servers route jobs by; sent as `register` and in the handshake `auth`.
    pub client_id: String,
    /// Optional agent token for the handshake `auth`.
    pub token: Option<String>,
    /// Retry behaviour and connect bound.
    pub policy: ReconnectPolicy,
    /// Longest websocket frame taken from the server; longer ones are dropped as they
    /// arrive (see [`session::frame_cap`]).
    pub max_frame_bytes: u64,
}

impl ConnectionConfig {
    /// True when moving from `self` to `next` needs a new connection.
    fn needs_reconnect(&self, next: &ConnectionConfig) -> bool {
        self.servers != next.servers
            || self.socket_path != next.socket_path
            || self.ca_file != next.ca_file
            || self.proxy != next.proxy
            || self.client_id != next.client_id
            || self.token != next.token
            || self.max_frame_bytes != next.max_frame_bytes
    }
}

/// An event the server sent, handed off by the supervisor without awaiting anything.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerEvent {
    /// Event name, e.g. `print`.
    pub name: String,
    /// The first argument (`Null` when there was none).
    pub data: Value,
    /// The binary attachments it came with (a Buffer), in order; `data` holds their
    /// placeholders `{"_placeholder": true, "num": n}`.
    pub attachments: Vec<Vec<u8>>,
    /// The frame was longer than the cap and was dropped unread, with this many bytes:
    /// `data` holds only the `jobId` read from its start, if there was one.
    pub dropped_bytes: Option<u64>,
    /// The server asked for an answer ([`ConnectionHandle::ack`]).
    pub ack: Option<ServerAck>,
}

/// A server event's request for an answer: its ack id on the session it came on. An
/// answer after that session ended is dropped, as the server forgot the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAck {
    /// The Engine.IO session id.
    pub(crate) sid: String,
    pub(crate) id: u64,
}

/// Why an emit did not reach the socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("not connected")]
    NotConnected,
    #[error("the connection supervisor has stopped")]
    SupervisorGone,
    #[error("no acknowledgement within the timeout")]
    AckTimeout,
}

/// Instructions to the supervisor.
#[derive(Debug)]
pub(crate) enum Command {
    Reconnect,
    /// The network came back or the PC woke up: retry now if waiting to retry.
    Nudge,
    Disconnect,
    Configure(Box<ConnectionConfig>),
    SetClientInfo(Value),
    Ack {
        ack: ServerAck,
        data: Value,
    },
    Emit {
        event: String,
        data: Value,
        /// Binary attachments (a binary event when not empty).
        attachments: Vec<Vec<u8>>,
        done: oneshot::Sender<Result<(), EmitError>>,
    },
    EmitWithAck {
        event: String,
        data: Value,
        reply: oneshot::Sender<Result<Vec<Value>, EmitError>>,
    },
    Shutdown,
}

/// A cheap, cloneable handle on the connection supervisor.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<ConnectionState>,
    heartbeat: watch::Receiver<Heartbeat>,
    /// Every state the supervisor publishes, in order, for one reader (see
    /// [`ConnectionHandle::take_transitions`]).
    transitions: Arc<std::sync::Mutex<Option<mpsc::Receiver<ConnectionState>>>>,
}

/// Transitions kept for their reader; they come at the pace of connect attempts.
const TRANSITIONS: usize = 256;
/// Server events waiting for the agent: when full, the supervisor stops reading the
/// socket until there is room, so a flood waits in the network, not in memory.
const SERVER_EVENTS: usize = 4;

/// Starts the supervisor task. Server events arrive on the returned receiver.
///
/// `client_info` is emitted after `register` on every connect; replace it with
/// [`ConnectionHandle::set_client_info`].
pub fn spawn(
    config: ConnectionConfig,
    client_info: &ClientInfo,
) -> (ConnectionHandle, mpsc::Receiver<ServerEvent>) {
    let (command_tx, command_rx) = mpsc::channel(64);
    let (state_tx, state_rx) = watch::channel(ConnectionState::Idle);
    let (heartbeat_tx, heartbeat_rx) = watch::channel(Heartbeat::default());
    let (event_tx, event_rx) = mpsc::channel(SERVER_EVENTS);
    let (transitions_tx, transitions_rx) = mpsc::channel(TRANSITIONS);
    let supervisor = supervisor::Supervisor::new(
        config,
        serde_json::json!(client_info),
        command_rx,
        state_tx,
        heartbeat_tx,
        event_tx,
        transitions_tx,
    );
    tokio::spawn(supervisor.run());
    let handle = ConnectionHandle {
        commands: command_tx,
        state: state_rx,
        heartbeat: heartbeat_rx,
        transitions: Arc::new(std::sync::Mutex::new(Some(transitions_rx))),
    };
    (handle, event_rx)
}

impl ConnectionHandle {
    /// The current state.
    pub fn state(&self) -> ConnectionState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every state change.
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// The current heartbeat figures.
    pub fn heartbeat(&self) -> Heartbeat {
        self.heartbeat.borrow().clone()
    }

    /// A receiver that sees every heartbeat.
    pub fn watch_heartbeat(&self) -> watch::Receiver<Heartbeat> {
        self.heartbeat.clone()
    }

    /// Starts a fresh round of attempts, from any state.
    pub async fn reconnect(&self) {
        self.send(Command::Reconnect).await;
    }

    /// Every state from the first, in order, none skipped (unlike [`Self::watch_state`],
    /// which keeps only the latest). Only the first caller gets them.
    pub fn take_transitions(&self) -> Option<mpsc::Receiver<ConnectionState>> {
        self.transitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// True once the supervisor has stopped.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Tells the supervisor that the network came back or the PC woke from sleep: a
    /// connection waiting to retry (reconnecting, or gave up with background retry)
    /// tries at once; a kicked or stopped one stays as it is.
    pub async fn nudge(&self) {
        self.send(Command::Nudge).await;
    }

    /// Closes the connection and stays `stopped` until [`Self::reconnect`].
    pub async fn disconnect(&self) {
        self.send(Command::Disconnect).await;
    }

    /// Applies new settings; a changed server, client id or token reconnects at once.
    pub async fn configure(&self, config: ConnectionConfig) {
        self.send(Command::Configure(Box::new(config))).await;
    }

    /// Replaces the `client_info` payload and re-sends it when connected.
    pub async fn set_client_info(&self, info: &ClientInfo) {
        self.send(Command::SetClientInfo(serde_json::json!(info)))
            .await;
    }

    /// Answers a server event that asked for an ack, if its session is still open.
    pub async fn ack(&self, ack: ServerAck, data: Value) {
        self.send(Command::Ack { ack, data }).await;
    }

    /// Emits `event(data)` if connected.
    pub async fn emit(&self, event: &str, data: Value) -> Result<(), EmitError> {
        self.emit_binary(event, data, Vec::new()).await
    }

    /// Emits `event(data)` with binary `attachments` (a Socket.IO binary event, as a
    /// socket.io server reads a Buffer): `data` holds [`placeholder`]`(n)` where the
    /// server's handler is to find attachment `n`.
    pub async fn emit_binary(
        &self,
        event: &str,
        data: Value,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), EmitError> {
        let (done, result) = oneshot::channel();
        self.commands
            .send(Command::Emit {
                event: event.to_owned(),
                data,
                attachments,
                done,
            })
            .await
            .map_err(|_| EmitError::SupervisorGone)?;
        result.await.unwrap_or(Err(EmitError::SupervisorGone))
    }

    /// Emits `event(data)` asking for an acknowledgement; returns once the frame is queued
    /// for the socket, with a receiver of the server's answer (an error when the
    /// connection ends first). Frames go out in the order of these calls.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: Value,
    ) -> Result<oneshot::Receiver<Result<Vec<Value>, EmitError>>, EmitError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::EmitWithAck {
                event: event.to_owned(),
                data,
                reply,
            })
            .await
            .map_err(|_| EmitError::SupervisorGone)?;
        Ok(answer)
    }

    /// Stops the supervisor; the state becomes `stopped`.
    pub async fn shutdown(&self) {
        self.send(Command::Shutdown).await;
    }

    async fn send(&self, command: Command) {
        // A closed channel means the supervisor already stopped: nothing left to do.
        let _ = self.commands.send(command).await;
    }
}
