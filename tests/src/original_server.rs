//! The reference Node socket.io server (`tests/node/original-server.js`) and the
//! original endpoints as a web system calls them.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::process::Command;
use tokio::time::{timeout, Instant};

use crate::common::{http_client, http_get, repo_root};
use crate::process::{spawn_listening, Process};

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

    /// Emits `print(payload)` to `client_id` with an ack callback that waits up to 5 s
    /// (`bufferField`: that string field goes as a Buffer); returns what the callback got,
    /// `{"answer"}` or `{"error"}` (the timeout), with `ms`.
    pub async fn emit_with_ack(
        &self,
        client_id: &str,
        payload: &Value,
        buffer_field: Option<&str>,
    ) -> Result<Value> {
        let body = serde_json::json!({
            "clientId": client_id, "payload": payload, "timeoutMs": 5000, "bufferField": buffer_field,
        });
        let response = http_client()
            .post(format!("{}/emit-with-ack", self.url()))
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "emit-with-ack: {}",
            response.text().await?
        );
        Ok(response.json().await?)
    }

    /// Emits `print` with `bytes` as a Buffer (a Socket.IO binary event) to `client_id`:
    /// as `printData`, or as the `content` of a v1 job of `content_type`.
    pub async fn emit_binary_job(
        &self,
        client_id: &str,
        job_id: &str,
        bytes: &[u8],
        content_type: Option<&str>,
    ) -> Result<()> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut query = vec![
            ("clientId", client_id),
            ("jobId", job_id),
            ("base64", &encoded),
        ];
        if let Some(kind) = content_type {
            query.push(("contentType", kind));
        }
        let url = reqwest::Url::parse_with_params(&format!("{}/emit-binary", self.url()), query)?;
        let response = http_client().post(url).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "emit-binary: {}",
            response.status()
        );
        Ok(())
    }

    /// `POST /emit-big`: a raw job whose content is `megabytes` MiB of text.
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

    /// Every `upload` event a client sent, with its Buffer's bytes (`bytes`: null when
    /// `file` was no Buffer).
    pub async fn uploads(&self) -> Result<Vec<Value>> {
        let answer: Value = http_get(format!("{}/uploads", self.url()))
            .await?
            .json()
            .await?;
        Ok(answer["uploads"].as_array().cloned().unwrap_or_default())
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
