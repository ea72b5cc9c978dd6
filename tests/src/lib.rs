//! Helpers for end-to-end tests: real processes (the headless agent, the Node reference
//! server), real CUPS queues set up by `scripts/setup.sh test`, and waits on their output.
//!
//! Every wait is bounded and fails with what was seen, so a broken run says why.

pub mod cutting_proxy;
pub mod desktop;
pub mod doc_server;
pub mod openapi;
pub mod procs;
pub mod raw_client;
pub mod skip;
pub mod sse;
pub mod webdriver;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::{timeout, Instant};

pub mod wine;

pub use sse::EventStream;

/// GET over plain HTTP with a shared client (the workspace builds reqwest with
/// rustls but no crypto provider, so one is installed first).
pub async fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    http_client().get(url).send().await
}

/// The shared HTTP client of the tests. An idle connection is reused for one second at
/// most: Node's server closes idle ones after five, and a request sent on a connection
/// closing at that moment fails ("error sending request"), which made a slow Wine test
/// fail now and then.
pub fn http_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(1))
            .build()
            .unwrap_or_default()
    })
}

/// Root of the repository.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where the test queues' backend writes jobs (see scripts/cups/printrelay-test).
pub fn spool_dir(queue: &str) -> PathBuf {
    let root = std::env::var_os("PRINTRELAY_TEST_SPOOL").map_or_else(
        || PathBuf::from("/var/spool/printrelay-test"),
        PathBuf::from,
    );
    root.join(queue)
}

/// The raw test queue created by the set-up script.
pub const RAW_QUEUE: &str = "PrintRelayRaw";

/// A built binary of this workspace, from the same profile as the running program: next
/// to it (a binary such as the bench) or one folder up (a test in `deps/`).
pub fn workspace_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let beside = exe.parent().map(|dir| dir.join(&file));
    let above = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(&file));
    let candidates: Vec<PathBuf> = [beside, above].into_iter().flatten().collect();
    match candidates.iter().find(|path| path.exists()) {
        Some(path) => Ok(path.clone()),
        None => bail!(
            "{file} is missing next to {}: run `cargo build --workspace` first (scripts/test.sh does)",
            exe.display()
        ),
    }
}

/// A child process that is killed when dropped.
#[derive(Debug)]
pub struct Process {
    pub child: Child,
    /// Kill the whole process group, not just the child (the child was started as a
    /// group leader and starts helpers of its own, e.g. dbus-run-session). A child
    /// found to lead its own group when dropped is treated the same.
    pub group: bool,
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // A group leader's helpers (dbus-run-session, WebKit processes, a second
            // window) share its group and would outlive it if only it were killed.
            if self.group || is_group_leader(pid) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
        }
        let _ = self.child.start_kill();
        // Reap it, so that no zombie or half-dead process is left holding ports, queues
        // or files for the next test. SIGKILL is not refused; the bound only keeps a
        // stuck kernel from hanging the test run.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if std::time::Instant::now() >= deadline => {
                    eprintln!("process {:?} not reaped within 5 s", self.child.id());
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// True when `pid` leads its own process group (it was started with `process_group(0)`
/// or called setsid), read from /proc: field 5 of `stat` is the group id.
fn is_group_leader(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The command name (field 2) is in parentheses and may contain spaces.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return false;
    };
    rest.split_whitespace().nth(2) == Some(pid.to_string().as_str())
}

impl Process {
    /// Wraps a child that is killed alone when dropped (with its group if it made one).
    pub fn new(child: Child) -> Self {
        Self {
            child,
            group: false,
        }
    }

    /// Wraps a child started with `process_group(0)`; its whole group is killed when dropped.
    pub fn group_leader(child: Child) -> Self {
        Self { child, group: true }
    }

    /// The OS process id.
    pub fn pid(&self) -> Result<u32> {
        self.child
            .id()
            .ok_or_else(|| anyhow!("process already exited"))
    }

