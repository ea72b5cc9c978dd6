//! The agent's side of the conversation with its server: the `client_info` it sends,
//! and the routing of server events (`print`, `cancel_job`, `refresh_printers`) to the
//! job worker, with the answer to an acked `print`. Runs on the dispatch task.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::connection::{self, ConnectionHandle, ServerAck};
use crate::jobs::{AckReply, ControlError, Incoming};
use crate::printing::{PrinterBackend, PrinterInfo};
use crate::protocol;
use crate::record::JobRecord;
use crate::settings::Settings;

pub(super) async fn list_printers(backend: &Arc<dyn PrinterBackend>) -> Vec<PrinterInfo> {
    let backend = Arc::clone(backend);
    tokio::task::spawn_blocking(move || backend.printers())
        .await
        .unwrap_or_default()
}

pub(super) fn client_info(settings: &Settings, printers: &[PrinterInfo]) -> protocol::ClientInfo {
    protocol::ClientInfo {
        client_id: settings.client_id.clone(),
        protocol: protocol::PROTOCOL_VERSION,
        app: protocol::AppInfo {
            name: "printrelay-agent".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        host: protocol::HostInfo {
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
        },
        printers: printers.to_vec(),
        selected_printer: settings.printer.clone(),
    }
}

/// Routes server events: parses `print` and hands it to the worker; never awaits printing.
pub(super) async fn dispatch(
    mut server_events: mpsc::Receiver<connection::ServerEvent>,
    jobs: mpsc::Sender<Incoming>,
    connection: ConnectionHandle,
    backend: Arc<dyn PrinterBackend>,
    settings: watch::Receiver<Settings>,
) {
    while let Some(event) = server_events.recv().await {
        match event.name.as_str() {
            protocol::events::PRINT => {
                let limits = protocol::Limits {
                    max_job_bytes: settings.borrow().max_job_bytes,
                };
                let parsed = match event.dropped_bytes {
                    Some(bytes) => Err(protocol::reject_dropped_print(&event.data, bytes, limits)),
                    None if !event.attachments.is_empty() => {
                        protocol::parse_binary_print(event.data, event.attachments, limits)
                    }
                    None => protocol::parse_print(event.data, limits),
                };
                let ack = event.ack.map(|ack| answer_when_stored(&connection, ack));
                let item = match parsed {
                    Ok(job) => Incoming::Job { job, ack },
                    Err(rejected) => Incoming::Rejected { rejected, ack },
                };
                let _ = jobs.send(item).await;
            }
            protocol::events::CANCEL_JOB => {
                let Some(job_id) = event.data["jobId"].as_str() else {
                    continue;
                };
                let (reply, answer) = tokio::sync::oneshot::channel();
                let _ = jobs
                    .send(Incoming::Cancel {
                        job_id: job_id.to_owned(),
                        reply,
                    })
                    .await;
                // Answer off this loop: the worker may be busy printing.
                let connection = connection.clone();
                let ack = event.ack;
                tokio::spawn(async move {
                    let answer =
                        cancel_answer(answer.await.unwrap_or(Err(ControlError::WorkerGone)));
                    if let Some(ack) = ack {
                        connection.ack(ack, answer).await;
                    }
                });
            }
            protocol::events::REFRESH_PRINTERS => {
                let printers = list_printers(&backend).await;
                let info = client_info(&settings.borrow(), &printers);
                connection.set_client_info(&info).await;
            }
            other => tracing::debug!(event = other, "ignored server event"),
        }
    }
}

/// Where the worker puts its answer to an acked `print`; a task sends it to the server,
/// so this loop never waits for the store.
fn answer_when_stored(connection: &ConnectionHandle, ack: ServerAck) -> AckReply {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let connection = connection.clone();
    tokio::spawn(async move {
        if let Ok(answer) = answer.await {
            connection.ack(ack, serde_json::json!(answer)).await;
        }
    });
    reply
}

/// The ack of a `cancel_job` (protocol section 6): `{"ok": true, "state"}` with the job's
/// state now (`cancelled`, or `spooled` while the spooler cancels it), or `{"ok": false,
/// "error": {code, message}}`: `unknown_job` (never stored here: the server may cancel it
/// itself), `job_finished`, `cancel_failed`.
fn cancel_answer(outcome: Result<JobRecord, ControlError>) -> serde_json::Value {
    let refused = |code: &str, error: &ControlError| {
        tracing::info!(%error, "cancel_job refused");
        serde_json::json!({"ok": false, "error": {"code": code, "message": error.to_string()}})
    };
    match outcome {
        Ok(record) => serde_json::json!({"ok": true, "state": record.state}),
        Err(error @ ControlError::NotFound(_)) => refused("unknown_job", &error),
        Err(error @ ControlError::AlreadyFinished { .. }) => refused("job_finished", &error),
        Err(error) => refused("cancel_failed", &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server learns whether the agent ever had the job: only `unknown_job` lets it
    /// cancel a delivered job itself.
    #[test]
    fn a_cancel_is_answered_with_a_stable_code() {
        let answer = cancel_answer(Err(ControlError::NotFound("j".into())));
        assert_eq!(answer["ok"], false);
        assert_eq!(answer["error"]["code"], "unknown_job");
        let finished = ControlError::AlreadyFinished {
            job_id: "j".into(),
            state: protocol::JobState::Completed,
        };
        assert_eq!(
            cancel_answer(Err(finished))["error"]["code"],
            "job_finished"
        );
        assert_eq!(
            cancel_answer(Err(ControlError::WorkerGone))["error"]["code"],
            "cancel_failed"
        );
    }
}
