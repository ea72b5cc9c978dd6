//! The desktop app's Windows build as a Windows user meets it, under Wine: a virtual
//! display with an XEmbed tray (trayer), into which Wine's explorer.exe docks the app's
//! notification-area icon; the app's log read line by line as it writes it (the tray
//! logs each tooltip it shows, which X cannot read back); second launches that talk to
//! the first over the single-instance channel.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use tokio::process::Command;
use tokio::time::Instant;

use crate::common::artifacts_dir;
use crate::display::VirtualDisplay;
use crate::log_watch::LogWatch;
use crate::process::Process;
use crate::wine::Wine;

/// Wine starts slowly the first time (it loads its DLLs into the page cache).
pub const LIMIT: Duration = Duration::from_secs(60);

/// One test at a time in the desktop prefix: one wineserver, one tray, one
/// single-instance lock, one `%APPDATA%`.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A Wine prefix of its own with a tray host on a fresh display, for one test.
#[derive(Debug)]
pub struct DesktopRig {
    pub wine: Wine,
    pub host: TrayHost,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl DesktopRig {
    /// `Ok(None)` when Wine is missing outside CI (a printed skip).
    pub async fn start() -> Result<Option<Self>> {
        let Some(wine) = Wine::prepare_desktop()? else {
            return Ok(None);
        };
        let turn = TURN.lock().await;
        // A wineserver left from before would keep explorer.exe on a display gone.
        stop_wineserver(&wine.prefix);
        let (roaming, local) = wine.user_folders()?;
        for dir in [roaming.join("PrintRelay"), local.join("PrintRelay")] {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
        }
        let host = TrayHost::start().await?;
        Ok(Some(Self {
            wine,
            host,
            _turn: turn,
        }))
    }

    /// Writes `%APPDATA%\PrintRelay\config\settings.json`, as the app itself would.
    pub fn write_settings(&self, settings: &Value) -> Result<PathBuf> {
        let (roaming, _) = self.wine.user_folders()?;
        let dir = roaming.join("PrintRelay/config");
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("settings.json");
        std::fs::write(&file, serde_json::to_vec_pretty(settings)?)?;
        Ok(file)
    }

    /// `wine <exe> <args>` on the rig's display, its log followed.
    pub fn command(&self, exe: &str, args: &[&str]) -> Command {
        let mut command = Command::new("wine");
        command.arg(exe).args(args);
        self.wine.environment(&mut command);
        command
            .env("DISPLAY", &self.host.display.display)
            .env("RUST_LOG", "info,printrelay_desktop=debug")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }

    /// Starts the app (the built .exe, or `exe` as a Windows path) with `args`; its
    /// log goes to `artifacts/logs/<log>` too.
    pub async fn launch(&self, exe: Option<&str>, args: &[&str], log: &str) -> Result<WineDesktop> {
        let exe = exe.map_or_else(|| self.wine.exe.display().to_string(), str::to_owned);
        let mut child = self
            .command(&exe, args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the desktop app under wine")?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let log = LogWatch::follow(stderr, &artifacts_dir().join("logs").join(log)).await?;
        Ok(WineDesktop {
            process: Process::new(child),
            log,
        })
    }

    /// A second launch with `args`, run to its end: it hands its command line to the
    /// running app and exits.
    pub async fn launch_again(&self, args: &[&str]) -> Result<std::process::Output> {
        let exe = self.wine.exe.display().to_string();
        let run = self.command(&exe, args).output();
        tokio::time::timeout(LIMIT, run)
            .await
            .context("the second launch did not end")?
            .context("running the second launch")
    }

    /// Runs a second launch with `args` (e.g. `--quit`) and checks that it handed its
    /// command line to the running app and left at once.
    pub async fn ask(&self, args: &[&str]) -> Result<()> {
        let out = self.launch_again(args).await?;
        if !out.status.success() {
            bail!(
                "the second launch {args:?} failed ({:?}): {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Waits until no process of this prefix runs the app.
    pub async fn until_no_app_process(&self) -> Result<()> {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = self.processes_named("printrelay-desktop.exe");
            if left.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("processes left after Quit: {left:?}");
            }
            // Processes end without telling the test; poll /proc.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Processes of this prefix running `name` (e.g. `printrelay-desktop.exe`).
    pub fn processes_named(&self, name: &str) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
                let prefix = format!("WINEPREFIX={}", self.wine.prefix.display());
                String::from_utf8_lossy(&cmdline).contains(name)
                    && environ
                        .split(|b| *b == 0)
                        .any(|var| var == prefix.as_bytes())
            })
            .collect()
    }
}

impl Drop for DesktopRig {
    fn drop(&mut self) {
        // explorer.exe and the other Wine services of this test go with its display.
        stop_wineserver(&self.wine.prefix);
    }
}

fn stop_wineserver(prefix: &Path) {
    for flag in ["-k", "-w"] {
        let _ = std::process::Command::new("wineserver")
            .arg(flag)
            .env("WINEPREFIX", prefix)
            .stdin(Stdio::null())
            .status();
    }
}

/// A virtual display with trayer as its notification area (an XEmbed tray host).
#[derive(Debug)]
pub struct TrayHost {
    pub display: VirtualDisplay,
    _trayer: Process,
}

impl TrayHost {
    /// Starts Xvfb and trayer; returns once trayer's panel is up (and so holds the tray
    /// selection Wine looks for when it starts).
    pub async fn start() -> Result<Self> {
        let display = VirtualDisplay::start().await?;
        let trayer = Command::new("trayer")
            .args(["--edge", "top", "--align", "right", "--widthtype", "pixel"])
            .args(["--width", "200", "--heighttype", "pixel", "--height", "32"])
            .args(["--transparent", "false", "--tint", "0xdddddd"])
            .env("DISPLAY", &display.display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting trayer (scripts/setup.sh test installs it)")?;
        let host = Self {
            display,
            _trayer: Process::new(trayer),
        };
        host.wait_for("trayer's panel", |tree| {
            tree.contains("(\"panel\" \"trayer\")").then_some(())
        })
        .await?;
        Ok(host)
    }

    /// `xwininfo -root -tree`.
    pub fn tree(&self) -> Result<String> {
        let out = std::process::Command::new("xwininfo")
            .args(["-root", "-tree"])
            .env("DISPLAY", &self.display.display)
            .output()
            .context("running xwininfo")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Polls the window tree until `found` finds something in it.
    pub async fn wait_for<T>(&self, what: &str, found: impl Fn(&str) -> Option<T>) -> Result<T> {
        let deadline = Instant::now() + LIMIT;
        loop {
            let tree = self.tree()?;
            if let Some(value) = found(&tree) {
                return Ok(value);
            }
            if Instant::now() > deadline {
                bail!("{what}: not within {LIMIT:?}\n{tree}");
            }
            // X tells nobody but the parent about new windows; poll.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The window of the icon Wine docked into the tray: an explorer.exe window inside
    /// trayer's panel.
    pub async fn wait_for_tray_icon(&self) -> Result<String> {
        self.wait_for("an icon docked in the tray", docked_icon)
            .await
    }

    /// The icon window's pixels (RGB), as X shows them.
    pub fn pixels(&self, window: &str) -> Result<Vec<u8>> {
        let out = std::process::Command::new("import")
            .args(["-window", window, "-depth", "8", "rgb:-"])
            .env("DISPLAY", &self.display.display)
            .output()
            .context("running ImageMagick's import")?;
        if !out.status.success() || out.stdout.is_empty() {
            bail!("cannot capture window {window}");
        }
        Ok(out.stdout)
    }

    /// Waits until `window` shows other pixels than `before`, painted (not one flat
    /// colour: Wine clears the icon while it repaints it); returns them.
    pub async fn wait_for_other_pixels(&self, window: &str, before: &[u8]) -> Result<Vec<u8>> {
        let deadline = Instant::now() + LIMIT;
        loop {
            let now = self.pixels(window)?;
            if now != before && painted(&now) {
                return Ok(now);
            }
            if Instant::now() > deadline {
                bail!("the tray icon did not change within {LIMIT:?}");
            }
            // The icon repaints without telling anyone; poll.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `window` shows exactly `expected` (a repaint may pass through a
    /// cleared icon first); fails with `what` after [`LIMIT`].
    pub async fn wait_for_pixels(&self, window: &str, expected: &[u8], what: &str) -> Result<()> {
        let deadline = Instant::now() + LIMIT;
        while self.pixels(window)? != expected {
            if Instant::now() > deadline {
                bail!("the tray icon does not show {what} within {LIMIT:?}");
            }
            // The icon repaints without telling anyone; poll.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Saves a screenshot of the whole display as `artifacts/windows-desktop/<name>.png`.
    pub fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let path = artifacts_dir()
            .join("windows-desktop")
            .join(format!("{name}.png"));
        self.display.screenshot(&path)?;
        Ok(path)
    }
}

/// True when RGB `pixels` are not all one colour: an icon is drawn on them.
pub fn painted(pixels: &[u8]) -> bool {
    pixels.chunks(3).any(|p| p != &pixels[..3])
}

/// The explorer.exe window below trayer's panel in an `xwininfo -tree` listing.
fn docked_icon(tree: &str) -> Option<String> {
    let lines: Vec<&str> = tree.lines().collect();
    let panel = lines
        .iter()
        .position(|l| l.contains("(\"panel\" \"trayer\")"))?;
    let depth = |line: &str| line.len() - line.trim_start().len();
    let panel_depth = depth(lines[panel]);
    lines[panel + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || depth(l) > panel_depth)
        .find(|l| l.contains("(\"explorer.exe\" \"explorer.exe\")"))
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_owned)
}

/// The app under Wine and its log.
#[derive(Debug)]
pub struct WineDesktop {
    pub process: Process,
    pub log: LogWatch,
}

impl WineDesktop {
    /// Waits for a `tray shows` line whose tooltip starts with `state` (e.g.
    /// `PrintRelay: Connected`); returns the tooltip, its line breaks as `\n`.
    pub async fn wait_for_tooltip(&mut self, state: &str) -> Result<String> {
        let needle = format!("tooltip=\"{state}");
        let line = self.log.wait_for(&needle).await?;
        let tooltip = line
            .split("tooltip=\"")
            .nth(1)
            .and_then(|rest| rest.rsplit_once('"'))
            .map(|(tooltip, _)| tooltip.to_owned())
            .ok_or_else(|| anyhow!("no tooltip in {line}"))?;
        Ok(tooltip)
    }

    /// Waits for the app's process to end; its exit code.
    pub async fn wait_for_exit(&mut self) -> Result<Option<i32>> {
        let status = tokio::time::timeout(LIMIT, self.process.child.wait())
            .await
            .context("the app did not end")??;
        Ok(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docked_icon_is_the_explorer_window_inside_the_panel() {
        let tree = r#"
     0x60000a (has no name): ("explorer.exe" "explorer.exe")  200x32+824+0  +824+0
     0x200003 "panel": ("panel" "trayer")  200x32+824+0  +824+0
        2 children:
        0x200026 (has no name): ()  20x30+179+1  +1003+1
           1 child:
           0x600008 (has no name): ("explorer.exe" "explorer.exe")  20x30+0+0  +1003+1
        0x200004 (has no name): ()  1x1+-1+-1  +823+-1
     0x200001 "trayer": ("trayer" "Trayer")  10x10+10+10  +10+10
"#;
        assert_eq!(docked_icon(tree).as_deref(), Some("0x600008"));
        assert_eq!(docked_icon("no panel"), None);
    }
}
