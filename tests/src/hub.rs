//! Our hub (`printrelay-hub`) as the tests run it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use tokio::process::Command;
use tokio::time::Instant;

use crate::common::{artifacts_dir, http_client, unique_marker, workspace_binary};
use crate::process::{spawn_listening, Process};

/// PrintRelay's hub (`printrelay-hub`), on a free port with its own database.
#[derive(Debug)]
pub struct Hub {
    pub process: Process,
    pub port: u16,
    /// The API token the helpers send (the first `--api-token` it was started with).
    pub api_token: Option<String>,
    /// Its stderr (logs), under `artifacts/logs/`.
    pub log: PathBuf,
}

impl Hub {
    /// Starts the hub on a free port with the database at `db`.
    pub async fn start(db: &Path, ping_interval: u64, ping_timeout: u64) -> Result<Self> {
        Self::start_with(db, ping_interval, ping_timeout, &[]).await
    }

    /// As [`Hub::start`], with extra flags (e.g. `--agent-token`); the helpers below send
    /// the first `--api-token` among them.
    pub async fn start_with(
        db: &Path,
        ping_interval: u64,
        ping_timeout: u64,
        flags: &[&str],
    ) -> Result<Self> {
        Self::start_at(0, db, ping_interval, ping_timeout, flags).await
    }

    /// As [`Hub::start_with`], on loopback `port` (0 picks a free one): a restarted hub
    /// takes its predecessor's port so agents find it again.
    pub async fn start_at(
        port: u16,
        db: &Path,
        ping_interval: u64,
        ping_timeout: u64,
        flags: &[&str],
    ) -> Result<Self> {
        let listen = format!("127.0.0.1:{port}");
        Self::start_listening(&listen, db, ping_interval, ping_timeout, flags).await
    }

    /// As [`Hub::start_with`], listening on `listen` (`0.0.0.0:0` needs long tokens); the
    /// helpers below still reach it on 127.0.0.1.
    pub async fn start_listening(
        listen: &str,
        db: &Path,
        ping_interval: u64,
        ping_timeout: u64,
        flags: &[&str],
    ) -> Result<Self> {
        let dir = artifacts_dir().join("logs");
        std::fs::create_dir_all(&dir)?;
        let log = dir.join(format!("{}.log", unique_marker("hub")));
        let mut command = Command::new(workspace_binary("printrelay-hub")?);
        command
            .args(["--listen", listen, "--db"])
            .arg(db)
            .args(["--ping-interval-ms", &ping_interval.to_string()])
            .args(["--ping-timeout-ms", &ping_timeout.to_string()])
            .args(flags)
            .stderr(Stdio::from(std::fs::File::create(&log)?));
        without_hub_env(command.as_std_mut());
        let (process, port) = spawn_listening(&mut command, "printrelay-hub").await?;
        let api_token = flags
            .windows(2)
            .find(|pair| pair[0] == "--api-token")
            .map(|pair| pair[1].to_owned());
        Ok(Self {
            process,
            port,
            api_token,
            log,
        })
    }

    /// The JSON log lines (`--log-format json`) written so far. Every complete line must
    /// be JSON (a hub started in text format, or a stray print, is an error naming the
    /// line); only a last line without its newline yet is left for the next read.
    pub fn json_logs(&self) -> Result<Vec<Value>> {
        let text = std::fs::read_to_string(&self.log)?;
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                serde_json::from_str(line).with_context(|| {
                    format!(
                        "{} line {}: not JSON: {line}",
                        self.log.display(),
                        index + 1
                    )
                })
            })
            .collect()
    }

    /// A request to `path` on the hub, with the API token if it has one.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = http_client().request(method, format!("{}{path}", self.url()));
        match &self.api_token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `POST /api/v1/jobs` -> (status code, body).
    pub async fn submit(&self, job: &Value) -> Result<(u16, Value)> {
        let response = self
            .request(reqwest::Method::POST, "/api/v1/jobs")
            .json(job)
            .send()
            .await?;
        Ok((response.status().as_u16(), response.json().await?))
    }

    /// Submits `bytes` as a `raw_base64` job for `printer` and checks it is accepted
    /// (202).
    pub async fn submit_raw(
        &self,
        client_id: &str,
        job_id: &str,
        printer: &str,
        bytes: &[u8],
    ) -> Result<()> {
        use base64::Engine as _;
        let content = base64::engine::general_purpose::STANDARD.encode(bytes);
        let job = serde_json::json!({"clientId": client_id, "jobId": job_id, "printer": printer,
            "contentType": "raw_base64", "content": content});
        let (status, body) = self.submit(&job).await?;
        if status != 202 {
            bail!("job {job_id} not accepted ({status}): {body}");
        }
        Ok(())
    }

    /// `GET /api/v1/jobs/{id}` (`None` when unknown).
    pub async fn job(&self, job_id: &str) -> Result<Option<Value>> {
        let response = self
            .request(reqwest::Method::GET, &format!("/api/v1/jobs/{job_id}"))
            .send()
            .await?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        Ok(Some(response.json().await?))
    }

    /// Polls a job until it is in `state`.
    pub async fn wait_for_job_state(
        &self,
        job_id: &str,
        state: &str,
        limit: Duration,
    ) -> Result<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let job = self.job(job_id).await?;
            if job.as_ref().is_some_and(|j| j["state"] == state) {
                return job.ok_or_else(|| anyhow!("vanished"));
            }
            if Instant::now() >= deadline {
                bail!("job {job_id} not {state} within {limit:?}: {job:?}");
            }
            // The plain HTTP view of a sender that does not subscribe to events.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Clears every `PRINTRELAY_HUB_*` variable from `command`, so a test's hub reads only
/// the flags and files the test gives it.
pub fn without_hub_env(command: &mut std::process::Command) -> &mut std::process::Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PRINTRELAY_HUB_") {
            command.env_remove(name);
        }
    }
    command
}
