//! Processes the tests start: killed with their whole group when dropped, and started
//! until they say which port they listen on.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

/// A child process that is killed when dropped.
#[derive(Debug)]
pub struct Process {
    pub child: Child,
    /// Kill the whole process group, not just the child (the child was started as a
    /// group leader and starts helpers of its own, e.g. dbus-run-session). A child
    /// found to lead its own group when dropped is treated the same.
    pub group: bool,
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // A group leader's helpers (dbus-run-session, WebKit processes, a second
            // window) share its group and would outlive it if only it were killed.
            if self.group || is_group_leader(pid) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
        }
        let _ = self.child.start_kill();
        // Reap it, so that no zombie or half-dead process is left holding ports, queues
        // or files for the next test. SIGKILL is not refused; the bound only keeps a
        // stuck kernel from hanging the test run.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if std::time::Instant::now() >= deadline => {
                    eprintln!("process {:?} not reaped within 5 s", self.child.id());
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// True when `pid` leads its own process group (it was started with `process_group(0)`
/// or called setsid), read from /proc: field 5 of `stat` is the group id.
fn is_group_leader(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The command name (field 2) is in parentheses and may contain spaces.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return false;
    };
    rest.split_whitespace().nth(2) == Some(pid.to_string().as_str())
}

impl Process {
    /// Wraps a child that is killed alone when dropped (with its group if it made one).
    pub fn new(child: Child) -> Self {
        Self {
            child,
            group: false,
        }
    }

    /// Wraps a child started with `process_group(0)`; its whole group is killed when dropped.
    pub fn group_leader(child: Child) -> Self {
        Self { child, group: true }
    }

    /// The OS process id.
    pub fn pid(&self) -> Result<u32> {
        self.child
            .id()
            .ok_or_else(|| anyhow!("process already exited"))
    }

    /// Sends a Unix signal (e.g. `"HUP"`, `"STOP"`, `"CONT"`, `"TERM"`).
    pub fn signal(&self, name: &str) -> Result<()> {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid()?.to_string())
            .status()?;
        if !status.success() {
            bail!("kill -{name} failed");
        }
        Ok(())
    }
}

/// Spawns a server that prints `{"listening": <port>}` as its first stdout line once it
/// accepts connections (the Node peer and the hub both do), and waits for that line.
pub async fn spawn_listening(command: &mut Command, what: &str) -> Result<(Process, u16)> {
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let line = timeout(Duration::from_secs(20), lines.next_line())
        .await
        .with_context(|| format!("{what} did not start within 20 s"))??
        .ok_or_else(|| anyhow!("{what} exited before listening"))?;
    let ready: Value = serde_json::from_str(&line)?;
    let port = ready["listening"]
        .as_u64()
        .ok_or_else(|| anyhow!("unexpected first line from {what}: {line}"))?;
    Ok((Process::new(child), port as u16))
}

#[cfg(test)]
mod tests {
    use tokio::io::Lines;
    use tokio::process::ChildStdout;
    use tokio::time::Instant;

    use super::*;

    /// A `sh` that starts a `sleep` of its own and prints the sleep's pid.
    fn parent_of_a_sleep(own_group: bool) -> Result<(Child, Lines<BufReader<ChildStdout>>)> {
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 600 & echo $!; wait"])
            .stdout(Stdio::piped());
        if own_group {
            command.process_group(0);
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        Ok((child, BufReader::new(stdout).lines()))
    }

    fn alive(pid: u32) -> bool {
        // A reaped process has no /proc entry; a zombie still has one, in state Z.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
    }

    #[tokio::test]
    async fn dropping_a_group_leader_kills_its_group_and_reaps_it() -> Result<()> {
        let (child, mut lines) = parent_of_a_sleep(true)?;
        let sleep: u32 = lines
            .next_line()
            .await?
            .ok_or_else(|| anyhow!("no pid"))?
            .parse()?;
        let parent = child.id().ok_or_else(|| anyhow!("exited"))?;
        assert!(is_group_leader(parent));
        assert!(
            !is_group_leader(sleep),
            "the sleep is in its parent's group"
        );
        // Found to lead its group although not flagged as one.
        drop(Process::new(child));
        assert!(
            !std::path::Path::new(&format!("/proc/{parent}")).exists(),
            "the parent was reaped when dropped"
        );
        // The sleep is re-parented to init (or a subreaper), which reaps it in its own time.
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(sleep) {
            assert!(Instant::now() < deadline, "the group's sleep survived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    #[tokio::test]
    async fn dropping_a_child_in_the_tests_group_kills_only_it() -> Result<()> {
        let (child, mut lines) = parent_of_a_sleep(false)?;
        let sleep: u32 = lines
            .next_line()
            .await?
            .ok_or_else(|| anyhow!("no pid"))?
            .parse()?;
        let parent = child.id().ok_or_else(|| anyhow!("exited"))?;
        assert!(!is_group_leader(parent));
        // Killing its group would kill this test process too.
        drop(Process::new(child));
        assert!(!std::path::Path::new(&format!("/proc/{parent}")).exists());
        assert!(alive(sleep), "only the child is killed");
        let _ = std::process::Command::new("kill")
            .arg(sleep.to_string())
            .status();
        Ok(())
    }
}
