//! A process' log read line by line as it writes it: kept in memory for waits that
//! resume where the last one stopped, and copied to a file under `artifacts/logs/`.
//! Used for programs whose only account of themselves is their log (the desktop app
//! under Wine logs each tray tooltip it shows).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use tokio::time::Instant;

/// How long a wait for a line may take (Wine starts slowly the first time).
const LIMIT: Duration = Duration::from_secs(60);

/// A process' log lines as they come (ANSI colours stripped), kept in memory and
/// copied to a file.
#[derive(Debug)]
pub struct LogWatch {
    lines: Arc<Mutex<Vec<String>>>,
    count: watch::Receiver<usize>,
    /// Lines before this one were already matched.
    cursor: usize,
}

impl LogWatch {
    /// Follows `stream` until it ends, copying it to `file`.
    pub async fn follow(
        stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
        file: &Path,
    ) -> Result<Self> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut copy = tokio::fs::File::create(file).await?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (count, receiver) = watch::channel(0);
        let shared = Arc::clone(&lines);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let line = strip_ansi(&line);
                let _ = copy.write_all(format!("{line}\n").as_bytes()).await;
                let mut all = shared.lock().unwrap_or_else(|e| e.into_inner());
                all.push(line);
                count.send_replace(all.len());
            }
        });
        Ok(Self {
            lines,
            count: receiver,
            cursor: 0,
        })
    }

    /// The next line (after the last one matched) containing `needle`.
    pub async fn wait_for(&mut self, needle: &str) -> Result<String> {
        let deadline = Instant::now() + LIMIT;
        loop {
            {
                let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(offset) = lines[self.cursor..].iter().position(|l| l.contains(needle)) {
                    self.cursor += offset + 1;
                    return Ok(lines[self.cursor - 1].clone());
                }
            }
            let changed = tokio::time::timeout_at(deadline, self.count.changed()).await;
            match changed {
                Ok(Ok(())) => {}
                Ok(Err(_)) => bail!("the log ended without {needle:?}:\n{}", self.tail()),
                Err(_) => bail!(
                    "no {needle:?} in the log within {LIMIT:?}:\n{}",
                    self.tail()
                ),
            }
        }
    }

    /// Every line so far.
    pub fn all(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn tail(&self) -> String {
        let lines = self.all();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// `text` without terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_sequences_are_stripped() {
        assert_eq!(strip_ansi("\u{1b}[2mtime\u{1b}[0m DEBUG"), "time DEBUG");
    }
}