    /// Sends a Unix signal (e.g. `"HUP"`, `"STOP"`, `"CONT"`, `"TERM"`).
    pub fn signal(&self, name: &str) -> Result<()> {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid()?.to_string())
            .status()?;
        if !status.success() {
            bail!("kill -{name} failed");
        }
        Ok(())
    }
}

/// Spawns a server that prints `{"listening": <port>}` as its first stdout line once it
/// accepts connections (the Node peer and the hub both do), and waits for that line.
pub async fn spawn_listening(command: &mut Command, what: &str) -> Result<(Process, u16)> {
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let line = timeout(Duration::from_secs(20), lines.next_line())
        .await
        .with_context(|| format!("{what} did not start within 20 s"))??
        .ok_or_else(|| anyhow!("{what} exited before listening"))?;
    let ready: Value = serde_json::from_str(&line)?;
    let port = ready["listening"]
        .as_u64()
        .ok_or_else(|| anyhow!("unexpected first line from {what}: {line}"))?;
    Ok((Process::new(child), port as u16))
}

/// The original server's `/startPrint` answer when the client got the job. Web systems
/// compare these three strings, so the stand-in and the hub must give them exactly.
pub const START_PRINT_ACCEPTED: &str = "参数已接收";
/// The original `/startPrint` answer for a client that registered once and is offline.
pub const START_PRINT_OFFLINE: &str = "客户端离线";
/// The original `/startPrint` answer for a client that never registered.
pub const START_PRINT_UNKNOWN: &str = "客户端不存在";

/// The reference Node server that behaves as the original one (tests/node/original-server.js).
#[derive(Debug)]
pub struct OriginalServer {
    pub process: Process,
    pub port: u16,
}

impl OriginalServer {
    /// Starts it on a free port with the given ping settings (milliseconds).
    pub async fn start(ping_interval: u64, ping_timeout: u64) -> Result<Self> {
        Self::start_with(0, ping_interval, ping_timeout, &[]).await
    }

