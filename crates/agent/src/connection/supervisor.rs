//! The supervisor task: the reconnect loop, the heartbeat watchdog and the only owner
//! of the live [`Session`]. Runs as one tokio task started by [`super::spawn`]. This file
//! holds the loop between connections (attempts, backoff, giving up, waiting for a
//! command); `online` serves one session, `acks` keeps what that session waits for.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep_until, Instant};

use super::endpoint::Endpoint;
use super::frame_guard::Dropped;
use super::packet::{self, EnginePacket, SocketPacket};
use super::problem::ConnectError;
use super::session::{Incoming, Route, Session};
use super::state::{now_ms, ConnectionState, Heartbeat, Problem};
use super::{Command, ConnectionConfig, EmitError, ServerAck, ServerEvent};
use crate::logging::Throttle;
use crate::protocol::events::REPLACED;

mod acks;
mod binary;
mod online;

use acks::AckTable;
use binary::{Assembly, Part};

/// What to do next, decided by a finished phase.
#[derive(Debug)]
enum Next {
    /// Start a round of connect attempts; `after_loss` holds why the previous connection ended.
    Round {
        after_loss: Option<Failure>,
    },
    /// The attempts of a round ran out: wait for Reconnect, trying in the background.
    GaveUp {
        attempts: u32,
        last_error: Failure,
    },
    /// Stay in a terminal state until a command moves us on.
    Park(ConnectionState),
    Exit,
}

/// Why the last attempt failed: the technical text and its code.
#[derive(Debug, Clone)]
struct Failure {
    detail: String,
    problem: Problem,
}

impl From<&ConnectError> for Failure {
    fn from(error: &ConnectError) -> Self {
        Self {
            detail: error.to_string(),
            problem: error.problem(),
        }
    }
}

/// How a wait between attempts ended.
#[derive(Debug)]
enum Wake {
    Elapsed,
    /// The network came back or the PC woke up: try now.
    Nudged,
    /// A command moved the supervisor on.
    Then(Next),
}

/// How a served connection ended.
enum Ended {
    Lost(String),
    Kicked(String),
    Command(Next),
}

pub(super) struct Supervisor {
    config: ConnectionConfig,
    client_info: Value,
    commands: mpsc::Receiver<Command>,
    state: watch::Sender<ConnectionState>,
    heartbeat: watch::Sender<Heartbeat>,
    events: mpsc::Sender<ServerEvent>,
    /// Undecodable frames: a line a minute, however many a server sends.
    garbage: Throttle,
    transitions: mpsc::Sender<ConnectionState>,
    /// Why the server is about to disconnect us, when it said so.
    kick_reason: Option<String>,
    /// The binary event whose attachments are arriving, on the open session.
    assembly: Option<Assembly>,
    /// Which of the configured servers the next attempt goes to (see [`Supervisor::round`]).
    next_server: usize,
}

/// How often a repeated warning may be logged.
const WARN_EVERY: Duration = Duration::from_secs(60);

impl Supervisor {
    pub(super) fn new(
        config: ConnectionConfig,
        client_info: Value,
        commands: mpsc::Receiver<Command>,
        state: watch::Sender<ConnectionState>,
        heartbeat: watch::Sender<Heartbeat>,
        events: mpsc::Sender<ServerEvent>,
        transitions: mpsc::Sender<ConnectionState>,
    ) -> Self {
        Self {
            config,
            client_info,
            commands,
            state,
            heartbeat,
            events,
            garbage: Throttle::new(WARN_EVERY),
            transitions,
            kick_reason: None,
            assembly: None,
            next_server: 0,
        }
    }

    pub(super) async fn run(mut self) {
        let mut next = self.initial();
        loop {
            next = match next {
                Next::Round { after_loss } => self.round(after_loss).await,
                Next::GaveUp {
                    attempts,
                    last_error,
                } => self.gave_up(attempts, last_error).await,
                Next::Park(state) => self.park(state).await,
                Next::Exit => break,
            };
        }
        self.publish(ConnectionState::Stopped);
        tracing::debug!("connection supervisor stopped");
    }

