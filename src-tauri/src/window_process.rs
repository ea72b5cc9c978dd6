//! The window process as the tray process sees it: started on demand, focused when asked
//! again, fed with agent events while it runs. Its exit frees the whole web engine.

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use printrelay_agent::AgentEvent;
use tokio::sync::mpsc;

use crate::bridge::{self, ToWindow};
use crate::control::Desktop;

/// Flag that makes the desktop binary run as the window process.
pub const WINDOW_FLAG: &str = "--window";

/// The running window process, if any.
#[derive(Debug)]
pub struct WindowProcess {
    desktop: Arc<Desktop>,
    to_window: Mutex<Option<mpsc::UnboundedSender<ToWindow>>>,
    /// Variables this process set for itself only (e.g. `GDK_GL`), not for the web engine.
    env_remove: Vec<&'static str>,
}

impl WindowProcess {
    /// No window yet.
    pub fn new(desktop: Arc<Desktop>, env_remove: Vec<&'static str>) -> Self {
        Self {
            desktop,
            to_window: Mutex::new(None),
            env_remove,
        }
    }

    /// Focuses the window, starting its process if it is not running. Call on the runtime.
    pub fn show(&self) {
        let Ok(mut to_window) = self.to_window.lock() else {
            return;
        };
        if let Some(sender) = to_window.as_ref() {
            if sender.send(ToWindow::Focus).is_ok() {
                return;
            }
        }
        match self.spawn() {
            Ok(sender) => *to_window = Some(sender),
            Err(error) => tracing::error!(%error, "cannot start the window process"),
        }
    }

    /// Hands an agent event to the window, if it is open.
    pub fn forward(&self, event: &AgentEvent) {
        let Ok(to_window) = self.to_window.lock() else {
            return;
        };
        // No window, no work: the tray process sees every heartbeat.
        let Some(sender) = to_window.as_ref() else {
            return;
        };
        if let Ok(payload) = serde_json::to_value(event) {
            let _ = sender.send(ToWindow::Event {
                channel: event.channel().to_owned(),
                payload,
            });
        }
    }

    fn spawn(&self) -> std::io::Result<mpsc::UnboundedSender<ToWindow>> {
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command
            .arg(WINDOW_FLAG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        for name in &self.env_remove {
            command.env_remove(name);
        }
        let mut child = command.spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other("the window process has no pipes"));
        };
        tracing::info!(pid = child.id(), "window process started");
        let (sender, outgoing) = mpsc::unbounded_channel();
        let desktop = Arc::clone(&self.desktop);
        let outbox = sender.clone();
        tokio::spawn(async move {
            bridge::serve(desktop, stdout, stdin, outbox, outgoing).await;
            let status = child.wait().await;
            tracing::info!(?status, "window process ended");
        });
        Ok(sender)
    }
}
