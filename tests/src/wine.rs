//! The agent's Windows build under Wine: the prefix made by `tests/wine/prefix.sh`
//! (with the bcryptprimitives.dll stub Rust programs need on Wine 8), the .exe built
//! for `x86_64-pc-windows-gnu`, and commands that run it there. Wine's winspool hands
//! jobs to the same CUPS queues the Linux tests read back.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use tokio::process::Command;

use crate::agent::{Agent, AgentHome};
use crate::common::repo_root;

/// The Windows target the agent is cross-built for.
pub const TARGET: &str = "x86_64-pc-windows-gnu";

/// A ready Wine prefix and the agent's .exe.
#[derive(Debug, Clone)]
pub struct Wine {
    pub prefix: PathBuf,
    pub exe: PathBuf,
}

impl Wine {
    /// Makes the prefix (once per test process) and finds the .exe. `Ok(None)` only
    /// when Wine is missing outside CI (a printed skip, see [`crate::skip`]); everything
    /// else that is missing is an error saying what to run.
    pub fn prepare() -> Result<Option<Self>> {
        if !has_command("wine") {
            crate::skip::skip_or_fail("wine is not installed (scripts/setup.sh test installs it)")?;
            return Ok(None);
        }
        let target_dir = target_dir()?;
        let exe = target_dir.join(TARGET).join("debug/printrelay-agent.exe");
        if !exe.exists() {
            bail!(
                "{} is missing: run `cargo build --target {TARGET} -p printrelay-agent` (scripts/test.sh does)",
                exe.display()
            );
        }
        if newest_source(&exe)? > std::fs::metadata(&exe)?.modified()? {
            bail!(
                "{} is older than the agent's sources: rebuild it with `cargo build --target {TARGET} -p printrelay-agent`",
                exe.display()
            );
        }
        let prefix = std::env::var_os("PRINTRELAY_WINEPREFIX")
            .map_or_else(|| target_dir.join("wine-prefix"), PathBuf::from);
        make_prefix(&prefix)?;
        Ok(Some(Self { prefix, exe }))
    }

    /// Held by a test while its agent prints. Wine numbers print jobs per process from
    /// 1 and names its spool files by that number, so two Wine processes printing at
    /// once in one prefix collide (StartDoc fails with a sharing violation); Windows
    /// itself numbers jobs per spooler.
    pub async fn printing_turn(&self) -> tokio::sync::MutexGuard<'static, ()> {
        static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        TURN.lock().await
    }

    /// `wine printrelay-agent.exe <args>` in this prefix, quiet and without a display.
    pub fn agent_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("wine");
        command.arg(&self.exe).args(args);
        self.environment(&mut command);
        command
    }

    fn environment(&self, command: &mut Command) {
        command
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("PRINTRELAY_SERVER")
            .env_remove("PRINTRELAY_PRINTER")
            .env_remove("PRINTRELAY_TOKEN")
            .env_remove("PRINTRELAY_CONFIG_DIR")
            .env_remove("PRINTRELAY_DATA_DIR");
    }

    /// Runs the agent with `args` to completion and returns its output.
    pub async fn run_agent(&self, args: &[&str]) -> Result<std::process::Output> {
        self.agent_command(args)
            .stdin(Stdio::null())
            .output()
            .await
            .context("running the agent under wine")
    }

    /// Starts `printrelay-agent.exe run` under Wine against `server`. With a `home`, its
    /// settings and data go there; without, to the Windows user folders of the prefix.
    pub async fn start_agent(
        &self,
        home: Option<&AgentHome>,
        server: &str,
        client_id: &str,
        printer: &str,
    ) -> Result<Agent> {
        let mut command = self.agent_command(&[]);
        if let Some(home) = home {
            command
                .env(
                    "PRINTRELAY_CONFIG_DIR",
                    windows_path(&home.path().join("config")),
                )
                .env(
                    "PRINTRELAY_DATA_DIR",
                    windows_path(&home.path().join("data")),
                );
        }
        Agent::spawn(command, server, client_id, printer, &[]).await
    }

    /// Sets the prefix user's proxy in Internet Settings (`ProxyEnable` 1 and
    /// `ProxyServer`), as an administrator or group policy does on a Windows PC; `None`
    /// turns it off again. Loopback stays direct, so other tests are not affected.
    pub async fn set_internet_proxy(&self, server: Option<&str>) -> Result<()> {
        const KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings";
        let enable = if server.is_some() { "1" } else { "0" };
        let mut edits = vec![vec![
            "reg",
            "add",
            KEY,
            "/v",
            "ProxyEnable",
            "/t",
            "REG_DWORD",
            "/d",
            enable,
            "/f",
        ]];
        if let Some(server) = server {
            edits.push(vec![
                "reg",
                "add",
                KEY,
                "/v",
                "ProxyServer",
                "/t",
                "REG_SZ",
                "/d",
                server,
                "/f",
            ]);
        }
        for args in edits {
            let mut command = Command::new("wine");
            command.args(&args).stdin(Stdio::null());
            self.environment(&mut command);
            let out = command.output().await.context("running wine reg")?;
            if !out.status.success() {
                bail!(
                    "wine {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        Ok(())
    }

    /// The prefix user's `%APPDATA%` and `%LOCALAPPDATA%` (as Linux paths).
    pub fn user_folders(&self) -> Result<(PathBuf, PathBuf)> {
        let users = self.prefix.join("drive_c/users");
        let user = std::fs::read_dir(&users)?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("AppData/Roaming").is_dir())
            .ok_or_else(|| anyhow!("no user with AppData in {}", users.display()))?;
        Ok((user.join("AppData/Roaming"), user.join("AppData/Local")))
    }
}

/// A Linux path as the Windows program sees it (Wine maps `/` to drive `Z:`).
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

fn has_command(name: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Cargo's target folder: the test binary lives in `<target>/debug/deps/`.
fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow!("unexpected test binary location {}", exe.display()))
}

/// The latest modification time of the sources the .exe was built from, as listed in
/// cargo's dep-info file beside it (files of other platforms do not count).
fn newest_source(exe: &Path) -> Result<std::time::SystemTime> {
    let dep_info = exe.with_extension("d");
    let text = std::fs::read_to_string(&dep_info)
        .with_context(|| format!("reading {}", dep_info.display()))?;
    let (_, sources) = text
        .lines()
        .next()
        .and_then(|rule| rule.split_once(": "))
        .ok_or_else(|| anyhow!("unexpected dep-info in {}", dep_info.display()))?;
    let mut newest = std::time::UNIX_EPOCH;
    // Make's syntax: sources separated by spaces, spaces inside a path escaped.
    for source in sources.replace("\\ ", "\u{0}").split_whitespace() {
        let path = PathBuf::from(source.replace('\u{0}', " "));
        // A source that no longer exists means the next build differs anyway.
        let modified = std::fs::metadata(&path).and_then(|m| m.modified());
        newest = newest.max(modified.unwrap_or_else(|_| std::time::SystemTime::now()));
    }
    Ok(newest)
}

/// Runs the idempotent prefix script once per process (tests run in parallel threads).
fn make_prefix(prefix: &Path) -> Result<()> {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *done {
        return Ok(());
    }
    let output = std::process::Command::new(repo_root().join("tests/wine/prefix.sh"))
        .arg(prefix)
        .output()
        .context("running tests/wine/prefix.sh")?;
    if !output.status.success() {
        bail!(
            "tests/wine/prefix.sh failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    *done = true;
    Ok(())
}
