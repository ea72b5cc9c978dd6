//! The pipe between the tray process (which runs the agent) and the window process
//! (which runs the web engine only while the window is open): JSON lines both ways.
//! The tray end runs [`serve`] on its runtime; the window end holds a [`Bridge`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use crate::control::{Desktop, Request};
use crate::error::{CommandError, ErrorCode};

/// Window -> tray: one request with the id its reply will carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub id: u64,
    pub request: Request,
}

/// Tray -> window.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ToWindow {
    /// The answer to the call with this id.
    Reply {
        id: u64,
        result: Result<Value, CommandError>,
    },
    /// An agent event, to emit on `channel` (see `AgentEvent::channel`).
    Event { channel: String, payload: Value },
    /// The user asked for the window again (tray menu, second launch).
    Focus,
}

/// Tray end: answers calls read from `from_window` and writes replies and everything sent
/// on `outbox` to `to_window`, until the window closes its end.
pub async fn serve<R, W>(
    desktop: Arc<Desktop>,
    from_window: R,
    to_window: W,
    outbox: mpsc::UnboundedSender<ToWindow>,
    mut outgoing: mpsc::UnboundedReceiver<ToWindow>,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let writer = tokio::spawn(async move {
        let mut to_window = to_window;
        while let Some(message) = outgoing.recv().await {
            if write_line(&mut to_window, &message).await.is_err() {
                break;
            }
        }
    });
    let mut lines = BufReader::new(from_window).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let call: Call = match serde_json::from_str(&line) {
            Ok(call) => call,
            Err(error) => {
                tracing::warn!(%error, "ignoring a malformed request from the window");
                continue;
            }
        };
        let desktop = Arc::clone(&desktop);
        let outbox = outbox.clone();
        tokio::spawn(async move {
            let result = desktop.handle(call.request).await;
            let _ = outbox.send(ToWindow::Reply {
                id: call.id,
                result,
            });
        });
    }
    drop(outbox);
    writer.abort();
}

async fn write_line<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &impl Serialize,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line).await?;
    writer.flush().await
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, CommandError>>>>>;

/// Window end: sends calls to the tray process and routes its replies back.
#[derive(Debug, Clone)]
pub struct Bridge {
    next_id: Arc<AtomicU64>,
    pending: Pending,
    calls: mpsc::UnboundedSender<Call>,
}

impl Bridge {
    /// Connects over a pipe pair. Events and focus requests go to `on_message`; when the
    /// tray process closes its end, `on_closed` runs once.
    pub fn connect<R, W>(
        from_tray: R,
        to_tray: W,
        on_message: impl Fn(ToWindow) + Send + 'static,
        on_closed: impl FnOnce() + Send + 'static,
    ) -> Self
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let pending: Pending = Arc::default();
        let (calls, mut outgoing) = mpsc::unbounded_channel::<Call>();
        tauri::async_runtime::spawn(async move {
            let mut to_tray = to_tray;
            while let Some(call) = outgoing.recv().await {
                if write_line(&mut to_tray, &call).await.is_err() {
                    break;
                }
            }
        });
        let replies = Arc::clone(&pending);
        tauri::async_runtime::spawn(async move {
            let mut lines = BufReader::new(from_tray).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<ToWindow>(&line) {
                    Ok(ToWindow::Reply { id, result }) => {
                        let waiter = replies.lock().ok().and_then(|mut p| p.remove(&id));
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(result);
                        }
                    }
                    Ok(message) => on_message(message),
                    Err(error) => tracing::warn!(%error, "ignoring a malformed message"),
                }
            }
            // Unanswered calls fail with `Disconnected` when their senders drop here.
            if let Ok(mut pending) = replies.lock() {
                pending.clear();
            }
            on_closed();
        });
        Self {
            next_id: Arc::new(AtomicU64::new(1)),
            pending,
            calls,
        }
    }

    /// Sends `request` and waits for its answer.
    pub async fn call(&self, request: Request) -> Result<Value, CommandError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, reply);
        }
        let disconnected = || {
            CommandError::new(
                ErrorCode::Disconnected,
                "the PrintRelay tray process has stopped",
            )
        };
        self.calls
            .send(Call { id, request })
            .map_err(|_| disconnected())?;
        answer.await.unwrap_or_else(|_| Err(disconnected()))
    }
}
