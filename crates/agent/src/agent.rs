//! The [`Agent`]: wires connection, job pipeline and printers together and offers the
//! small API that both the desktop shell and the headless binary use.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, watch};

use crate::connection::{self, ConnectionConfig, ConnectionHandle, ConnectionState, Heartbeat};
use crate::events::AgentEvent;
use crate::jobs::{ControlError, Incoming, Pipeline};
use crate::printing::{PrinterBackend, PrinterInfo};
use crate::protocol::{self, PrintJob};
use crate::record::JobRecord;
use crate::settings::{Settings, SettingsError};
use crate::store::SharedStore;
use crate::store::Store;
use crate::store::{ConnectionEvent, JobPage, JobQuery};

/// Connection events a snapshot carries.
const SNAPSHOT_CONNECTION_EVENTS: usize = 50;

/// How many events a slow subscriber may fall behind before it misses some.
const EVENT_BUFFER: usize = 256;

/// A running agent. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Agent {
    connection: ConnectionHandle,
    /// The connection state last announced as an event.
    last_connection: Arc<std::sync::Mutex<Option<ConnectionState>>>,
    events: broadcast::Sender<AgentEvent>,
    store: SharedStore,
    settings: watch::Sender<Settings>,
    jobs: mpsc::Sender<Incoming>,
    paused: watch::Sender<bool>,
    backend: Arc<dyn PrinterBackend>,
}

/// Everything a front end shows, at one moment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub connection: ConnectionState,
    pub heartbeat: Heartbeat,
    pub settings: Settings,
    /// Recent connection changes (connected, lost, gave up...), newest first.
    pub connection_events: Vec<ConnectionEvent>,
    /// Printing is paused: jobs are stored and wait.
    pub paused: bool,
}

impl Agent {
    /// Validates the settings and starts the agent's tasks on the current tokio runtime.
    /// Unfinished jobs in `store` are resumed.
    pub async fn start(
        settings: Settings,
        backend: Arc<dyn PrinterBackend>,
        store: Store,
    ) -> Result<Self, SettingsError> {
        settings.validate()?;
        let history_limit = settings.history_limit;
        // One process-wide TLS provider for wss:// and https:// (ring: it cross-compiles).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let printers = list_printers(&backend).await;
        let client_info = client_info(&settings, &printers);
        let (connection, server_events) =
            connection::spawn(connection_config(&settings)?, &client_info);
        let (settings_tx, settings_rx) = watch::channel(settings);
        let (jobs_tx, jobs_rx) = mpsc::channel(crate::jobs::INCOMING_CAPACITY);
        let mut store = store;
        match store.prune(history_limit) {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old jobs removed from the history"),
            Err(error) => tracing::warn!(%error, "cannot prune the history"),
        }
        let store = SharedStore::new(store);
        let outbox = Arc::new(tokio::sync::Notify::new());
        let pipeline = Pipeline {
            backend: Arc::clone(&backend),
            settings: settings_rx,
            store: store.clone(),
            events: events.clone(),
            outbox: Arc::clone(&outbox),
            watchers: Arc::default(),
            in_spooler: Arc::default(),
        };
        let (paused, paused_rx) = watch::channel(false);
        tokio::spawn(pipeline.run(jobs_rx, paused_rx));
        tokio::spawn(crate::outbox::run_outbox(
            store.clone(),
            connection.clone(),
            outbox,
        ));
        // A PC left alone comes back on its own when the network does.
        connection::wake::spawn_watcher(connection.clone());
        tokio::spawn(dispatch(
            server_events,
            jobs_tx.clone(),
            connection.clone(),
            Arc::clone(&backend),
            settings_tx.subscribe(),
        ));
        let last_connection = Arc::new(std::sync::Mutex::new(None));
        tokio::spawn(forward_connection(
            connection.clone(),
            events.clone(),
            store.clone(),
            Arc::clone(&last_connection),
        ));
        Ok(Self {
            connection,
            last_connection,
            events,
            store,
            settings: settings_tx,
            jobs: jobs_tx,
            paused,
            backend,
        })
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AgentEvent> {
        self.events.subscribe()
    }

    /// Every event from now on, with the connection state announced last before them
    /// (`None` before the first): together they show each state exactly once.
    pub fn subscribe_with_connection(
        &self,
    ) -> (Option<ConnectionState>, broadcast::Receiver<AgentEvent>) {
        let shown = self
            .last_connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (shown.clone(), self.events.subscribe())
    }

    /// The connection handle, for state watches.
    pub fn connection(&self) -> &ConnectionHandle {
        &self.connection
    }

    /// What the UI shows, now.
    pub async fn snapshot(&self) -> Snapshot {
        // Jobs are not here: the window reads the page of the history it shows.
        let connection_events = self
            .store
            .call(|s| s.recent_connection_events(SNAPSHOT_CONNECTION_EVENTS))
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "cannot read the connection history");
                Vec::new()
            });
        Snapshot {
            connection: self.connection.state(),
            heartbeat: self.connection.heartbeat(),
            settings: self.settings.borrow().clone(),
            connection_events,
            paused: self.is_paused(),
        }
    }

    /// Pauses or resumes printing; while paused, jobs are stored and acknowledged, then wait.
    pub fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
        let _ = self.events.send(AgentEvent::Paused(paused));
    }

    /// Whether printing is paused.
    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Cancels a job that is queued or in the spooler.
    pub async fn cancel_job(&self, job_id: &str) -> Result<JobRecord, ControlError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Incoming::Cancel {
                job_id: job_id.to_owned(),
                reply,
            })
            .await
            .map_err(|_| ControlError::WorkerGone)?;
        answer.await.unwrap_or(Err(ControlError::WorkerGone))
    }

    /// Prints a past job again as a new local job linked to it; returns the new job id.
    pub async fn reprint(&self, job_id: &str) -> Result<String, ControlError> {
        let id = job_id.to_owned();
        let job = self
            .store
            .call(move |s| s.load_job(&id))
            .await?
            .ok_or_else(|| ControlError::NotFound(job_id.to_owned()))?;
        let new_id = format!("local-{}", uuid::Uuid::new_v4());
        let job = PrintJob {
            job_id: new_id.clone(),
            title: job.title,
            // The user reprints on the printer chosen now, and now.
            printer: None,
            expires_at: None,
            origin: protocol::Origin::Local,
            ..job
        };
        self.jobs
            .send(Incoming::Reprint {
                job,
                of: job_id.to_owned(),
            })
            .await
            .map_err(|_| ControlError::WorkerGone)?;
        Ok(new_id)
    }

    /// Searches the job history.
    pub async fn query_jobs(&self, query: JobQuery) -> Result<JobPage, ControlError> {
        self.store
            .call(move |s| s.query(&query))
            .await
            .map_err(ControlError::from)
    }

    /// Validates and applies new settings at once: a changed server, client id or token
    /// reconnects; a changed printer is announced to the server. Invalid settings change
    /// nothing. Saving them is the caller's business ([`crate::settings::SettingsStore`]).
    pub async fn update_settings(&self, settings: Settings) -> Result<(), SettingsError> {
        settings.validate()?;
        let config = connection_config(&settings)?;
        let printer_changed = self.settings.borrow().printer != settings.printer;
        self.settings.send_replace(settings.clone());
        let _ = self.events.send(AgentEvent::Settings(settings.clone()));
        if printer_changed {
            let printers = self.printers().await;
            self.connection
                .set_client_info(&client_info(&settings, &printers))
                .await;
        }
        self.connection.configure(config).await;
        Ok(())
    }

    /// Starts a fresh round of connect attempts.
    pub async fn reconnect(&self) {
        self.connection.reconnect().await;
    }

    /// The machine's printers (asks the spooler).
    pub async fn printers(&self) -> Vec<PrinterInfo> {
        list_printers(&self.backend).await
    }

    /// Queues a local test page on `printer` (or the selected one).
    pub async fn test_print(&self, printer: Option<String>) -> String {
        let language = self.settings.borrow().language;
        let job = crate::test_page::test_page(printer, language);
        let id = job.job_id.clone();
        let _ = self.jobs.send(Incoming::Job { job, ack: None }).await;
        id
    }

    /// Stops the connection and waits (briefly) until it is closed; the other tasks end
    /// when their channels close.
    pub async fn shutdown(&self) {
        self.connection.shutdown().await;
        let mut state = self.connection.watch_state();
        let stopped = state.wait_for(|s| *s == ConnectionState::Stopped);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), stopped).await;
    }
}

