//! Thin Tauri commands of the window process: each forwards one UI request to the tray
//! process, where `control::Desktop::handle` answers it.

use printrelay_agent::settings::Settings;
use printrelay_agent::store::JobQuery;
use serde_json::Value;
use tauri::{Runtime, State};

use crate::bridge::Bridge;
use crate::control::Request;
use crate::error::CommandError;

/// Registers every command on `builder`.
pub fn register<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        snapshot,
        reconnect,
        set_paused,
        printers,
        test_print,
        query_jobs,
        cancel_job,
        reprint,
        check_settings,
        save_settings,
    ])
}

/// Everything the window shows when it opens; later changes arrive as events.
#[tauri::command]
async fn snapshot(bridge: State<'_, Bridge>) -> Result<Value, CommandError> {
    bridge.call(Request::Snapshot).await
}

/// Starts a fresh round of connect attempts.
#[tauri::command]
async fn reconnect(bridge: State<'_, Bridge>) -> Result<Value, CommandError> {
    bridge.call(Request::Reconnect).await
}

/// Pauses or resumes printing.
#[tauri::command]
async fn set_paused(bridge: State<'_, Bridge>, paused: bool) -> Result<Value, CommandError> {
    bridge.call(Request::SetPaused { paused }).await
}

/// The machine's printers.
#[tauri::command]
async fn printers(bridge: State<'_, Bridge>) -> Result<Value, CommandError> {
    bridge.call(Request::Printers).await
}

/// Queues a test page; answers its job id.
#[tauri::command]
async fn test_print(
    bridge: State<'_, Bridge>,
    printer: Option<String>,
) -> Result<Value, CommandError> {
    bridge.call(Request::TestPrint { printer }).await
}

/// A page of the job history.
#[tauri::command]
async fn query_jobs(bridge: State<'_, Bridge>, query: JobQuery) -> Result<Value, CommandError> {
    bridge.call(Request::QueryJobs { query }).await
}

/// Cancels a queued or spooled job.
#[tauri::command]
async fn cancel_job(bridge: State<'_, Bridge>, job_id: String) -> Result<Value, CommandError> {
    bridge.call(Request::CancelJob { job_id }).await
}

/// Prints a past job again; answers the new job id.
#[tauri::command]
async fn reprint(bridge: State<'_, Bridge>, job_id: String) -> Result<Value, CommandError> {
    bridge.call(Request::Reprint { job_id }).await
}

/// Every problem of a settings draft, for inline validation.
#[tauri::command]
async fn check_settings(
    bridge: State<'_, Bridge>,
    settings: Settings,
) -> Result<Value, CommandError> {
    bridge.call(Request::CheckSettings { settings }).await
}

/// Saves and applies settings; a bad value changes nothing.
#[tauri::command]
async fn save_settings(
    bridge: State<'_, Bridge>,
    settings: Settings,
) -> Result<Value, CommandError> {
    bridge.call(Request::SaveSettings { settings }).await
}
