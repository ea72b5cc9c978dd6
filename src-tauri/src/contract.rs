//! Samples of everything the UI receives, serialized by the real Rust types into
//! tests/ui/contract.json. A test here keeps that file current; tests/ui/contract.test.mjs
//! feeds it to the UI's code, so a change on one side that the other does not follow fails.

use printrelay_agent::connection::{ConnectionState, Heartbeat, Problem, Transport};
use printrelay_agent::printing::{PrinterInfo, PrinterState};
use printrelay_agent::protocol::JobState;
use printrelay_agent::protocol::{ErrorCode as JobErrorCode, JobError};
use printrelay_agent::record::{DocumentKind, JobRecord};
use printrelay_agent::settings::{Settings, SettingsError};
use printrelay_agent::store::{ConnectionEvent, JobPage};
use printrelay_agent::warning::{Warning, WarningCode};
use printrelay_agent::{AgentEvent, Snapshot};
use serde_json::{json, Value};

use crate::autostart::AutostartState;
use crate::control::{DesktopSnapshot, SavedSettings};
use crate::error::{CommandError, ErrorCode};

const AT: u64 = 1_764_000_000_000;

fn job(state: JobState) -> JobRecord {
    JobRecord {
        job_id: format!("job-{state:?}").to_lowercase(),
        title: "Invoice 42".into(),
        printer: Some("Labels".into()),
        state,
        size_bytes: 2048,
        copies: 1,
        received_at: AT,
        updated_at: AT + 250,
        spooler_job_id: Some(17),
        error: matches!(state, JobState::Failed | JobState::Rejected)
            .then(|| JobError::new(JobErrorCode::PrinterNotFound, "no printer \"Labels\"")),
        reprint_of: None,
        kind: Some(DocumentKind::Html),
    }
}

/// Every connection problem code, each of which the UI must put into words.
fn connection_problems() -> Vec<Problem> {
    let all = [
        Problem::ServerUnreachable,
        Problem::NameNotFound,
        Problem::CertificateUntrusted,
        Problem::ProxyFailed,
        Problem::TokenRefused,
        Problem::ServerRefused,
        Problem::NotSocketIo,
        Problem::Timeout,
        Problem::InvalidUrl,
        Problem::ConnectionLost,
    ];
    // A new code fails to compile here until it is listed above.
    for problem in all {
        match problem {
            Problem::ServerUnreachable
            | Problem::NameNotFound
            | Problem::CertificateUntrusted
            | Problem::ProxyFailed
            | Problem::TokenRefused
            | Problem::ServerRefused
            | Problem::NotSocketIo
            | Problem::Timeout
            | Problem::InvalidUrl
            | Problem::ConnectionLost => {}
        }
    }
    all.to_vec()
}

fn connection_states() -> Vec<ConnectionState> {
    vec![
        ConnectionState::Idle,
        ConnectionState::Connecting {
            attempt: 1,
            max_attempts: 5,
        },
        ConnectionState::Connected {
            since: AT,
            sid: "sid-1".into(),
            transport: Transport::Websocket,
        },
        ConnectionState::Connected {
            since: AT,
            sid: "sid-2".into(),
            transport: Transport::Polling,
        },
        ConnectionState::Reconnecting {
            attempt: 2,
            max_attempts: 5,
            retry_at: AT + 3000,
            last_error: "connection refused".into(),
            problem: printrelay_agent::connection::Problem::ServerUnreachable,
        },
        ConnectionState::GaveUp {
            attempts: 5,
            last_error: "connection refused".into(),
            problem: printrelay_agent::connection::Problem::ServerUnreachable,
            retry_at: Some(AT + 60_000),
        },
        ConnectionState::Kicked {
            reason: "server namespace disconnect".into(),
        },
        ConnectionState::Stopped,
    ]
}

fn settings() -> Settings {
    Settings {
        client_id: "front-desk".into(),
        printer: Some("Labels".into()),
        token: Some("secret".into()),
        ..Settings::default()
    }
}