    /// Starts it on `port` (0 picks a free one) with extra flags (e.g. `--ack-heartbeat`).
    pub async fn start_with(
        port: u16,
        ping_interval: u64,
        ping_timeout: u64,
        flags: &[&str],
    ) -> Result<Self> {
        let node_dir = repo_root().join("tests/node");
        if !node_dir.join("node_modules/socket.io").exists() {
            bail!("tests/node/node_modules is missing: run scripts/setup.sh test");
        }
        let mut command = Command::new("node");
        command
            .arg(node_dir.join("original-server.js"))
            .args(["--port", &port.to_string()])
            .args(["--ping-interval", &ping_interval.to_string()])
            .args(["--ping-timeout", &ping_timeout.to_string()])
            .args(flags)
            .stderr(Stdio::inherit());
        let (process, port) = spawn_listening(&mut command, "node server").await?;
        Ok(Self { process, port })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET /getStatus` -> the entry of `client_id`, if listed.
    pub async fn client_status(&self, client_id: &str) -> Result<Option<Value>> {
        client_status_at(&self.url(), client_id).await
    }

    /// `POST /emit`: emits each payload (`times` times) to the client as `print`.
    pub async fn emit_jobs(&self, client_id: &str, payloads: &[Value], times: usize) -> Result<()> {
        let body = serde_json::json!({"clientId": client_id, "payloads": payloads, "times": times});
        let response = http_client()
            .post(format!("{}/emit", self.url()))
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "emit failed: {}",
            response.text().await?
        );
        Ok(())
    }

    /// `POST /emit-big`: a raw job whose content is `megabytes` MiB of text.
    /// Emits `print` with a Buffer in it (a Socket.IO binary event) to `client_id`.
    pub async fn emit_binary_job(&self, client_id: &str, job_id: &str) -> Result<()> {
        let response = http_client()
            .post(format!(
                "{}/emit-binary?clientId={client_id}&jobId={job_id}",
                self.url()
            ))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "emit-binary: {}",
            response.status()
        );
        Ok(())
    }

    pub async fn emit_big_job(&self, client_id: &str, job_id: &str, megabytes: u32) -> Result<()> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/emit-big", self.url()),
            [
                ("clientId", client_id),
                ("jobId", job_id),
                ("megabytes", &megabytes.to_string()),
            ],
        )?;
        let response = http_client().post(url).send().await?;
        anyhow::ensure!(response.status().is_success(), "emit-big failed");
        Ok(())
    }

    /// `POST /emit-many`: `count` text jobs of `kib` KiB, ids `{prefix}-{i}`, all at once.
    pub async fn emit_many(
        &self,
        client_id: &str,
        prefix: &str,
        count: u32,
        kib: u32,
    ) -> Result<()> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/emit-many", self.url()),
            [
                ("clientId", client_id),
                ("prefix", prefix),
                ("count", &count.to_string()),
                ("kib", &kib.to_string()),
            ],
        )?;
        let response = http_client().post(url).send().await?;
        anyhow::ensure!(response.status().is_success(), "emit-many failed");
        Ok(())
    }

    /// `POST /replay`: emits again everything `/emit` sent to the client (a server that
    /// re-delivers after a reconnect).
    pub async fn replay(&self, client_id: &str) -> Result<()> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/replay", self.url()),
            [("clientId", client_id)],
        )?;
        let response = http_client().post(url).send().await?;
        anyhow::ensure!(response.status().is_success(), "replay failed");
        Ok(())
    }

    /// Every `job_status` the client sent, in order.
    pub async fn statuses(&self, client_id: &str) -> Result<Vec<Value>> {
        self.recorded("statuses", "statuses", client_id).await
    }

    /// Every `client_info` the client sent (`GET /client-infos`), oldest first.
    pub async fn client_infos(&self, client_id: &str) -> Result<Vec<Value>> {
        self.recorded("client-infos", "clientInfos", client_id)
            .await
    }

    /// What the stand-in recorded of `client_id` at `GET /<path>`: the array `key`.
    async fn recorded(&self, path: &str, key: &str, client_id: &str) -> Result<Vec<Value>> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/{path}", self.url()),
            [("clientId", client_id)],
        )?;
        let body: Value = http_get(url).await?.json().await?;
        // An error body (or a changed stand-in) must not read as "nothing yet".
        body[key]
            .as_array()
            .cloned()
            .ok_or_else(|| anyhow!("/{path} for {client_id}: no {key} array in {body}"))
    }

    /// `POST /emit` of one `event` with `data` (e.g. `cancel_job`, `refresh_printers`).
    pub async fn emit_event(&self, client_id: &str, event: &str, data: Value) -> Result<()> {
        let response = http_client()
            .post(format!("{}/emit", self.url()))
            .json(&json!({"clientId": client_id, "event": event, "payloads": [data]}))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "emit {event}: {}",
            response.status()
        );
        Ok(())
    }

    /// Polls `/statuses` until `done` holds for them.
    pub async fn wait_for_statuses(
        &self,
        client_id: &str,
        limit: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Result<Vec<Value>> {
        let deadline = Instant::now() + limit;
        loop {
            let statuses = self.statuses(client_id).await?;
            if done(&statuses) {
                return Ok(statuses);
            }
            if Instant::now() >= deadline {
                bail!(
                    "statuses never matched within {limit:?}; last: {:#?}",
                    &statuses[statuses.len().saturating_sub(5)..]
                );
            }
            // The peer is another process with no push channel to the test.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET /stats` -> `{sockets, engineClients}` (a test hook of the reference server).
    pub async fn stats(&self) -> Result<Value> {
        Ok(http_get(format!("{}/stats", self.url()))
            .await?
            .json()
            .await?)
    }

    /// `GET /kick` -> disconnects the client's socket from the server side.
    pub async fn kick(&self, client_id: &str) -> Result<Value> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/kick", self.url()),
            [("clientId", client_id)],
        )?;
        Ok(http_get(url).await?.json().await?)
    }

    /// `GET /startPrint` -> the server's answer.
    pub async fn start_print(&self, client_id: &str, print_data: &str) -> Result<Value> {
        start_print_at(&self.url(), client_id, print_data).await
    }
}

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

