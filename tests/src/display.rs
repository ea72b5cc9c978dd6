//! A virtual X display (Xvfb) for the desktop app and screenshots of it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

use crate::process::Process;

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