/// Every sample, keyed by what the UI does with it.
/// One warning of every code, each of which the UI must put into words.
fn warnings() -> Vec<Warning> {
    use WarningCode::*;
    let all = [
        SettingsFromCopy,
        SettingsReset,
        AutostartNotRenewed,
        SettingsMigrated,
        AdminSettingUnusable,
    ];
    // A new code fails to compile here until it is listed above.
    for code in all {
        match code {
            SettingsFromCopy | SettingsReset | AutostartNotRenewed | SettingsMigrated
            | AdminSettingUnusable => {}
        }
    }
    all.into_iter()
        .map(|code| Warning::new(code, "the settings file /home/u/.config/printrelay/settings.json was unusable (os error 13)"))
        .collect()
}

/// Every job error code, each of which the UI must put into words.
fn job_error_codes() -> Vec<JobErrorCode> {
    JobErrorCode::ALL.to_vec()
}

/// Every command error code, each of which the UI must put into words.
fn command_error_codes() -> Vec<ErrorCode> {
    use ErrorCode::*;
    let all = [
        AgentNotRunning,
        InvalidSettings,
        LockedByPolicy,
        SettingsNotSaved,
        JobNotFound,
        JobFinished,
        Store,
        Spooler,
        Autostart,
        Disconnected,
    ];
    // A new code fails to compile here until it is listed above.
    for code in all {
        match code {
            AgentNotRunning | InvalidSettings | LockedByPolicy | SettingsNotSaved | JobNotFound
            | JobFinished | Store | Spooler | Autostart | Disconnected => {}
        }
    }
    all.to_vec()
}

/// What the tray process says itself, per language: the tooltip of every connection
/// state (also paused), the menu, and every notification (a failed job per error code,
/// giving up per problem), for the UI tests' language checks.
fn shell_texts() -> Value {
    use crate::i18n::{Lang, Text};
    use crate::tray::TrayModel;
    let mut out = serde_json::Map::new();
    for (name, lang) in [("en", Lang::En), ("zh-CN", Lang::ZhCn)] {
        let tooltips: Vec<String> = connection_states()
            .into_iter()
            .flat_map(|state| {
                [false, true].map(|paused| {
                    TrayModel {
                        state: state.clone(),
                        paused,
                        client_id: "pc-1".into(),
                        printer: None,
                        lang,
                    }
                    .tooltip()
                })
            })
            .collect();
        let menu: Vec<&str> = [
            Text::ShowWindow,
            Text::Reconnect,
            Text::Pause,
            Text::Resume,
            Text::Quit,
        ]
        .map(|key| lang.text(key))
        .to_vec();
        let mut notifications = Vec::new();
        for code in job_error_codes() {
            let mut failed = job(JobState::Failed);
            failed.title = String::new();
            failed.job_id = "42".into();
            failed.error = Some(JobError::new(code, "raw detail"));
            let event = AgentEvent::Job(failed);
            notifications.extend(crate::notify::notice_for(
                &event,
                &ConnectionState::Idle,
                lang,
            ));
        }
        for problem in connection_problems() {
            let event = AgentEvent::Connection(ConnectionState::GaveUp {
                attempts: 5,
                last_error: "raw detail".into(),
                problem,
                retry_at: None,
            });
            notifications.extend(crate::notify::notice_for(
                &event,
                &ConnectionState::Idle,
                lang,
            ));
        }
        let notifications: Vec<Value> = notifications
            .into_iter()
            .map(|n| json!({"title": n.title, "body": n.body}))
            .collect();
        out.insert(
            name.into(),
            json!({"tooltips": tooltips, "menu": menu, "notifications": notifications}),
        );
    }
    Value::Object(out)
}