/// The seed of this run's random choices: `PRINTRELAY_TEST_SEED` when set (to replay a
/// failure), otherwise a fresh one.
pub fn test_seed() -> Result<u64> {
    match std::env::var("PRINTRELAY_TEST_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|error| anyhow::anyhow!("PRINTRELAY_TEST_SEED={text:?}: {error}")),
        Err(std::env::VarError::NotPresent) => {
            use std::hash::{BuildHasher, Hasher};
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(std::process::id() as u64);
            Ok(hasher.finish())
        }
        Err(error) => Err(anyhow::anyhow!("PRINTRELAY_TEST_SEED: {error}")),
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

/// The headless agent, started with `--events json`, its stdout read line by line.
#[derive(Debug)]
pub struct Agent {
    pub process: Process,
    lines: Lines<BufReader<ChildStdout>>,
    /// Every event line seen so far.
    pub seen: Vec<Value>,
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
        Self::start_in(&AgentHome::new()?, server, client_id, printer, flags).await
    }

    /// Starts the agent on the folders of `home`, which may be reused across restarts.
    pub async fn start_in(
        home: &AgentHome,
        server: &str,
        client_id: &str,
        printer: &str,
        flags: &[&str],
    ) -> Result<Self> {
        let mut command = Command::new(workspace_binary("printrelay-agent")?);
        command
            .env("PRINTRELAY_CONFIG_DIR", home.path().join("config"))
            .env("PRINTRELAY_DATA_DIR", home.path().join("data"))
            .env_remove("PRINTRELAY_TOKEN");
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

/// Milliseconds since the Unix epoch (the clock of agent and hub timestamps).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The job files that appear in a queue's spool folder after this was made, each read
/// once (the backend renames a file into place only when it is complete).
#[derive(Debug)]
pub struct SpoolWatch {
    dir: PathBuf,
    known: std::collections::HashSet<std::ffi::OsString>,
    /// Contents of the new job files, in the order they were found.
    pub outputs: Vec<Vec<u8>>,
}

impl SpoolWatch {
    /// Remembers what `queue`'s folder holds now.
    pub fn new(queue: &str) -> Self {
        let dir = spool_dir(queue);
        let known = std::fs::read_dir(&dir)
            .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        Self {
            dir,
            known,
            outputs: Vec::new(),
        }
    }

    /// Reads the job files that appeared since the last call; returns how many there are
    /// in all.
    pub fn poll(&mut self) -> usize {
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                if self.known.contains(&name) || !name.to_string_lossy().ends_with(".prn") {
                    continue;
                }
                if let Ok(bytes) = std::fs::read(entry.path()) {
                    self.known.insert(name);
                    self.outputs.push(bytes);
                }
            }
        }
        self.outputs.len()
    }

    /// Polls until every marker came out at least once (other tests may print on the
    /// same queue meanwhile); returns when that was seen.
    pub async fn wait_for_markers(
        &mut self,
        markers: &[String],
        limit: Duration,
    ) -> Result<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            self.poll();
            let missing = self.counts(markers).iter().filter(|&&c| c == 0).count();
            if missing == 0 {
                return Ok(Instant::now());
            }
            if Instant::now() >= deadline {
                bail!(
                    "{missing} of {} jobs never came out of {} within {limit:?}",
                    markers.len(),
                    self.dir.display()
                );
            }
            // Written by cupsd's backend in another process; poll.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How many of the new job files hold exactly each of `markers` (surrounding
    /// whitespace aside).
    pub fn counts(&self, markers: &[String]) -> Vec<usize> {
        let mut seen: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        for bytes in &self.outputs {
            *seen.entry(bytes.trim_ascii()).or_default() += 1;
        }
        markers
            .iter()
            .map(|marker| seen.get(marker.as_bytes()).copied().unwrap_or(0))
            .collect()
    }
}

/// Waits until a job file in `queue`'s spool folder contains `needle`; returns its bytes.
///
/// The backend renames a file into place only when complete, so a file seen is whole.
pub async fn wait_for_printed(queue: &str, needle: &[u8], limit: Duration) -> Result<Vec<u8>> {
    let dir = spool_dir(queue);
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "prn") {
                    let bytes = std::fs::read(&path)?;
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        return Ok(bytes);
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "nothing containing {:?} came out of {} within {limit:?}",
                String::from_utf8_lossy(needle),
                dir.display()
            );
        }
        // The spool folder is written by cupsd's backend in another process; there is no
        // event to await, so poll it.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Counts the job files in `queue`'s spool folder that contain `needle`.