    fn initial(&self) -> Next {
        if self.config.servers.is_empty() {
            Next::Park(ConnectionState::Idle)
        } else {
            Next::Round { after_loss: None }
        }
    }

    fn publish(&self, state: ConnectionState) {
        tracing::info!(state = ?state, "connection state");
        // Every transition, in order, for the event stream and the history (the watch
        // keeps only the latest: a drop and reconnect could vanish between two looks).
        if self.transitions.try_send(state.clone()).is_err() {
            tracing::debug!("connection transition not logged: nobody reads them");
        }
        self.state.send_replace(state);
    }

    /// One round: up to `attempts` connect attempts with backoff between them. With
    /// several servers, a fresh round starts at the first and each failed attempt moves
    /// to the next (round-robin); after a loss the round starts at the server after the
    /// one lost, which is likely down (a hub node that died).
    async fn round(&mut self, after_loss: Option<Failure>) -> Next {
        let max_attempts = self.config.policy.attempts.max(1);
        let lost = after_loss.is_some();
        if lost {
            self.next_server = self.next_server.wrapping_add(1);
        } else {
            self.next_server = 0;
        }
        let mut last_error = after_loss.unwrap_or(Failure {
            detail: String::new(),
            problem: Problem::ConnectionLost,
        });
        for attempt in 1..=max_attempts {
            // After a loss even the first attempt waits, as socket.io's client does,
            // so a restarting server is not hammered.
            let retry = if lost { attempt } else { attempt - 1 };
            if retry == 0 {
                self.publish(ConnectionState::Connecting {
                    attempt,
                    max_attempts,
                });
            } else {
                let delay = self.config.policy.backoff(retry, rand::random::<f64>());
                self.publish(ConnectionState::Reconnecting {
                    attempt,
                    max_attempts,
                    retry_at: now_ms() + delay.as_millis() as u64,
                    last_error: last_error.detail.clone(),
                    problem: last_error.problem,
                });
                // A nudge (the network is back) skips the rest of the wait.
                if let Wake::Then(next) = self.idle_for(delay).await {
                    return next;
                }
            }
            match self.attempt().await {
                Ok(Ok(session)) => return self.served(session).await,
                Ok(Err(error)) => {
                    tracing::warn!(attempt, %error, "connect attempt failed");
                    last_error = Failure::from(&error);
                    self.next_server = self.next_server.wrapping_add(1);
                }
                Err(next) => return next,
            }
        }
        Next::GaveUp {
            attempts: max_attempts,
            last_error,
        }
    }

    /// Serves an open session; what follows when it ends.
    async fn served(&mut self, session: Session) -> Next {
        match self.serve(session).await {
            Ended::Lost(reason) => {
                tracing::warn!(%reason, "connection lost");
                Next::Round {
                    after_loss: Some(Failure {
                        detail: reason,
                        problem: Problem::ConnectionLost,
                    }),
                }
            }
            Ended::Kicked(reason) => Next::Park(ConnectionState::Kicked { reason }),
            Ended::Command(next) => next,
        }
    }

    /// `gaveUp` until Reconnect; meanwhile one attempt every `backgroundRetryMs` (unless
    /// 0), or at once when the network comes back. A success serves the connection; a
    /// failure stays `gaveUp` with the new error.
    async fn gave_up(&mut self, attempts: u32, mut last_error: Failure) -> Next {
        self.heartbeat.send_replace(Heartbeat::default());
        loop {
            let Some(every) = self.config.policy.background_retry() else {
                return self
                    .park(ConnectionState::GaveUp {
                        attempts,
                        last_error: last_error.detail,
                        problem: last_error.problem,
                        retry_at: None,
                    })
                    .await;
            };
            self.publish(ConnectionState::GaveUp {
                attempts,
                last_error: last_error.detail.clone(),
                problem: last_error.problem,
                retry_at: Some(now_ms() + every.as_millis() as u64),
            });
            // A nudge (the network is back) tries at once, as the background retry would.
            if let Wake::Then(next) = self.idle_for(every).await {
                return next;
            }
            tracing::info!("trying to connect in the background");
            match self.attempt().await {
                Ok(Ok(session)) => return self.served(session).await,
                Ok(Err(error)) => {
                    tracing::info!(%error, "background attempt failed");
                    last_error = Failure::from(&error);
                    self.next_server = self.next_server.wrapping_add(1);
                }
                Err(next) => return next,
            }
        }
    }

