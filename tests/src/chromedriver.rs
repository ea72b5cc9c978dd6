//! Chromium driven over WebDriver (chromedriver from Debian's `chromium-driver`), for the
//! hub's web console: headless, one profile per session, the page's language chosen.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, Result};
use serde_json::json;
use tokio::process::Command;

use crate::process::Process;
use crate::webdriver::{free_port, new_session, wait_until_ready, Session};

/// chromedriver on a free port.
#[derive(Debug)]
pub struct ChromeDriver {
    _process: Process,
    pub port: u16,
}

impl ChromeDriver {
    /// Starts chromedriver, logging to `log`, and waits until it answers; `None` when it
    /// is not installed (the caller skips, or fails on CI).
    pub async fn start(log: &Path) -> Result<Option<Self>> {
        let Some(binary) = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|path| Path::new(path).exists())
        else {
            return Ok(None);
        };
        let port = free_port()?;
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .context("starting chromedriver")?;
        let driver = Self {
            _process: Process::group_leader(child),
            port,
        };
        wait_until_ready(port, "chromedriver").await?;
        Ok(Some(driver))
    }

    /// A headless Chromium at 1280x720 (`size` otherwise) whose pages see `language`
    /// first in `navigator.languages`.
    pub async fn session(&self, language: &str, size: (u32, u32)) -> Result<Session> {
        let base = format!("http://127.0.0.1:{}/session", self.port);
        let mut args = vec![
            "--headless=new".to_owned(),
            format!("--window-size={},{}", size.0, size.1),
            format!("--lang={language}"),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
        ];
        // Chromium's sandbox refuses to run as root (CI containers).
        if running_as_root() {
            args.push("--no-sandbox".to_owned());
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": args,
                "prefs": {"intl.accept_languages": language},
            },
        }}});
        new_session(&base, &capabilities).await
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}