pub fn count_printed(queue: &str, needle: &[u8]) -> usize {
    std::fs::read_dir(spool_dir(queue))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "prn"))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .filter(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
                .count()
        })
        .unwrap_or(0)
}

/// A CUPS queue stopped (a printer that is off) until resumed or dropped.
#[derive(Debug)]
pub struct PausedQueue {
    queue: &'static str,
    paused: bool,
}

impl PausedQueue {
    /// Stops `queue`: it takes jobs and holds them.
    pub fn pause(queue: &'static str) -> Result<Self> {
        cups(&["cupsdisable", queue])?;
        Ok(Self {
            queue,
            paused: true,
        })
    }

    /// Enables the queue again, reporting a failure (the drop can only log it).
    pub fn resume(mut self) -> Result<()> {
        self.paused = false;
        cups(&["cupsenable", self.queue])
    }
}

impl Drop for PausedQueue {
    fn drop(&mut self) {
        if self.paused {
            if let Err(error) = cups(&["cupsenable", self.queue]) {
                eprintln!("cannot enable {} again: {error:#}", self.queue);
            }
        }
    }
}

/// Runs a CUPS command (`cupsdisable`, `cancel -a`...), failing when it fails.
pub fn cups(command: &[&str]) -> Result<()> {
    let status = std::process::Command::new(command[0])
        .args(&command[1..])
        .status()?;
    anyhow::ensure!(status.success(), "{command:?} failed");
    Ok(())
}

/// The most resident memory a process ever had (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmHWM in /proc/{pid}/status"))
}

/// A marker no other test prints.
pub fn unique_marker(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A private X server (Xvfb) on a free display, for the desktop app.
#[derive(Debug)]
pub struct VirtualDisplay {
    _process: Process,
    /// The `DISPLAY` value, e.g. `:3`.
    pub display: String,
}

impl VirtualDisplay {
    /// Starts Xvfb and waits until it accepts clients.
    pub async fn start() -> Result<Self> {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting Xvfb (scripts/setup.sh test installs it)")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let number = timeout(Duration::from_secs(20), lines.next_line())
            .await
            .context("Xvfb did not start within 20 s")??
            .ok_or_else(|| anyhow!("Xvfb exited"))?;
        Ok(Self {
            _process: Process::new(child),
            display: format!(":{}", number.trim()),
        })
    }

    /// Saves a PNG of the whole screen to `path`.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let status = std::process::Command::new("import")
            .args(["-window", "root"])
            .arg(path)
            .env("DISPLAY", &self.display)
            .status()
            .context("running ImageMagick's import")?;
        if !status.success() {
            bail!("screenshot failed");
        }
        Ok(())
    }
}

/// Where tests leave files for a reviewer (screenshots); CI keeps this folder.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("PRINTRELAY_ARTIFACTS")
        .map_or_else(|| repo_root().join("artifacts"), PathBuf::from)
}

/// `GET <base>/getStatus` (the original format, which the hub serves too) -> the entry
/// of `client_id`, if listed.
pub async fn client_status_at(base_url: &str, client_id: &str) -> Result<Option<Value>> {
    let status: Value = http_get(format!("{base_url}/getStatus"))
        .await?
        .json()
        .await?;
    Ok(status["data"]
        .as_array()
        .and_then(|clients| clients.iter().find(|c| c["clientId"] == client_id))
        .cloned())
}

