//! `printrelay-loadgen`, many simulated agents at once.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::Instant;

use crate::common::workspace_binary;
use crate::process::Process;

/// `printrelay-loadgen` running in the background, its stdout JSON lines read as they come.
#[derive(Debug)]
pub struct LoadGen {
    pub process: Process,
    /// Each stdout line, or an error naming a line that is not JSON (it ends the stream).
    lines: tokio::sync::mpsc::UnboundedReceiver<Result<Value>>,
}

impl LoadGen {
    /// Starts it against `url` with `args` (e.g. `--count 500 --reconnect`).
    pub fn start(url: &str, args: &[&str]) -> Result<Self> {
        let mut child = Command::new(workspace_binary("printrelay-loadgen")?)
            .args(["--url", url])
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting printrelay-loadgen")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            // Its stdout is JSON lines only (messages go to stderr).
            let mut reader = BufReader::new(stdout).lines();
            let mut number = 0;
            while let Ok(Some(line)) = reader.next_line().await {
                number += 1;
                let value = serde_json::from_str(&line).map_err(|error| {
                    anyhow!("loadgen stdout line {number} is not JSON ({error}): {line}")
                });
                let failed = value.is_err();
                if tx.send(value).is_err() || failed {
                    return;
                }
            }
        });
        Ok(Self {
            process: Process::new(child),
            lines,
        })
    }

    /// Reads lines until one matches `wanted`, failing after `limit` or when it exits.
    pub async fn wait_for(
        &mut self,
        limit: Duration,
        what: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Err(_) => bail!("loadgen: no '{what}' within {limit:?}"),
                Ok(None) => bail!("loadgen exited before '{what}'"),
                Ok(Some(line)) => {
                    let line = line?;
                    if wanted(&line) {
                        return Ok(line);
                    }
                }
            }
        }
    }
}
