//! What `printrelay-agent status` tells IT staff checking a PC: the settings in force
//! (the token only as set or not), which ones the administrator's policy fixed, what
//! was left out of the administrator's settings, and the last connection event the
//! agent on this account recorded. Read-only; built by the command, no task involved.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::admin::InForce;
use crate::store::ConnectionEvent;
use crate::warning::Warning;

/// The report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub version: &'static str,
    pub settings_file: String,
    pub server_url: String,
    pub client_id: String,
    /// Whether a token is set; the token itself is never shown.
    pub token_set: bool,
    /// `None`: the system default printer.
    pub printer: Option<String>,
    pub autostart: bool,
    /// Settings the administrator's policy fixed.
    pub locked: Vec<String>,
    pub warnings: Vec<Warning>,
    /// The newest connection event in this account's history, if any.
    pub last_connection: Option<ConnectionEvent>,
}

impl StatusReport {
    /// The report of `in_force`, read from `settings_file`, with the newest event.
    pub fn new(
        in_force: &InForce,
        settings_file: &std::path::Path,
        last_connection: Option<ConnectionEvent>,
    ) -> Self {
        let settings = &in_force.settings;
        Self {
            version: env!("CARGO_PKG_VERSION"),
            settings_file: settings_file.display().to_string(),
            server_url: settings.server_url.clone(),
            client_id: settings.client_id.clone(),
            token_set: settings.token.as_deref().is_some_and(|t| !t.is_empty()),
            printer: settings.printer.clone(),
            autostart: settings.autostart,
            locked: in_force.policy.fields(),
            warnings: in_force.warnings.clone(),
            last_connection,
        }
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let locked = |field: &str| {
            if self.locked.iter().any(|l| l == field) {
                "  (set by your administrator)"
            } else {
                ""
            }
        };
        writeln!(f, "PrintRelay agent {}", self.version)?;
        writeln!(f, "settings file  {}", self.settings_file)?;
        writeln!(
            f,
            "server         {}{}",
            self.server_url,
            locked("serverUrl")
        )?;
        writeln!(f, "client id      {}{}", self.client_id, locked("clientId"))?;
        let token = if self.token_set { "set" } else { "not set" };
        writeln!(f, "token          {token}{}", locked("token"))?;
        let printer = self.printer.as_deref().unwrap_or("system default");
        writeln!(f, "printer        {printer}{}", locked("printer"))?;
        let autostart = if self.autostart { "on" } else { "off" };
        writeln!(f, "autostart      {autostart}{}", locked("autostart"))?;
        if !self.locked.is_empty() {
            writeln!(f, "policy fixes   {}", self.locked.join(", "))?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning        {:?}: {}", warning.code, warning.detail)?;
        }
        match &self.last_connection {
            Some(event) => {
                let when = time::OffsetDateTime::from_unix_timestamp((event.at / 1000) as i64)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                let state = event.event["state"].as_str().unwrap_or("?");
                let error = match &event.event["lastError"] {
                    Value::String(e) => format!(" ({e})"),
                    _ => String::new(),
                };
                write!(f, "last event     {when} {state}{error}")
            }
            None => write!(f, "last event     none recorded yet"),
        }
    }
}