/// Polls `GET <base>/getStatus` until `client_id` is listed as connected.
pub async fn wait_until_listed(base_url: &str, client_id: &str, limit: Duration) -> Result<Value> {
    wait_for_listing(base_url, client_id, true, limit).await
}

/// Polls `GET <base>/getStatus` until `client_id` is listed with `connected` as given.
pub async fn wait_for_listing(
    base_url: &str,
    client_id: &str,
    connected: bool,
    limit: Duration,
) -> Result<Value> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = client_status_at(base_url, client_id).await? {
            if status["connected"] == connected {
                return Ok(status);
            }
        }
        if Instant::now() >= deadline {
            bail!("{client_id} not listed with connected={connected} within {limit:?}");
        }
        // /getStatus is the observable the original server offers; there is no push.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET <base>/startPrint?clientId=&printData=` -> the answer (the stand-in or the hub).
pub async fn start_print_at(base_url: &str, client_id: &str, print_data: &str) -> Result<Value> {
    let url = reqwest::Url::parse_with_params(
        &format!("{base_url}/startPrint"),
        [("clientId", client_id), ("printData", print_data)],
    )?;
    Ok(http_get(url).await?.json().await?)
}

/// Connects to the Socket.IO server on loopback `port` as a bare client with handshake
/// `auth`, emits `event` (`["name", payload]`) once admitted, and closes.
pub async fn socket_io_emit(port: u16, auth: &Value, event: &Value) -> Result<()> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
    socket.send(Message::text(format!("40{auth}"))).await?;
    loop {
        let frame = timeout(Duration::from_secs(30), socket.next())
            .await?
            .ok_or_else(|| anyhow!("closed"))??;
        if let Message::Text(text) = frame {
            anyhow::ensure!(!text.starts_with("44"), "refused: {text}");
            if text.starts_with("40{") {
                break;
            }
        }
    }
    socket.send(Message::text(format!("42{event}"))).await?;
    socket.close(None).await?;
    Ok(())
}

/// A minimal valid PDF with `pages` pages, each saying "<label> page <n>" in Helvetica.
pub fn make_pdf(label: &str, pages: usize) -> Vec<u8> {
    // Objects: 1 catalog, 2 pages, 3 font, then (page, content) pairs.
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        String::new(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    let mut kids = Vec::new();
    for n in 1..=pages {
        let page_id = objects.len() + 1;
        let content_id = page_id + 1;
        kids.push(format!("{page_id} 0 R"));
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_id} 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
        ));
        let stream = format!("BT /F1 24 Tf 72 720 Td ({label} page {n}) Tj ET");
        objects.push(format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    );
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (index, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{body}\nendobj\n", index + 1).bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    pdf
}

/// Waits for a PDF in `queue`'s spool folder whose file name contains `needle`.
pub async fn wait_for_pdf(queue: &str, needle: &str, limit: Duration) -> Result<PathBuf> {
    let dir = spool_dir(queue);
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".pdf") && name.contains(needle) {
                    return Ok(entry.path());
                }
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "no PDF named like {needle:?} in {} within {limit:?}",
                dir.display()
            );
        }
        // cups-pdf writes from cupsd's backend; nothing to await but the file.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the output of the job whose spooler title is `printrelay:<job_id>` in
/// `queue`'s spool folder (the test backend writes the title beside each job).
pub async fn wait_for_job_output(queue: &str, job_id: &str, limit: Duration) -> Result<Vec<u8>> {
    let dir = spool_dir(queue);
    let wanted = format!("printrelay:{job_id}");
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "title")
                    && std::fs::read_to_string(&path).is_ok_and(|t| t.trim() == wanted)
                {
                    let output = path.with_extension("prn");
                    if output.exists() {
                        return Ok(std::fs::read(output)?);
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "no output for job {job_id} in {} within {limit:?}",
                dir.display()
            );
        }
        // Written by cupsd's backend in another process; poll.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Serves `body` with `status` to every GET on a loopback port, for `*_uri` jobs.
/// Returns the base URL; the server lives until the runtime ends.
pub async fn serve_bytes(status: u16, body: Vec<u8>) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let body = std::sync::Arc::new(body);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = std::sync::Arc::clone(&body);
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok(url)
}

