//! The desktop app as a user meets it, for tests and the bench: launched under Xvfb on a
//! private D-Bus session (where its single-instance lock lives), and its process tree
//! (tray process, window process, WebKit's processes).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

use crate::procs::{self, ProcessMemory};
use crate::{artifacts_dir, workspace_binary, Process, RAW_QUEUE};

const LIMIT: Duration = Duration::from_secs(30);

/// A D-Bus session bus of our own: the single-instance lock lives there, so both launches
/// must share it. Returns the daemon and its address.
pub async fn session_bus() -> Result<(Process, String)> {
    let mut child = tokio::process::Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        // Its activation chatter (portals failing without a desktop) is not ours.
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting dbus-daemon")?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let address = tokio::time::timeout(LIMIT, BufReader::new(stdout).lines().next_line())
        .await??
        .ok_or_else(|| anyhow!("dbus-daemon printed no address"))?;
    Ok((Process::new(child), address))
}

/// How to launch `printrelay-desktop` for one user: display, bus, home, server, client id.
#[derive(Debug)]
pub struct Launch<'a> {
    pub bus: &'a str,
    pub display: &'a str,
    pub home: &'a Path,
    pub server: &'a str,
    pub client_id: &'a str,
}

impl Launch<'_> {
    /// The command with `args`; its stderr goes to `artifacts/logs/<log>`.
    pub fn command(&self, args: &[&str], log: &str) -> Result<tokio::process::Command> {
        let logs = artifacts_dir().join("logs");
        std::fs::create_dir_all(&logs)?;
        let mut command = tokio::process::Command::new(workspace_binary("printrelay-desktop")?);
        command
            .args(args)
            .env("DISPLAY", self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus)
            .env("HOME", self.home)
            .env("PRINTRELAY_CONFIG_DIR", self.home.join("config"))
            .env("PRINTRELAY_DATA_DIR", self.home.join("data"))
            .env("PRINTRELAY_SERVER", self.server)
            .env("PRINTRELAY_CLIENT_ID", self.client_id)
            .env("PRINTRELAY_PRINTER", RAW_QUEUE)
            // Software rendering: Xvfb has no GPU.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(logs.join(log))?)
            .kill_on_drop(true);
        Ok(command)
    }
}

/// A process of WebKit's engine (web content, network).
pub fn is_web_engine(p: &ProcessMemory) -> bool {
    p.name.starts_with("WebKit")
}

/// The window process (`printrelay-desktop --window`) in `tree`, if any.
pub fn window_process(tree: &[ProcessMemory]) -> Option<u32> {
    tree.iter().map(|p| p.pid).find(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.split(|b| *b == 0).any(|arg| arg == b"--window"))
    })
}

/// Polls the process tree of `root` until `done` holds for it.
pub async fn wait_for_tree(
    root: u32,
    what: &str,
    done: impl Fn(&[ProcessMemory]) -> bool,
) -> Result<Vec<ProcessMemory>> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let tree = procs::tree(root)?;
        if done(&tree) {
            return Ok(tree);
        }
        if Instant::now() > deadline {
            bail!("{what}: not within {LIMIT:?}\n{}", procs::describe(&tree));
        }
        // Process trees change without telling anyone; poll /proc.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