pub fn samples() -> Value {
    let heartbeat = Heartbeat {
        last_ping_at: Some(AT),
        ping_interval_ms: 25_000,
        ping_timeout_ms: 20_000,
        dead_at: Some(AT + 45_000),
        rtt_ms: Some(3),
    };
    let states = [
        JobState::Received,
        JobState::Spooled,
        JobState::Completed,
        JobState::Failed,
        JobState::Rejected,
        JobState::Expired,
        JobState::Cancelled,
    ];
    let mut events: Vec<AgentEvent> = connection_states()
        .into_iter()
        .map(AgentEvent::Connection)
        .collect();
    events.push(AgentEvent::Heartbeat(heartbeat.clone()));
    events.extend(states.iter().map(|s| AgentEvent::Job(job(*s))));
    events.push(AgentEvent::Paused(true));
    events.push(AgentEvent::Settings(settings()));
    events.extend(warnings().into_iter().map(AgentEvent::Warning));
    let events: Vec<Value> = events
        .iter()
        .map(|e| json!({"channel": e.channel(), "event": e}))
        .collect();
    let snapshot = DesktopSnapshot {
        agent: Snapshot {
            connection: connection_states()[2].clone(),
            heartbeat,
            settings: settings(),
            connection_events: connection_states()
                .into_iter()
                .enumerate()
                .map(|(i, state)| ConnectionEvent {
                    at: AT + i as u64,
                    event: serde_json::to_value(state).unwrap_or_default(),
                })
                .collect(),
            paused: false,
        },
        autostart: AutostartState {
            enabled: true,
            error: None,
        },
        locked: vec!["serverUrl".into(), "token".into()],
        warnings: warnings(),
    };
    let mut bad = settings();
    bad.server_url = "ftp://x".into();
    bad.client_id = String::new();
    bad.reconnect.attempts = 0;
    bad.reconnect.delay_ms = 0;
    bad.reconnect.delay_max_ms = 0;
    bad.reconnect.connect_timeout_ms = 0;
    let mut problems: Vec<CommandError> = bad.problems().into_iter().map(Into::into).collect();
    problems.push(CommandError::from(SettingsError::ClientId));
    problems.push(CommandError::from(SettingsError::Locked("token".into())));
    problems.push(CommandError {
        field: Some("printer".into()),
        ..CommandError::from(SettingsError::ClientId)
    });
    json!({
        "events": events,
        "snapshot": snapshot,
        "connectionProblems": connection_problems(),
        "jobErrorCodes": job_error_codes(),
        "documentKinds": DocumentKind::ALL,
        "commandErrorCodes": command_error_codes(),
        "shell": shell_texts(),
        "printers": [
            PrinterInfo {
                name: "Label printer".into(),
                system_name: "Labels".into(),
                is_default: true,
                state: PrinterState::Ready,
                raw_queue: true,
            },
            PrinterInfo {
                name: "Office".into(),
                system_name: "Office".into(),
                is_default: false,
                state: PrinterState::Offline,
                raw_queue: false,
            },
        ],
        "jobPage": JobPage { jobs: vec![job(JobState::Completed)], total: 31 },
        "settingsProblems": problems,
        "savedSettings": SavedSettings {
            settings: settings(),
            autostart: AutostartState { enabled: false, error: Some("autostart: permission denied".into()) },
        },
    })
}

#[cfg(test)]
mod tests {
    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/ui/contract.json");
    const REGENERATE: &str = "cargo test -p printrelay-desktop regenerate_ui_contract -- --ignored";

    #[test]
    fn ui_contract_samples_are_current() {
        let stored: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(PATH).expect("tests/ui/contract.json"))
                .expect("json");
        assert_eq!(
            stored,
            super::samples(),
            "the UI contract changed: regenerate tests/ui/contract.json (`{REGENERATE}`) and update the UI"
        );
    }

    /// Writes tests/ui/contract.json from the samples. Ignored so that a normal run
    /// only compares; run it explicitly (see `REGENERATE`) after a deliberate change.
    #[test]
    #[ignore = "writes tests/ui/contract.json; run explicitly to regenerate it"]
    fn regenerate_ui_contract() {
        let text = serde_json::to_string_pretty(&super::samples()).expect("json") + "\n";
        std::fs::write(PATH, text).expect("write the contract");
    }
}
