//! Reading a hub's `GET /api/v1/events` (Server-Sent Events) as a subscriber would: a
//! prompt one over reqwest, and a slow one that stops reading on a small TCP socket.

use std::pin::Pin;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::common::http_client;

type Body = Pin<Box<dyn Stream<Item = Result<Vec<u8>>> + Send>>;

/// A subscription to a hub's `GET /api/v1/events`.
pub struct EventStream {
    body: Body,
    buffer: Vec<u8>,
    /// Every `(event name, data)` seen so far.
    pub seen: Vec<(String, Value)>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("seen", &self.seen)
            .finish()
    }
}

impl EventStream {
    /// Subscribes to `<base>/api/v1/events?<query>`; returns once the hub answered, so
    /// every later change is seen.
    pub async fn open(base_url: &str, query: &str) -> Result<Self> {
        let response = http_client()
            .get(format!("{base_url}/api/v1/events?{query}"))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "events refused: {}",
            response.status()
        );
        let body = response
            .bytes_stream()
            .map(|chunk| chunk.map(|b| b.to_vec()).map_err(anyhow::Error::from));
        Ok(Self {
            body: Box::pin(body),
            buffer: Vec::new(),
            seen: Vec::new(),
        })
    }

    /// The rest of a [`SlowReader`]'s stream, read from now on.
    pub fn from_slow_reader(reader: SlowReader) -> Self {
        let SlowReader { socket, buffer } = reader;
        let body = futures_util::stream::unfold(socket, |mut socket| async move {
            let mut chunk = vec![0; 64 * 1024];
            match socket.read(&mut chunk).await {
                Ok(0) => None,
                Ok(n) => {
                    chunk.truncate(n);
                    Some((Ok(chunk), socket))
                }
                Err(error) => Some((Err(error.into()), socket)),
            }
        });
        Self {
            body: Box::pin(body),
            buffer,
            seen: Vec::new(),
        }
    }

    /// The next event (comments and keep-alives skipped); `None` when the stream ended.
    pub async fn next(&mut self) -> Result<Option<(String, Value)>> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let block = String::from_utf8_lossy(&block);
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let event = (name, serde_json::from_str(&data)?);
                self.seen.push(event.clone());
                return Ok(Some(event));
            }
            match self.body.next().await {
                Some(chunk) => self.buffer.extend(chunk?),
                None => return Ok(None),
            }
        }
    }

    /// Reads events until one named `name` matches `wanted`, failing after `limit`.
    pub async fn wait_for(
        &mut self,
        limit: Duration,
        name: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Err(_) => bail!(
                    "no matching '{name}' event within {limit:?}; seen: {:#?}",
                    self.seen
                ),
                Ok(event) => match event? {
                    None => bail!("event stream ended; seen: {:#?}", self.seen),
                    Some((seen, data)) if seen == name && wanted(&data) => return Ok(data),
                    Some(_) => {}
                },
            }
        }
    }
}

/// A subscriber that reads nothing after subscribing, on a TCP socket with a small
/// receive buffer and segment size, so the hub's side fills after a few kilobytes (a
/// subscriber on a slow link, or a stuck one).
#[derive(Debug)]
pub struct SlowReader {
    socket: TcpStream,
    /// What was read past the response head.
    buffer: Vec<u8>,
}

impl SlowReader {
    /// Subscribes to `/api/v1/events?<query>` of the hub on loopback `port`; returns once
    /// the hub confirmed the subscription.
    pub async fn subscribe(port: u16, query: &str) -> Result<Self> {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.set_recv_buffer_size(4096)?;
        // The sender's buffer grows with the segment size: loopback's 64 KiB segments
        // would let it take megabytes before it waits.
        socket.set_tcp_mss(536)?;
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        socket.connect(&address.into())?;
        socket.set_nonblocking(true)?;
        let mut socket = TcpStream::from_std(std::net::TcpStream::from(socket))?;
        // HTTP/1.0: the body ends with the connection, no chunked framing to undo.
        let request =
            format!("GET /api/v1/events?{query} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        socket.write_all(request.as_bytes()).await?;
        let mut received = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = String::from_utf8_lossy(&received);
            if let Some(head_end) = text.find("\r\n\r\n") {
                anyhow::ensure!(
                    text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"),
                    "events refused: {}",
                    &text[..head_end]
                );
                // The hub's opening comment: subscribed before it was sent.
                if text[head_end..].contains(": subscribed") {
                    let body = received[head_end + 4..].to_vec();
                    return Ok(Self {
                        socket,
                        buffer: body,
                    });
                }
            }
            let mut chunk = [0; 4096];
            let n = tokio::time::timeout_at(deadline, socket.read(&mut chunk))
                .await
                .context("no answer to the subscription within 30 s")??;
            anyhow::ensure!(n > 0, "the hub closed the subscription");
            received.extend_from_slice(&chunk[..n]);
        }
    }
}
