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
    /// Makes the prefix (once per test process) and finds the agent's .exe. `Ok(None)`
    /// only when Wine is missing outside CI (a printed skip, see [`crate::skip`]);
    /// everything else that is missing is an error saying what to run.
    pub fn prepare() -> Result<Option<Self>> {
        let prefix = std::env::var_os("PRINTRELAY_WINEPREFIX").map(PathBuf::from);
        Self::prepare_for(
            "printrelay-agent",
            prefix.unwrap_or_else(|| "wine-prefix".into()),
        )
    }

    /// As [`Wine::prepare`] for the desktop app's .exe, in a prefix of its own
    /// (`target/wine-prefix-desktop`): its settings live in the prefix user's
    /// `%APPDATA%`, its single-instance lock in the prefix' wineserver, and Wine's
    /// tray (explorer.exe) keeps the display it first saw.
    pub fn prepare_desktop() -> Result<Option<Self>> {
        Self::prepare_for("printrelay-desktop", "wine-prefix-desktop".into())
    }

    /// `prefix` relative to the target folder unless absolute.
    fn prepare_for(package: &str, prefix: PathBuf) -> Result<Option<Self>> {
        if !has_command("wine") {
            crate::skip::skip_or_fail("wine is not installed (scripts/setup.sh test installs it)")?;
            return Ok(None);
        }
        let target_dir = target_dir()?;
        let exe = target_dir.join(TARGET).join(format!("debug/{package}.exe"));
        let build = format!("cargo build --target {TARGET} -p {package}");
        if !exe.exists() {
            bail!(
                "{} is missing: run `{build}` (scripts/test.sh does)",
                exe.display()
            );
        }
        if newest_source(&exe)? > std::fs::metadata(&exe)?.modified()? {
            bail!(
                "{} is older than its sources: rebuild it with `{build}`",
                exe.display()
            );
        }
        let prefix = target_dir.join(prefix);
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

    /// The variables every Wine command of the tests gets: this prefix, quiet, no
    /// display, and none of the agent's variables from the test's own environment.
    pub fn environment(&self, command: &mut Command) {
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
        self.reg(&[
            "add",
            KEY,
            "/v",
            "ProxyEnable",
            "/t",
            "REG_DWORD",
            "/d",
            enable,
            "/f",
        ])
        .await?;
        if let Some(server) = server {
            self.reg_add(KEY, "ProxyServer", server).await?;
        }
        Ok(())
    }

    /// Sets string value `name` under `key` to `data` (`wine reg add`).
    pub async fn reg_add(&self, key: &str, name: &str, data: &str) -> Result<()> {
        self.reg(&["add", key, "/v", name, "/t", "REG_SZ", "/d", data, "/f"])
            .await
    }

    /// Deletes `key` with its values; a key that does not exist is fine.
    pub async fn reg_delete_key(&self, key: &str) -> Result<()> {
        if self.reg(&["query", key]).await.is_err() {
            return Ok(());
        }
        self.reg(&["delete", key, "/f"]).await
    }

    /// Deletes value `name` under `key`; a value that does not exist is fine.
    pub async fn reg_delete_value(&self, key: &str, name: &str) -> Result<()> {
        if self.reg_value(key, name).await?.is_none() {
            return Ok(());
        }
        self.reg(&["delete", key, "/v", name, "/f"]).await
    }

    /// Sets DWORD value `name` under `key` to `data`.
    pub async fn reg_add_dword(&self, key: &str, name: &str, data: u32) -> Result<()> {
        let data = data.to_string();
        self.reg(&["add", key, "/v", name, "/t", "REG_DWORD", "/d", &data, "/f"])
            .await
    }

    async fn reg(&self, args: &[&str]) -> Result<()> {
        let mut command = Command::new("wine");
        command.arg("reg").args(args).stdin(Stdio::null());
        self.environment(&mut command);
        let out = command.output().await.context("running wine reg")?;
        if !out.status.success() {
            bail!(
                "wine reg {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// The data of registry value `name` under `key` (`wine reg query`), `None` when the
    /// value (or the key) does not exist.
    pub async fn reg_value(&self, key: &str, name: &str) -> Result<Option<String>> {
        let Some(text) = self.reg_query(&[key, "/v", name]).await? else {
            return Ok(None);
        };
        // `    <name>    REG_SZ    <data>`; the data may contain spaces.
        Ok(text.lines().find_map(|line| {
            let rest = line.trim_start().strip_prefix(name)?.trim_start();
            let data = rest.strip_prefix("REG_SZ")?;
            Some(data.trim().to_owned())
        }))
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

/// Cargo's target folder: a test binary lives in `<target>/debug/deps/`, the benchmark
/// in `<target>/<profile>/`.
fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let in_deps = exe
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|name| name == "deps");
    exe.ancestors()
        .nth(if in_deps { 3 } else { 2 })
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow!("unexpected binary location {}", exe.display()))
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

/// Runs the idempotent prefix script once per prefix and process (tests run in
/// parallel threads).
fn make_prefix(prefix: &Path) -> Result<()> {
    static DONE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut done = DONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if done.iter().any(|p| p == prefix) {
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
    done.push(prefix.to_path_buf());
    Ok(())
}

/// Registry reads besides [`Wine::reg_value`].
impl Wine {
    /// The data of REG_DWORD value `name` under `key`, `None` when the value (or the
    /// key) does not exist or holds another type.
    pub async fn reg_dword(&self, key: &str, name: &str) -> Result<Option<u32>> {
        let Some(text) = self.reg_query(&[key, "/v", name]).await? else {
            return Ok(None);
        };
        // `    <name>    REG_DWORD    0x<hex>`.
        Ok(text.lines().find_map(|line| {
            let rest = line.trim_start().strip_prefix(name)?.trim_start();
            let hex = rest.strip_prefix("REG_DWORD")?.trim().strip_prefix("0x")?;
            u32::from_str_radix(hex, 16).ok()
        }))
    }

    /// `wine reg query <key> /s`: the key's values and its subkeys', as `reg` prints
    /// them; empty when the key does not exist.
    pub async fn reg_tree(&self, key: &str) -> Result<String> {
        Ok(self.reg_query(&[key, "/s"]).await?.unwrap_or_default())
    }

    /// `wine reg query <args>`'s output, `None` when it fails (nothing found).
    async fn reg_query(&self, args: &[&str]) -> Result<Option<String>> {
        let mut command = Command::new("wine");
        command
            .args(["reg", "query"])
            .args(args)
            .stdin(Stdio::null());
        self.environment(&mut command);
        let out = command.output().await.context("running wine reg query")?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
    }
}
