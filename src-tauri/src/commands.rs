//! Thin Tauri commands: each maps one UI request onto the agent core's API.

use printrelay_agent::printing::PrinterInfo;
use printrelay_agent::{Agent, Snapshot};
use tauri::{AppHandle, Manager, Runtime};

use crate::error::CommandError;

/// Why the agent did not start, kept for the UI when it failed.
#[derive(Debug)]
pub struct StartupFailure(pub String);

fn agent<R: Runtime>(app: &AppHandle<R>) -> Result<Agent, CommandError> {
    if let Some(agent) = app.try_state::<Agent>() {
        return Ok(agent.inner().clone());
    }
    let reason = app
        .try_state::<StartupFailure>()
        .map_or_else(|| "still starting".to_owned(), |f| f.0.clone());
    Err(CommandError::AgentNotRunning(reason))
}

/// Everything the window shows when it opens; later changes arrive as events.
#[tauri::command]
pub async fn snapshot<R: Runtime>(app: AppHandle<R>) -> Result<Snapshot, CommandError> {
    Ok(agent(&app)?.snapshot().await)
}

/// Starts a fresh round of connect attempts.
#[tauri::command]
pub async fn reconnect<R: Runtime>(app: AppHandle<R>) -> Result<(), CommandError> {
    agent(&app)?.reconnect().await;
    Ok(())
}

/// The machine's printers.
#[tauri::command]
pub async fn printers<R: Runtime>(app: AppHandle<R>) -> Result<Vec<PrinterInfo>, CommandError> {
    Ok(agent(&app)?.printers().await)
}

/// Queues a test page; returns its job id.
#[tauri::command]
pub fn test_print<R: Runtime>(
    app: AppHandle<R>,
    printer: Option<String>,
) -> Result<String, CommandError> {
    Ok(agent(&app)?.test_print(printer))
}
