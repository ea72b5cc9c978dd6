//! Redis for hub cluster tests: the server `scripts/test.sh` starts
//! (`tests/redis/start.sh`), named in `PRINTRELAY_TEST_REDIS`. Clusters on different
//! databases share it: each talks on a channel named after its database.

use anyhow::{ensure, Result};

use crate::skip::skip_or_fail;

/// The server's URL; `None` (the test returns) when none is configured, which fails on CI.
pub fn server() -> Result<Option<String>> {
    match std::env::var("PRINTRELAY_TEST_REDIS") {
        Ok(url) => Ok(Some(url)),
        Err(_) => {
            skip_or_fail("PRINTRELAY_TEST_REDIS is not set (scripts/test.sh starts a server)")?;
            Ok(None)
        }
    }
}

/// A Redis server of one test's own (it may be stopped and started again on its port):
/// loopback, nothing on disk, killed when dropped.
#[derive(Debug)]
pub struct OwnRedis {
    /// Its port on 127.0.0.1.
    pub port: u16,
    process: Option<tokio::process::Child>,
}

impl OwnRedis {
    /// A server on a free port; `None` (the test returns) without redis-server, which
    /// fails on CI.
    pub async fn start() -> Result<Option<Self>> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut redis = Self {
            port,
            process: None,
        };
        match redis.resume().await {
            Err(error)
                if error
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
            {
                skip_or_fail("redis-server is missing (apt-get install redis-server)")?;
                Ok(None)
            }
            Err(error) => Err(error),
            Ok(()) => Ok(Some(redis)),
        }
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(tokio::process::Child::id)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would: no goodbye to its clients).
    pub async fn kill(&mut self) -> Result<()> {
        if let Some(mut process) = self.process.take() {
            process.kill().await?;
        }
        Ok(())
    }

    /// Starts the server (again) on its port and waits until it answers.
    pub async fn resume(&mut self) -> Result<()> {
        let port = self.port.to_string();
        let process = tokio::process::Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port,
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        self.process = Some(process);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let ping = tokio::process::Command::new("redis-cli")
                .args(["-p", &port, "ping"])
                .output()
                .await?;
            if String::from_utf8_lossy(&ping.stdout).trim() == "PONG" {
                return Ok(());
            }
            ensure!(
                std::time::Instant::now() < deadline,
                "redis-server does not answer on {port}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
