//! The DevTools protocol over Chromium's `--remote-debugging-pipe`: JSON messages ended
//! by a NUL byte, commands answered by id, events handed on. A reader task per browser
//! owns the browser's output; it never waits on the render, so a command's answer is
//! read whatever the events do.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// Events queued for the render before the browser is told no more: a page that floods
/// requests loses those past this, and they wait until the time limit.
const EVENT_QUEUE: usize = 1024;

/// A failed exchange with the browser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdpError {
    #[error("the browser closed its end of the pipe")]
    Closed,
    #[error("the browser refused {method}: {message}")]
    Refused { method: String, message: String },
    #[error("a message from the browser has more than {0} bytes")]
    TooLarge(usize),
    #[error("the browser sent a message that is not JSON: {0}")]
    NotJson(String),
}

/// An event from the browser.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
    pub session: Option<String>,
}

/// Commands waiting for their answers, and why the connection ended once it has.
#[derive(Debug, Default)]
struct Waiting {
    answers: HashMap<u64, oneshot::Sender<Result<Value, CdpError>>>,
    ended: Option<CdpError>,
}

type Pending = Arc<Mutex<Waiting>>;

/// One browser's DevTools connection; cheap to clone.
#[derive(Clone)]
pub struct Cdp {
    writer: Arc<tokio::sync::Mutex<Box<dyn AsyncWrite + Send + Unpin>>>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
}

impl std::fmt::Debug for Cdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cdp").finish_non_exhaustive()
    }
}

impl Cdp {
    /// Starts reading `output` (the browser's fd 4) on a task of its own; commands go to
    /// `input` (its fd 3). Messages over `max_message` bytes end the connection.
    pub fn start(
        input: impl AsyncWrite + Send + Unpin + 'static,
        output: impl AsyncRead + Send + Unpin + 'static,
        max_message: usize,
    ) -> (Cdp, mpsc::Receiver<Event>, tokio::task::JoinHandle<()>) {
        let pending: Pending = Arc::default();
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let reader = tokio::spawn(read_messages(
            BufReader::new(output),
            max_message,
            Arc::clone(&pending),
            events_tx,
        ));
        let cdp = Cdp {
            writer: Arc::new(tokio::sync::Mutex::new(Box::new(input))),
            pending,
            next_id: Arc::new(AtomicU64::new(1)),
        };
        (cdp, events, reader)
    }

    /// Sends `method` (to the page `session`, or the browser) and waits for its answer.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = Value::from(session);
        }
        let (answer_tx, answer) = oneshot::channel();
        {
            let mut waiting = lock(&self.pending);
            if let Some(ended) = &waiting.ended {
                return Err(ended.clone());
            }
            waiting.answers.insert(id, answer_tx);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        {
            let mut writer = self.writer.lock().await;
            if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                lock(&self.pending).answers.remove(&id);
                return Err(CdpError::Closed);
            }
        }
        match answer.await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(CdpError::Refused { message, .. })) => Err(CdpError::Refused {
                method: method.to_owned(),
                message,
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(CdpError::Closed),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads NUL-ended messages until the pipe closes or breaks a rule; then every waiting
/// command fails with the reason.
async fn read_messages(
    mut output: BufReader<impl AsyncRead + Unpin>,
    max_message: usize,
    pending: Pending,
    events: mpsc::Sender<Event>,
) {
    let mut buffer = Vec::new();
    let end = loop {
        buffer.clear();
        // `take` bounds what one message may cost before it is judged too long.
        let read = (&mut output)
            .take(max_message as u64 + 1)
            .read_until(0, &mut buffer)
            .await;
        match read {
            Ok(0) | Err(_) => break CdpError::Closed,
            Ok(_) if buffer.last() != Some(&0) => {
                break if buffer.len() > max_message {
                    CdpError::TooLarge(max_message)
                } else {
                    CdpError::Closed
                }
            }
            Ok(_) => {}
        }
        buffer.pop();
        let message: Value = match serde_json::from_slice(&buffer) {
            Ok(message) => message,
            Err(e) => break CdpError::NotJson(e.to_string()),
        };
        dispatch(message, &pending, &events);
    };
    let mut waiting = lock(&pending);
    for (_, answer) in waiting.answers.drain() {
        let _ = answer.send(Err(end.clone()));
    }
    waiting.ended = Some(end);
}

fn dispatch(mut message: Value, pending: &Pending, events: &mpsc::Sender<Event>) {
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let Some(waiting) = lock(pending).answers.remove(&id) else {
            return;
        };
        let answer = match message.get_mut("error") {
            Some(error) => Err(CdpError::Refused {
                method: String::new(),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given")
                    .to_owned(),
            }),
            None => Ok(message
                .get_mut("result")
                .map(Value::take)
                .unwrap_or(Value::Null)),
        };
        let _ = waiting.send(answer);
        return;
    }
    let Some(method) = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    let event = Event {
        method,
        session: message
            .get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        params: message
            .get_mut("params")
            .map(Value::take)
            .unwrap_or(Value::Null),
    };
    if events.try_send(event).is_err() {
        tracing::warn!("the page sends more events than the renderer reads; one dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A stand-in browser on a duplex pipe: answers each command with its own method.
    #[tokio::test]
    async fn commands_are_answered_by_id_and_events_handed_on() {
        let (ours, theirs) = tokio::io::duplex(4096);
        let (our_read, our_write) = tokio::io::split(ours);
        let (mut their_read, mut their_write) = tokio::io::split(theirs);
        let (cdp, mut events, _reader) = Cdp::start(our_write, our_read, 1024);
        let browser = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut byte = [0u8; 1];
            while their_read.read_exact(&mut byte).await.is_ok() && byte[0] != 0 {
                got.push(byte[0]);
            }
            let command: Value = serde_json::from_slice(&got).expect("json");
            let event = json!({"method": "Page.loadEventFired", "params": {}, "sessionId": "S"});
            let answer = json!({"id": command["id"], "result": {"echo": command["method"]}});
            for message in [event, answer] {
                their_write
                    .write_all(message.to_string().as_bytes())
                    .await
                    .expect("write");
                their_write.write_all(&[0]).await.expect("write");
            }
            their_write
        });
        let answer = cdp.call(Some("S"), "Page.enable", json!({})).await;
        assert_eq!(answer, Ok(json!({"echo": "Page.enable"})));
        let event = events.recv().await.expect("event");
        assert_eq!(
            (event.method.as_str(), event.session.as_deref()),
            ("Page.loadEventFired", Some("S"))
        );
        let mut their_write = browser.await.expect("browser");
        // A message longer than the cap ends the connection, failing what waits.
        let waiting = tokio::spawn({
            let cdp = cdp.clone();
            async move { cdp.call(None, "Browser.getVersion", json!({})).await }
        });
        their_write
            .write_all(&vec![b' '; 2048])
            .await
            .expect("write");
        assert_eq!(waiting.await.expect("task"), Err(CdpError::TooLarge(1024)));
    }
}
