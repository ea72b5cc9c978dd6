//! The Engine.IO long-polling transport, for networks whose proxy blocks websocket
//! upgrades: a GET that the server answers when it has packets (the reader task this
//! module spawns, one GET at a time), and POSTs of what the agent sends (the writer
//! task, one POST at a time, all packets queued meanwhile in it). The supervisor task
//! only queues: a server that stops answering never holds it up, so its heartbeat
//! watchdog still fires. Packets in a payload are separated by U+001E; a binary one is
//! `b` + base64.

use std::time::Duration;

use base64::Engine as _;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use super::dial::Route;
use super::problem::ConnectError;

/// The separator of packets in one polling payload.
const SEPARATOR: char = '\u{1e}';

/// Frames read ahead of the session: a slow reader stops the GETs, not memory.
const READ_AHEAD: usize = 16;

/// Bound on one POST: a server that takes longer is gone (the heartbeat finds it too).
const POST_TIMEOUT: Duration = Duration::from_secs(20);

/// Packets waiting for the writer: more means the server stopped taking them.
const WRITE_QUEUE: usize = 256;

/// One frame as the session reads it, whichever transport brought it.
#[derive(Debug)]
pub(crate) enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// The GET failed or the server ended the session; no frame follows.
    Closed(String),
}

/// An open long-polling transport.
pub(crate) struct Polling {
    frames: mpsc::Receiver<Frame>,
    outgoing: mpsc::Sender<String>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Polling {
    fn drop(&mut self) {
        // No request outlives its session.
        self.reader.abort();
        self.writer.abort();
    }
}

/// `websocket`'s URL for long-polling: `http[s]://…?EIO=4&transport=polling`.
fn polling_url(websocket: &Url) -> Result<Url, ConnectError> {
    let mut url = websocket.clone();
    let scheme = if websocket.scheme() == "wss" {
        "https"
    } else {
        "http"
    };
    url.set_scheme(scheme)
        .map_err(|()| ConnectError::InvalidUrl(websocket.to_string()))?;
    url.set_query(Some("EIO=4&transport=polling"));
    Ok(url)
}

/// The HTTP client of one polling session: the route's CA file and proxy.
fn client(url: &Url, route: Route<'_>) -> Result<reqwest::Client, ConnectError> {
    let tls = crate::tls::client_config(route.ca_file)
        .map_err(|e| ConnectError::Certificate(e.to_string()))?;
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .no_proxy()
        .tcp_nodelay(true);
    if let Some(proxy) = route.proxy.proxy_for(url) {
        let through =
            reqwest::Proxy::all(proxy.url()).map_err(|e| ConnectError::Proxy(e.to_string()))?;
        builder = builder.proxy(through);
    }
    builder
        .build()
        .map_err(|e| ConnectError::Transport(e.to_string()))
}

/// Sorts a failed request by what a person can do about it.
fn request_error(error: &reqwest::Error) -> ConnectError {
    // A socket error in the same words as over a websocket (and on every OS).
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            if error.is_connect() && io.raw_os_error().is_some() {
                return super::problem::io_error(io);
            }
        }
        source = inner.source();
    }
    let detail = crate::error_text::error_chain(error);
    let lower = detail.to_lowercase();
    if lower.contains("certificate") {
        ConnectError::Certificate(detail)
    } else if lower.contains("proxy") {
        ConnectError::Proxy(detail)
    } else if lower.contains("dns") || lower.contains("lookup") {
        ConnectError::NameNotFound(detail)
    } else if error.is_connect() {
        ConnectError::Unreachable(detail)
    } else {
        ConnectError::Transport(detail)
    }
}

/// The packets of one payload, binary ones decoded.
fn split_payload(body: &str) -> Vec<Frame> {
    body.split(SEPARATOR)
        .filter(|packet| !packet.is_empty())
        .map(|packet| match packet.strip_prefix('b') {
            Some(encoded) => match base64::engine::general_purpose::STANDARD.decode(encoded) {
                Ok(bytes) => Frame::Binary(bytes),
                Err(e) => Frame::Text(format!("bad base64 attachment: {e}")),
            },
            None => Frame::Text(packet.to_owned()),
        })
        .collect()
}

/// One GET's body, read up to `cap` bytes: a longer one ends the session (bounded
/// memory whatever the server sends).
async fn get_payload(client: &reqwest::Client, url: &Url, cap: u64) -> Result<String, String> {
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| request_error(&e).to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the server answered the poll with HTTP {status}"));
    }
    read_bounded(response, cap).await
}