    /// One bounded connect attempt; commands that arrive meanwhile can abort it.
    async fn attempt(&mut self) -> Result<Result<Session, ConnectError>, Next> {
        let servers = &self.config.servers;
        let Some(url) = servers
            .get(self.next_server % servers.len().max(1))
            .cloned()
        else {
            return Err(Next::Park(ConnectionState::Idle));
        };
        if servers.len() > 1 {
            tracing::info!(server = %url, "connecting");
        }
        let auth = json!({
            "clientId": self.config.client_id,
            "token": self.config.token,
            "protocol": crate::protocol::PROTOCOL_VERSION,
        });
        let timeout = self.config.policy.connect_timeout();
        let deadline = Instant::now() + timeout;
        let endpoint = match Endpoint::new(&url, &self.config.socket_path) {
            Ok(endpoint) => endpoint,
            Err(error) => return Ok(Err(error)),
        };
        let ca_file = self.config.ca_file.clone();
        // Read before each attempt: a proxy changed in the OS counts at the next one.
        let proxy = crate::proxy::ProxyRule::from_setting(&self.config.proxy);
        let route = Route {
            ca_file: ca_file.as_deref(),
            proxy: &proxy,
        };
        let open = tokio::time::timeout_at(
            deadline,
            Session::open(&endpoint, route, &auth, self.config.max_frame_bytes),
        );
        tokio::pin!(open);
        loop {
            tokio::select! {
                result = &mut open => {
                    return Ok(result.unwrap_or(Err(ConnectError::Timeout(timeout.as_millis() as u64))));
                }
                command = self.commands.recv() => {
                    if let Some(next) = self.on_command_offline(command) {
                        return Err(next);
                    }
                }
            }
        }
    }

    /// Waits `delay` while answering commands.
    async fn idle_for(&mut self, delay: Duration) -> Wake {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                () = sleep_until(until) => return Wake::Elapsed,
                command = self.commands.recv() => match command {
                    Some(Command::Nudge) => return Wake::Nudged,
                    other => if let Some(next) = self.on_command_offline(other) {
                        return Wake::Then(next);
                    },
                },
            }
        }
    }

    /// Sits in a terminal state until a command moves us on.
    async fn park(&mut self, state: ConnectionState) -> Next {
        self.publish(state);
        self.heartbeat.send_replace(Heartbeat::default());
        loop {
            let command = self.commands.recv().await;
            if let Some(next) = self.on_command_offline(command) {
                return next;
            }
        }
    }

    /// Handles a command while no session is open; `Some` when it changes the phase.
    fn on_command_offline(&mut self, command: Option<Command>) -> Option<Next> {
        match command? {
            Command::Reconnect => Some(self.initial()),
            // Only a wait for the next attempt heeds it (see `idle_for`).
            Command::Nudge => None,
            Command::Disconnect => Some(Next::Park(ConnectionState::Stopped)),
            Command::Shutdown => Some(Next::Exit),
            Command::Configure(config) => {
                let changed = self.config.needs_reconnect(&config);
                self.config = *config;
                changed.then(|| self.initial())
            }
            Command::SetClientInfo(info) => {
                self.client_info = info;
                None
            }
            Command::Ack { ack, .. } => {
                tracing::debug!(
                    ack_id = ack.id,
                    "no answer: the session that asked has ended"
                );
                None
            }
            Command::Emit { done, .. } => {
                let _ = done.send(Err(EmitError::NotConnected));
                None
            }
            Command::EmitWithAck { reply, .. } => {
                let _ = reply.send(Err(EmitError::NotConnected));
                None
            }
        }
    }
}
