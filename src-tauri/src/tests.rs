//! Command/IPC tests on tauri's mock runtime: a mock webview invokes the real commands,
//! which cross a real bridge (in-memory pipes) to a `Desktop` over a real agent core with
//! an in-memory spooler.

use std::sync::Arc;
use std::time::Duration;

use printrelay_agent::admin::AdminValues;
use printrelay_agent::printing::FakeBackend;
use printrelay_agent::settings::{Settings, SettingsStore};
use printrelay_agent::store::Store;
use printrelay_agent::warning::{Warning, WarningCode};
use printrelay_agent::Agent;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

use crate::autostart::MemoryAutostart;
use crate::bridge::{self, Bridge};
use crate::control::Desktop;

struct Harness {
    webview: WebviewWindow<tauri::test::MockRuntime>,
    desktop: Arc<Desktop>,
    autostart: Arc<MemoryAutostart>,
    _app: tauri::App<tauri::test::MockRuntime>,
    _dir: tempfile::TempDir,
}

const PRINTER: &str = "Office";

fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        server_url: String::new(),
        client_id: "pc-1".into(),
        ..Settings::default()
    };
    let backend = Arc::new(FakeBackend::with_printer(PRINTER));
    let store = Store::in_memory().expect("store");
    let agent = tauri::async_runtime::block_on(Agent::start(settings, backend, store))
        .expect("agent starts");
    let autostart = Arc::new(MemoryAutostart::default());
    let desktop = Arc::new(Desktop {
        agent: Ok(agent),
        settings_store: SettingsStore::new(dir.path().join("settings.json")),
        autostart: autostart.clone(),
        // The administrator fixed one field the other tests leave alone.
        policy: AdminValues::from_pairs(
            "test policy",
            [("allowServerPrinterChoice".to_owned(), json!(false))],
        )
        .values,
        warnings: vec![Warning::new(
            WarningCode::SettingsFromCopy,
            "kept a broken file aside",
        )],
    });
    let (window_end, tray_end) = tokio::io::duplex(1 << 20);
    let (tray_read, tray_write) = tokio::io::split(tray_end);
    let (window_read, window_write) = tokio::io::split(window_end);
    let (outbox, outgoing) = tokio::sync::mpsc::unbounded_channel();
    tauri::async_runtime::spawn(bridge::serve(
        Arc::clone(&desktop),
        tray_read,
        tray_write,
        outbox,
        outgoing,
    ));
    let bridge = Bridge::connect(window_read, window_write, |_| {}, || {});
    let app = crate::commands::register(mock_builder())
        .build(mock_context(noop_assets()))
        .expect("mock app");
    app.manage(bridge);
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("mock webview");
    Harness {
        webview,
        desktop,
        autostart,
        _app: app,
        _dir: dir,
    }
}

impl Harness {
    fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: command.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // The origin of the app's own pages on Linux and macOS.
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.webview, request)
            .map(|body| body.deserialize::<Value>().expect("json"))
    }

    fn settings(&self) -> Value {
        self.invoke("snapshot", json!({})).expect("snapshot")["settings"].clone()
    }

    /// The job as the history shows it, when it is in `state`.
    fn job_in(&self, job_id: &str, state: &str) -> Option<Value> {
        let page = self
            .invoke("query_jobs", json!({"query": {"text": job_id}}))
            .expect("query");
        let job = page["jobs"].as_array()?.first()?;
        (job["state"] == state).then(|| job.clone())
    }

    /// Waits until `job_id` reaches `state`: looks once, then waits for the agent's job
    /// events (subscribed before the look, so no change falls between the two).
    fn wait_for_job(&self, job_id: &str, state: &str) -> Value {
        let agent = self.desktop.agent.as_ref().expect("agent");
        let mut events = agent.subscribe();
        if let Some(job) = self.job_in(job_id, state) {
            return job;
        }
        // The timer is made inside the runtime's context.
        let reached = tauri::async_runtime::block_on(async {
            tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    match events.recv().await {
                        Ok(printrelay_agent::AgentEvent::Job(job))
                            if job.job_id == job_id
                                && serde_json::to_value(job.state).ok() == Some(json!(state)) =>
                        {
                            return true
                        }
                        Ok(_) => {}
                        // Missed events: the history has the truth.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            if self.job_in(job_id, state).is_some() {
                                return true;
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                    }
                }
            })
            .await
        });
        assert_eq!(reached, Ok(true), "{job_id} never {state}");
        self.job_in(job_id, state)
            .expect("the history agrees with the event")
    }
}