/// A poll answer's body, up to `cap` bytes.
async fn read_bounded(response: reqwest::Response, cap: u64) -> Result<String, String> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| request_error(&e).to_string())?;
        if body.len() as u64 + chunk.len() as u64 > cap {
            return Err(format!("a poll answer longer than {cap} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "a poll answer that is not UTF-8".to_owned())
}

impl Polling {
    /// Opens a session at the engine endpoint `websocket` names, over HTTP: the first
    /// GET's frames (the OPEN packet first) are read as any others. Payloads longer
    /// than `cap` bytes end the session.
    pub async fn open(websocket: &Url, route: Route<'_>, cap: u64) -> Result<Self, ConnectError> {
        let base = polling_url(websocket)?;
        let client = client(&base, route)?;
        let response = client
            .get(base.clone())
            .send()
            .await
            .map_err(|e| request_error(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ConnectError::HttpStatus(status.as_u16()));
        }
        let body = read_bounded(response, cap)
            .await
            .map_err(ConnectError::Transport)?;
        let first = split_payload(&body);
        let sid = match first.first() {
            Some(Frame::Text(open)) => {
                super::packet::decode_frame(open, "/")
                    .ok()
                    .and_then(|packet| match packet {
                        super::packet::EnginePacket::Open(info) => Some(info.sid),
                        _ => None,
                    })
            }
            _ => None,
        }
        .ok_or_else(|| ConnectError::Handshake(format!("expected OPEN, got {body:.80}")))?;
        let mut url = base;
        url.query_pairs_mut().append_pair("sid", &sid);
        let (sender, frames) = mpsc::channel(READ_AHEAD);
        let (outgoing, queue) = mpsc::channel(WRITE_QUEUE);
        let writer = tokio::spawn(write_loop(
            client.clone(),
            url.clone(),
            queue,
            sender.clone(),
        ));
        let reader = tokio::spawn(read_loop(client, url, cap, first, sender));
        Ok(Self {
            frames,
            outgoing,
            reader,
            writer,
        })
    }

    /// The next frame the server sent. Cancel-safe.
    pub async fn next(&mut self) -> Frame {
        self.frames
            .recv()
            .await
            .unwrap_or_else(|| Frame::Closed("the poll ended".into()))
    }

    /// Queues one text packet for the writer; fails only when the queue is full (the
    /// server has stopped taking packets) or the writer has stopped.
    pub fn send(&self, packet: String) -> Result<(), String> {
        self.outgoing
            .try_send(packet)
            .map_err(|_| "the server does not take packets any more".to_owned())
    }

    /// Queues one binary attachment (`b` + base64).
    pub fn send_binary(&self, bytes: &[u8]) -> Result<(), String> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.send(format!("b{encoded}"))
    }

    /// Sends what is queued and then `last`, waiting at most `limit`.
    pub async fn flush_and_close(mut self, last: String, limit: Duration) {
        let _ = self.outgoing.try_send(last);
        let (closed, _) = mpsc::channel(1);
        // The writer ends once the queue is empty and no sender is left.
        drop(std::mem::replace(&mut self.outgoing, closed));
        let _ = tokio::time::timeout(limit, &mut self.writer).await;
    }
}

/// The writer task: POSTs queued packets, those waiting together in one payload, until
/// the session is dropped; a failed POST ends the session (as a closed frame).
async fn write_loop(
    client: reqwest::Client,
    url: Url,
    mut queue: mpsc::Receiver<String>,
    frames: mpsc::Sender<Frame>,
) {
    while let Some(first) = queue.recv().await {
        let mut payload = first;
        while let Ok(next) = queue.try_recv() {
            payload.push(SEPARATOR);
            payload.push_str(&next);
        }
        let post = client
            .post(url.clone())
            .header("content-type", "text/plain;charset=UTF-8")
            .body(payload)
            .send();
        let failure = match tokio::time::timeout(POST_TIMEOUT, post).await {
            Err(_) => Some("the server did not take a packet in time".to_owned()),
            Ok(Err(e)) => Some(request_error(&e).to_string()),
            Ok(Ok(response)) if !response.status().is_success() => Some(format!(
                "the server refused a packet with HTTP {}",
                response.status()
            )),
            Ok(Ok(_)) => None,
        };
        if let Some(reason) = failure {
            let _ = frames.send(Frame::Closed(reason)).await;
            return;
        }
    }
}

/// The reader task: hands on the first payload's frames, then polls until a GET fails
/// or the session is dropped.
async fn read_loop(
    client: reqwest::Client,
    url: Url,
    cap: u64,
    first: Vec<Frame>,
    frames: mpsc::Sender<Frame>,
) {
    for frame in first {
        if frames.send(frame).await.is_err() {
            return;
        }
    }
    loop {
        let batch = match get_payload(&client, &url, cap).await {
            Ok(body) => split_payload(&body),
            Err(reason) => vec![Frame::Closed(reason)],
        };
        let closed = batch.iter().any(|f| matches!(f, Frame::Closed(_)));
        for frame in batch {
            if frames.send(frame).await.is_err() {
                return;
            }
        }
        if closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_splits_into_its_packets_with_binary_decoded() {
        let frames = split_payload("2\u{1e}42[\"print\",{}]\u{1e}bAQID");
        assert!(matches!(&frames[0], Frame::Text(t) if t == "2"));
        assert!(matches!(&frames[1], Frame::Text(t) if t == "42[\"print\",{}]"));
        assert!(matches!(&frames[2], Frame::Binary(b) if b == &[1, 2, 3]));
        assert_eq!(frames.len(), 3);
    }

    #[test]
    fn the_polling_url_follows_the_websocket_one() {
        let ws =
            Url::parse("wss://h:8443/print/socket.io/?EIO=4&transport=websocket").expect("url");
        assert_eq!(
            polling_url(&ws).map(String::from),
            Ok("https://h:8443/print/socket.io/?EIO=4&transport=polling".into())
        );
    }
}
