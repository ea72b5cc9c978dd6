//! The small things every helper uses: the HTTP client, where binaries and artifacts
//! are, unique markers, the run's seed, clocks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};

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

/// Milliseconds since the Unix epoch (the clock of agent and hub timestamps).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
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

/// Where tests leave files for a reviewer (screenshots); CI keeps this folder.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("PRINTRELAY_ARTIFACTS")
        .map_or_else(|| repo_root().join("artifacts"), PathBuf::from)
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
