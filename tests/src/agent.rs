//! The headless agent as the tests run it (`run --events json`), its folders, and its
//! events read line by line.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};
use tokio::time::Instant;

use crate::common::{artifacts_dir, wall_ms, workspace_binary};
use crate::process::Process;

/// The agent's stderr goes to `artifacts/logs/agent-<client id>.log`, kept for reviewers
/// and out of the test runner's output.
fn agent_log(client_id: &str) -> Result<Stdio> {
    let dir = artifacts_dir().join("logs");
    std::fs::create_dir_all(&dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("agent-{client_id}.log")))?;
    Ok(Stdio::from(file))
}

/// The settings and data folders of one agent install, kept across restarts.
#[derive(Debug)]
pub struct AgentHome(tempfile::TempDir);

impl AgentHome {
    /// A fresh, empty install.
    pub fn new() -> Result<Self> {
        Ok(Self(tempfile::tempdir()?))
    }

    /// The install's folder (`config/` and `data/` go below it).
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// The agent's database (jobs, status outbox, connection history).
    pub fn database(&self) -> PathBuf {
        self.path().join("data").join("agent.db")
    }

    /// Statuses waiting in the agent's outbox (the agent is another process).
    pub fn outbox_len(&self) -> Result<u64> {
        let db = rusqlite::Connection::open_with_flags(
            self.database(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        Ok(db.query_row("SELECT COUNT(*) FROM status_outbox", [], |r| r.get(0))?)
    }

    /// Waits until the agent's status outbox is empty.
    pub async fn wait_for_empty_outbox(&self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let left = self.outbox_len()?;
            if left == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{left} statuses still in the agent's outbox after {limit:?}");
            }
            // Another process's database, with no way to be told; poll it.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The headless agent, started with `--events json`, its stdout read line by line.
#[derive(Debug)]
pub struct Agent {
    pub process: Process,
    lines: Lines<BufReader<ChildStdout>>,
    /// Every event line seen so far.
    pub seen: Vec<Value>,
    /// The folders of an agent started without a home of the caller's: they live as
    /// long as the agent (dropped with the test's handle, after the process).
    own_home: Option<AgentHome>,
}

impl Agent {
    /// Starts `printrelay-agent run` against `server` with its own settings and data folders.
    pub async fn start(server: &str, client_id: &str, printer: &str) -> Result<Self> {
        Self::start_with(server, client_id, printer, &[]).await
    }

    /// As [`Agent::start`], with extra `run` flags (e.g. `--reconnect-attempts 3`).
    pub async fn start_with(
        server: &str,
        client_id: &str,
        printer: &str,
        flags: &[&str],
    ) -> Result<Self> {
        let home = AgentHome::new()?;
        let mut agent = Self::start_in(&home, server, client_id, printer, flags).await?;
        agent.own_home = Some(home);
        Ok(agent)
    }

    /// Starts the agent on the folders of `home`, which may be reused across restarts.
    pub async fn start_in(
        home: &AgentHome,
        server: &str,
        client_id: &str,
        printer: &str,
        flags: &[&str],
    ) -> Result<Self> {
        Self::start_in_env(home, server, client_id, printer, flags, &[]).await
    }

    /// As [`Agent::start_in`], with extra environment variables (e.g. `SSL_CERT_FILE`).
    pub async fn start_in_env(
        home: &AgentHome,
        server: &str,
        client_id: &str,
        printer: &str,
        flags: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Result<Self> {
        let mut command = Command::new(workspace_binary("printrelay-agent")?);
        command
            .env("PRINTRELAY_CONFIG_DIR", home.path().join("config"))
            .env("PRINTRELAY_DATA_DIR", home.path().join("data"))
            .env_remove("PRINTRELAY_TOKEN")
            .envs(env.iter().copied());
        Self::spawn(command, server, client_id, printer, flags).await
    }

    /// Starts `run` through `command` (the agent binary, or Wine running the .exe, with
    /// its environment set) and reads its events.
    pub async fn spawn(
        mut command: Command,
        server: &str,
        client_id: &str,
        printer: &str,
        flags: &[&str],
    ) -> Result<Self> {
        let mut child = command
            .args(["run", "--events", "json"])
            .args([
                "--server",
                server,
                "--client-id",
                client_id,
                "--printer",
                printer,
            ])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(agent_log(client_id)?)
            .kill_on_drop(true)
            .spawn()
            .context("starting printrelay-agent")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        Ok(Self {
            process: Process::new(child),
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
            own_home: None,
        })
    }

    /// Reads events until one matches `wanted`, failing after `limit`.
    pub async fn wait_for(
        &mut self,
        limit: Duration,
        what: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let line = match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
                Err(_) => bail!(
                    "no event '{what}' within {limit:?}; last events: {:#?}",
                    self.tail()
                ),
                Ok(line) => line?.ok_or_else(|| {
                    anyhow!(
                        "agent exited while waiting for '{what}'; last events: {:#?}",
                        self.tail()
                    )
                })?,
            };
            let event: Value =
                serde_json::from_str(&line).with_context(|| format!("not JSON: {line}"))?;
            self.seen.push(event.clone());
            if wanted(&event) {
                return Ok(event);
            }
        }
    }

    /// Waits for a connection state by name (`connected`, `gaveUp`, ...).
    pub async fn wait_for_state(&mut self, state: &str, limit: Duration) -> Result<Value> {
        self.wait_for(limit, state, |e| {
            e["type"] == "connection" && e["payload"]["state"] == state
        })
        .await
    }

    /// Waits for a job event in `state`.
    pub async fn wait_for_job(&mut self, state: &str, limit: Duration) -> Result<Value> {
        self.wait_for(limit, state, |e| {
            e["type"] == "job" && e["payload"]["state"] == state
        })
        .await
    }

    /// Waits for the next heartbeat event.
    pub async fn wait_for_heartbeat(&mut self, limit: Duration) -> Result<Value> {
        self.wait_for(limit, "heartbeat", |e| {
            e["type"] == "heartbeat" && !e["payload"]["lastPingAt"].is_null()
        })
        .await
    }

    /// Waits until the agent has gone quiet: every job it announced has ended, and a
    /// server ping (a new `lastPingAt`) arrives with no job event since the ping before
    /// it. Counting prints after this catches a duplicate that comes late (a re-delivery
    /// after a reconnect, a resumed job): the agent announces every job it takes, and a
    /// ping interval with none is a pause the agent itself measured, not a guess.
    pub async fn settle(&mut self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        let mut last_ping = None;
        let mut job_since_ping = true;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .wait_for(left, "a quiet heartbeat", |e| {
                    e["type"] == "job" || e["type"] == "heartbeat"
                })
                .await?;
            if event["type"] == "job" {
                job_since_ping = true;
                continue;
            }
            let ping = event["payload"]["lastPingAt"].as_u64();
            if ping.is_none() || ping == last_ping {
                continue;
            }
            last_ping = ping;
            if !job_since_ping && self.unfinished_jobs().is_empty() {
                return Ok(());
            }
            job_since_ping = false;
        }
    }

    /// Jobs whose latest event so far is not a final state.
    pub fn unfinished_jobs(&self) -> Vec<String> {
        let mut latest: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for event in self.seen.iter().filter(|e| e["type"] == "job") {
            if let (Some(id), Some(state)) = (
                event["payload"]["jobId"].as_str(),
                event["payload"]["state"].as_str(),
            ) {
                latest.insert(id, state);
            }
        }
        latest
            .into_iter()
            .filter(|(_, state)| matches!(*state, "received" | "spooled"))
            .map(|(id, _)| id.to_owned())
            .collect()
    }

    /// Resident memory and thread count of the agent process, from /proc.
    pub fn rss_kib_and_threads(&self) -> Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.pid()?))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| anyhow!("no {name} in /proc status"))
        };
        Ok((field("VmRSS:")?, field("Threads:")?))
    }

    fn tail(&self) -> &[Value] {
        &self.seen[self.seen.len().saturating_sub(10)..]
    }

    /// Hands the rest of the event stream to a task that stamps each line as it is read,
    /// so the stamps stay true while the caller is busy elsewhere (sending a request).
    /// Every line of `--events json` is an event: a line that is not JSON arrives as an
    /// error naming it, and ends the stream.
    pub fn timed_events(
        self,
    ) -> (
        Process,
        tokio::sync::mpsc::UnboundedReceiver<Result<TimedEvent>>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut lines = self.lines;
        tokio::spawn(async move {
            let mut number = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                let (at, wall_ms) = (Instant::now(), wall_ms());
                number += 1;
                let event = serde_json::from_str(&line)
                    .map(|event| TimedEvent { at, wall_ms, event })
                    .map_err(|error| {
                        anyhow!("agent event line {number} is not JSON ({error}): {line}")
                    });
                let failed = event.is_err();
                if tx.send(event).is_err() || failed {
                    return;
                }
            }
        });
        (self.process, rx)
    }
}

/// An agent event and when the reader saw it.
#[derive(Debug, Clone)]
pub struct TimedEvent {
    /// Monotonic time the line was read.
    pub at: Instant,
    /// The same moment as milliseconds since the Unix epoch (the agent's own clock).
    pub wall_ms: u64,
    pub event: Value,
}
