//! The desktop app as a user meets it, for tests and the bench: launched under Xvfb on a
//! private D-Bus session (where its single-instance lock lives), and its process tree
//! (tray process, window process, WebKit's processes).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

use crate::common::{artifacts_dir, workspace_binary};
use crate::process::Process;
use crate::procs::{self, ProcessMemory};
use crate::spool::RAW_QUEUE;

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
        self.command_of(&workspace_binary("printrelay-desktop")?, args, log)
    }

    /// As [`Launch::command`], of the desktop binary at `program` (e.g. an installed one).
    pub fn command_of(
        &self,
        program: &Path,
        args: &[&str],
        log: &str,
    ) -> Result<tokio::process::Command> {
        let logs = artifacts_dir().join("logs");
        std::fs::create_dir_all(&logs)?;
        let mut command = tokio::process::Command::new(program);
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

/// The `Notify` calls on a D-Bus session bus, read off the bus with `dbus-monitor` (no
/// notification service runs under Xvfb, the call is what the app asks of the desktop).
#[derive(Debug)]
pub struct NotificationWatch {
    _monitor: Process,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl NotificationWatch {
    /// Starts watching `bus`; returns once the monitor listens.
    pub async fn start(bus: &str) -> Result<Self> {
        let mut monitor = tokio::process::Command::new("dbus-monitor")
            .args([
                "--address",
                bus,
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting dbus-monitor")?;
        let stdout = monitor.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        // The monitor prints its own NameAcquired signal once it is listening.
        tokio::time::timeout(LIMIT, lines.next_line()).await??;
        Ok(Self {
            _monitor: Process::new(monitor),
            lines,
        })
    }

    /// Reads the monitor's lines until one contains `needle`; returns every line read on
    /// the way (earlier notifications included), so a caller can check what came before.
    pub async fn wait_for(&mut self, needle: &str) -> Result<Vec<String>> {
        let deadline = Instant::now() + LIMIT;
        let mut seen = Vec::new();
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line())
                .await
                .map_err(|_| {
                    anyhow!("no notification with {needle:?} within {LIMIT:?}: {seen:#?}")
                })??
                .ok_or_else(|| anyhow!("dbus-monitor ended: {seen:#?}"))?;
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return Ok(seen);
            }
        }
    }
}

/// The four tray icons, by file name under `icons/`.
pub const TRAY_ICONS: [&str; 4] = [
    "tray-connected.png",
    "tray-connecting.png",
    "tray-offline.png",
    "tray-paused.png",
];

/// Waits until the icon the tray hands to the desktop (the PNG tauri's tray writes under
/// `$XDG_RUNTIME_DIR/tray-icon/` for the status notifier) shows the pixels of
/// `icons/<wanted>`; fails naming the icon it shows instead.
pub async fn wait_for_tray_icon(runtime_dir: &Path, wanted: &str) -> Result<()> {
    let icons = crate::repo_root().join("icons");
    let mut known = Vec::new();
    for name in TRAY_ICONS {
        known.push((name, rgba_pixels(&std::fs::read(icons.join(name))?)?));
    }
    let dir = runtime_dir.join("tray-icon");
    let deadline = Instant::now() + LIMIT;
    loop {
        let shown = shown_tray_icon(&dir)?;
        let name = shown
            .as_ref()
            .and_then(|pixels| known.iter().find(|(_, p)| p == pixels))
            .map(|(name, _)| *name);
        if name == Some(wanted) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the tray shows {name:?}, not {wanted}, after {LIMIT:?}");
        }
        // The tray writes the file without telling anyone; poll.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The pixels of the newest icon file in `dir`, if any can be read whole.
fn shown_tray_icon(dir: &Path) -> Result<Option<Vec<u8>>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let newest = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
    let Some(newest) = newest else {
        return Ok(None);
    };
    // A file being written (or just replaced) does not decode: look again.
    Ok(std::fs::read(newest.path())
        .ok()
        .and_then(|bytes| rgba_pixels(&bytes).ok()))
}

/// A PNG decoded to 8-bit RGBA.
fn rgba_pixels(png_bytes: &[u8]) -> Result<Vec<u8>> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(
        png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
    );
    let mut reader = decoder.read_info()?;
    let mut pixels = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or_else(|| anyhow!("PNG too large"))?
    ];
    let info = reader.next_frame(&mut pixels)?;
    pixels.truncate(info.buffer_size());
    Ok(pixels)
}