/// `printrelay-loadgen` running in the background, its stdout JSON lines read as they come.
#[derive(Debug)]
pub struct LoadGen {
    pub process: Process,
    /// Each stdout line, or an error naming a line that is not JSON (it ends the stream).
    lines: tokio::sync::mpsc::UnboundedReceiver<Result<Value>>,
}

impl LoadGen {
    /// Starts it against `url` with `args` (e.g. `--count 500 --reconnect`).
    pub fn start(url: &str, args: &[&str]) -> Result<Self> {
        let mut child = Command::new(workspace_binary("printrelay-loadgen")?)
            .args(["--url", url])
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting printrelay-loadgen")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            // Its stdout is JSON lines only (messages go to stderr).
            let mut reader = BufReader::new(stdout).lines();
            let mut number = 0;
            while let Ok(Some(line)) = reader.next_line().await {
                number += 1;
                let value = serde_json::from_str(&line).map_err(|error| {
                    anyhow!("loadgen stdout line {number} is not JSON ({error}): {line}")
                });
                let failed = value.is_err();
                if tx.send(value).is_err() || failed {
                    return;
                }
            }
        });
        Ok(Self {
            process: Process::new(child),
            lines,
        })
    }

    /// Reads lines until one matches `wanted`, failing after `limit` or when it exits.
    pub async fn wait_for(
        &mut self,
        limit: Duration,
        what: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Err(_) => bail!("loadgen: no '{what}' within {limit:?}"),
                Ok(None) => bail!("loadgen exited before '{what}'"),
                Ok(Some(line)) => {
                    let line = line?;
                    if wanted(&line) {
                        return Ok(line);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod process_tests {
    use super::*;

    /// A `sh` that starts a `sleep` of its own and prints the sleep's pid.
    fn parent_of_a_sleep(own_group: bool) -> Result<(Child, Lines<BufReader<ChildStdout>>)> {
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 600 & echo $!; wait"])
            .stdout(Stdio::piped());
        if own_group {
            command.process_group(0);
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        Ok((child, BufReader::new(stdout).lines()))
    }

    fn alive(pid: u32) -> bool {
        // A reaped process has no /proc entry; a zombie still has one, in state Z.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
    }

    #[tokio::test]
    async fn dropping_a_group_leader_kills_its_group_and_reaps_it() -> Result<()> {
        let (child, mut lines) = parent_of_a_sleep(true)?;
        let sleep: u32 = lines
            .next_line()
            .await?
            .ok_or_else(|| anyhow!("no pid"))?
            .parse()?;
        let parent = child.id().ok_or_else(|| anyhow!("exited"))?;
        assert!(is_group_leader(parent));
        assert!(
            !is_group_leader(sleep),
            "the sleep is in its parent's group"
        );
        // Found to lead its group although not flagged as one.
        drop(Process::new(child));
        assert!(
            !std::path::Path::new(&format!("/proc/{parent}")).exists(),
            "the parent was reaped when dropped"
        );
        // The sleep is re-parented to init (or a subreaper), which reaps it in its own time.
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(sleep) {
            assert!(Instant::now() < deadline, "the group's sleep survived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    #[tokio::test]
    async fn dropping_a_child_in_the_tests_group_kills_only_it() -> Result<()> {
        let (child, mut lines) = parent_of_a_sleep(false)?;
        let sleep: u32 = lines
            .next_line()
            .await?
            .ok_or_else(|| anyhow!("no pid"))?
            .parse()?;
        let parent = child.id().ok_or_else(|| anyhow!("exited"))?;
        assert!(!is_group_leader(parent));
        // Killing its group would kill this test process too.
        drop(Process::new(child));
        assert!(!std::path::Path::new(&format!("/proc/{parent}")).exists());
        assert!(alive(sleep), "only the child is killed");
        let _ = std::process::Command::new("kill")
            .arg(sleep.to_string())
            .status();
        Ok(())
    }
}
