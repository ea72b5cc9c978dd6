//! What the window may ask of the tray process, and the one place that answers it.
//! Runs on the tray process' runtime, one task per request (see `bridge::serve`).

use std::sync::Arc;

use printrelay_agent::admin::AdminValues;
use printrelay_agent::settings::{Settings, SettingsStore};
use printrelay_agent::store::JobQuery;
use printrelay_agent::warning::Warning;
use printrelay_agent::{Agent, Snapshot};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::autostart::{self, Autostart, AutostartState};
use crate::error::{CommandError, ErrorCode};

/// A request from the window: `{"command": "...", "args": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "command",
    content = "args",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Request {
    /// Everything the window shows when it opens: a [`DesktopSnapshot`].
    Snapshot,
    /// A fresh round of connect attempts.
    Reconnect,
    /// Pause or resume printing.
    SetPaused { paused: bool },
    /// The machine's printers.
    Printers,
    /// A test page on `printer` (or the selected one); answers the new job id.
    TestPrint { printer: Option<String> },
    /// A page of the job history.
    QueryJobs { query: JobQuery },
    /// Cancel a queued or spooled job; answers its record.
    CancelJob { job_id: String },
    /// Print a past job again; answers the new job id.
    Reprint { job_id: String },
    /// Every problem of a settings draft (inline validation); nothing is applied.
    CheckSettings { settings: Settings },
    /// Validate, save and apply settings, and set autostart; answers [`SavedSettings`].
    SaveSettings { settings: Settings },
}

/// The agent's snapshot plus what only the desktop shell knows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesktopSnapshot {
    #[serde(flatten)]
    pub agent: Snapshot,
    pub autostart: AutostartState,
    /// Settings fields the administrator's policy fixed (settings.json names): shown
    /// locked, refused on save.
    pub locked: Vec<String>,
    /// Things the user should know from start-up (e.g. a settings file kept aside).
    pub warnings: Vec<Warning>,
}

/// The answer to [`Request::SaveSettings`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedSettings {
    pub settings: Settings,
    pub autostart: AutostartState,
}

/// What the tray process holds for answering requests.
#[derive(Debug)]
pub struct Desktop {
    /// The running agent, or why it did not start.
    pub agent: Result<Agent, String>,
    pub settings_store: SettingsStore,
    pub autostart: Arc<dyn Autostart>,
    /// The administrator's policy the settings are under.
    pub policy: AdminValues,
    pub warnings: Vec<Warning>,
}

impl Desktop {
    fn agent(&self) -> Result<&Agent, CommandError> {
        self.agent
            .as_ref()
            .map_err(|why| CommandError::new(ErrorCode::AgentNotRunning, why.clone()))
    }

    /// Answers one request.
    pub async fn handle(&self, request: Request) -> Result<Value, CommandError> {
        let agent = self.agent()?;
        match request {
            Request::Snapshot => to_value(DesktopSnapshot {
                agent: agent.snapshot().await,
                autostart: autostart::state(self.autostart.as_ref(), None),
                locked: self.policy.fields(),
                warnings: self.warnings.clone(),
            }),
            Request::Reconnect => {
                agent.reconnect().await;
                Ok(Value::Null)
            }
            Request::SetPaused { paused } => {
                agent.set_paused(paused);
                Ok(Value::Null)
            }
            Request::Printers => to_value(agent.printers().await),
            Request::TestPrint { printer } => to_value(agent.test_print(printer).await),
            Request::QueryJobs { query } => to_value(agent.query_jobs(query).await?),
            Request::CancelJob { job_id } => to_value(agent.cancel_job(&job_id).await?),
            Request::Reprint { job_id } => to_value(agent.reprint(&job_id).await?),
            Request::CheckSettings { settings } => to_value(self.problems(agent, &settings).await),
            Request::SaveSettings { settings } => to_value(self.save(agent, settings).await?),
        }
    }

    /// Every problem of `settings`, including a printer this machine does not have.
    async fn problems(&self, agent: &Agent, settings: &Settings) -> Vec<CommandError> {
        let mut problems: Vec<CommandError> =
            settings.problems().into_iter().map(Into::into).collect();
        if let Some(locked) = self.policy.refused_change(settings) {
            problems.push(locked.into());
        }
        if let Some(printer) = &settings.printer {
            let printers = agent.printers().await;
            if !printers.iter().any(|p| &p.system_name == printer) {
                problems.push(CommandError {
                    code: ErrorCode::InvalidSettings,
                    message: format!("printer: {printer:?} is not a printer of this computer"),
                    field: Some("printer".into()),
                });
            }
        }
        problems
    }

    /// Checks, saves, applies; a bad value changes nothing.
    async fn save(&self, agent: &Agent, settings: Settings) -> Result<SavedSettings, CommandError> {
        if let Some(problem) = self.problems(agent, &settings).await.into_iter().next() {
            return Err(problem);
        }
        self.settings_store.save(&settings)?;
        agent.update_settings(settings.clone()).await?;
        let changed = self.autostart.set(settings.autostart).err();
        if let Some(error) = &changed {
            tracing::warn!(%error, "cannot change the autostart entry");
        }
        Ok(SavedSettings {
            autostart: autostart::state(self.autostart.as_ref(), changed),
            settings,
        })
    }
}

fn to_value(value: impl Serialize) -> Result<Value, CommandError> {
    serde_json::to_value(value).map_err(|e| CommandError::new(ErrorCode::Store, e.to_string()))
}