/// The connection settings derived from user settings.
pub fn connection_config(settings: &Settings) -> Result<ConnectionConfig, SettingsError> {
    Ok(ConnectionConfig {
        servers: settings.servers()?,
        socket_path: settings.socket_path()?,
        ca_file: settings.ca_file().map(Path::to_path_buf),
        proxy: settings.proxy()?,
        client_id: settings.client_id.clone(),
        token: settings.token.clone().filter(|t| !t.is_empty()),
        policy: settings.reconnect.clone(),
        max_frame_bytes: connection::frame_cap(settings.max_job_bytes),
    })
}

/// Republishes every connection state (in order, none skipped) and heartbeat change as
/// [`AgentEvent`]s, and keeps each change of state kind (connected, reconnecting, gave
/// up...) in the history. `last` is updated under the same lock as each send, so a
/// subscriber that reads it while subscribing sees each state exactly once.
async fn forward_connection(
    connection: ConnectionHandle,
    events: broadcast::Sender<AgentEvent>,
    store: SharedStore,
    last: Arc<std::sync::Mutex<Option<ConnectionState>>>,
) {
    let Some(mut transitions) = connection.take_transitions() else {
        tracing::error!("connection transitions already taken");
        return;
    };
    let mut heartbeat = connection.watch_heartbeat();
    let mut last_kind = None;
    loop {
        tokio::select! {
            state = transitions.recv() => {
                let Some(current) = state else { break };
                let kind = Some(std::mem::discriminant(&current));
                if kind != last_kind {
                    last_kind = kind;
                    let record = serde_json::to_value(&current).unwrap_or(Value::Null);
                    if let Err(error) = store.call(move |s| s.record_connection_event(connection::now_ms(), &record)).await {
                        tracing::warn!(%error, "cannot record a connection event");
                    }
                }
                let mut shown = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *shown = Some(current.clone());
                let _ = events.send(AgentEvent::Connection(current));
            }
            changed = heartbeat.changed() => {
                if changed.is_err() { break; }
                let _ = events.send(AgentEvent::Heartbeat(heartbeat.borrow_and_update().clone()));
            }
        }
    }
}

mod server_events;
#[cfg(test)]
mod tests;

use server_events::{client_info, dispatch, list_printers};