#[test]
fn snapshot_carries_agent_state_autostart_and_startup_warnings() {
    let h = harness();
    let snapshot = h.invoke("snapshot", json!({})).expect("snapshot");
    assert_eq!(snapshot["connection"]["state"], "idle");
    assert_eq!(snapshot["settings"]["clientId"], "pc-1");
    assert_eq!(snapshot["paused"], false);
    assert_eq!(
        snapshot["autostart"],
        json!({"enabled": false, "error": null})
    );
    assert_eq!(
        snapshot["warnings"],
        json!([{"code": "settings_from_copy", "detail": "kept a broken file aside"}])
    );
}

#[test]
fn a_bad_value_is_refused_with_its_field_and_changes_nothing() {
    let h = harness();
    let mut draft = h.settings();
    draft["serverUrl"] = json!("ftp://example");
    draft["reconnect"]["attempts"] = json!(0);
    let problems = h
        .invoke("check_settings", json!({"settings": draft}))
        .expect("check");
    let fields: Vec<_> = problems
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(fields, ["serverUrl", "reconnect.attempts"]);
    let refused = h
        .invoke("save_settings", json!({"settings": draft}))
        .expect_err("refused");
    assert_eq!(refused["code"], "invalid_settings");
    assert_eq!(refused["field"], "serverUrl");
    assert_eq!(h.settings()["serverUrl"], "");
    assert!(!h.desktop.settings_store.path().exists());

    draft = h.settings();
    draft["printer"] = json!("No Such Printer");
    let refused = h
        .invoke("save_settings", json!({"settings": draft}))
        .expect_err("refused");
    assert_eq!(refused["field"], "printer");
    // Not even an object of the right shape: tauri refuses it before it reaches us.
    assert!(h
        .invoke("save_settings", json!({"settings": {"clientId": 7}}))
        .is_err());
}

#[test]
fn a_field_the_policy_fixed_shows_locked_and_a_change_to_it_is_refused_by_name() {
    let h = harness();
    let snapshot = h.invoke("snapshot", json!({})).expect("snapshot");
    assert_eq!(snapshot["locked"], json!(["allowServerPrinterChoice"]));
    let mut draft = h.settings();
    draft["allowServerPrinterChoice"] = json!(true);
    let refused = h
        .invoke("save_settings", json!({"settings": draft}))
        .expect_err("refused");
    assert_eq!(refused["code"], "locked_by_policy");
    assert_eq!(refused["field"], "allowServerPrinterChoice");
    assert_eq!(h.settings()["allowServerPrinterChoice"], false);
    assert!(!h.desktop.settings_store.path().exists());
}

#[test]
fn good_settings_are_saved_applied_and_autostart_follows() {
    let h = harness();
    let mut draft = h.settings();
    draft["clientId"] = json!("front-desk");
    draft["printer"] = json!(PRINTER);
    draft["autostart"] = json!(true);
    draft["language"] = json!("zh-CN");
    let saved = h
        .invoke("save_settings", json!({"settings": draft}))
        .expect("saved");
    assert_eq!(saved["autostart"]["enabled"], true);
    assert!(*h.autostart.0.lock().expect("lock"));
    assert_eq!(h.settings()["clientId"], "front-desk");
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(h.desktop.settings_store.path()).expect("file written"),
    )
    .expect("json");
    assert_eq!(file["printer"], PRINTER);
    assert_eq!(file["language"], "zh-CN");
}

#[test]
fn jobs_can_be_printed_listed_reprinted_and_not_cancelled_when_done() {
    let h = harness();
    let printers = h.invoke("printers", json!({})).expect("printers");
    assert_eq!(printers[0]["systemName"], PRINTER);
    let job_id = h
        .invoke("test_print", json!({"printer": PRINTER}))
        .expect("queued");
    let job_id = job_id.as_str().expect("an id");
    let job = h.wait_for_job(job_id, "completed");
    assert_eq!(job["printer"], PRINTER);
    let refused = h
        .invoke("cancel_job", json!({"jobId": job_id}))
        .expect_err("finished");
    assert_eq!(refused["code"], "job_finished");
    let unknown = h
        .invoke("cancel_job", json!({"jobId": "nope"}))
        .expect_err("unknown");
    assert_eq!(unknown["code"], "job_not_found");
    let again = h
        .invoke("reprint", json!({"jobId": job_id}))
        .expect("reprint");
    let again = h.wait_for_job(again.as_str().expect("id"), "completed");
    assert_eq!(again["reprintOf"], job_id);
}

#[test]
fn pausing_shows_in_the_snapshot() {
    let h = harness();
    h.invoke("set_paused", json!({"paused": true}))
        .expect("paused");
    assert_eq!(
        h.invoke("snapshot", json!({})).expect("snapshot")["paused"],
        true
    );
}
