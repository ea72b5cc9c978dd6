//! A TCP proxy between an agent and a server that, once, swallows the first websocket
//! message from the agent holding given words and cuts that connection: the message
//! was written by the agent and never reached the server. Later connections pass.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// The running proxy; it stops with the test's runtime.
#[derive(Debug)]
pub struct CuttingProxy {
    /// The port agents connect to.
    pub port: u16,
    cut: Arc<Notify>,
}

/// What the agent-to-server direction does with one connection.
#[derive(Debug)]
struct Cutter {
    needles: Vec<Vec<u8>>,
    done: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl CuttingProxy {
    /// Forwards loopback connections to `server_port`; cuts the first one on which the
    /// agent sends a text message containing every one of `needles`.
    pub async fn start(server_port: u16, needles: &[&str]) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let cut = Arc::new(Notify::new());
        let done = Arc::new(AtomicBool::new(false));
        let needles: Vec<Vec<u8>> = needles.iter().map(|n| n.as_bytes().to_vec()).collect();
        let notify = Arc::clone(&cut);
        tokio::spawn(async move {
            while let Ok((agent, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)).await else {
                    continue;
                };
                let cutter = Cutter {
                    needles: needles.clone(),
                    done: Arc::clone(&done),
                    cut: Arc::clone(&notify),
                };
                tokio::spawn(cutter.relay(agent, server));
            }
        });
        Ok(Self { port, cut })
    }

    /// Waits until the proxy has cut a connection.
    pub async fn cut(&self) {
        self.cut.notified().await;
    }
}

impl Cutter {
    async fn relay(self, agent: TcpStream, server: TcpStream) {
        let (mut agent_read, mut agent_write) = agent.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let downstream = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut server_read, &mut agent_write).await;
        });
        let mut buffer = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut upgraded = false;
        while let Ok(n) = agent_read.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            buffer.extend_from_slice(&chunk[..n]);
            if !upgraded {
                // The HTTP upgrade request passes as it is.
                let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let request: Vec<u8> = buffer.drain(..end + 4).collect();
                if server_write.write_all(&request).await.is_err() {
                    break;
                }
                upgraded = true;
            }
            let mut cut = false;
            while let Some(length) = frame_length(&buffer) {
                let frame: Vec<u8> = buffer.drain(..length).collect();
                if self.should_cut(&frame) {
                    cut = true;
                    break;
                }
                if server_write.write_all(&frame).await.is_err() {
                    break;
                }
            }
            if cut {
                self.cut.notify_one();
                break;
            }
        }
        downstream.abort();
        // Dropping both halves closes both connections.
    }

    fn should_cut(&self, frame: &[u8]) -> bool {
        if self.done.load(Ordering::SeqCst) || frame[0] & 0x0f != 1 {
            return false;
        }
        let payload = unmasked_payload(frame);
        let hit = self.needles.iter().all(|needle| {
            payload
                .windows(needle.len())
                .any(|w| w == needle.as_slice())
        });
        hit && !self.done.swap(true, Ordering::SeqCst)
    }
}

/// The length of the first complete websocket frame in `buffer`, if it is complete.
fn frame_length(buffer: &[u8]) -> Option<usize> {
    let (header, payload) = frame_layout(buffer)?;
    let total = header + payload;
    (buffer.len() >= total).then_some(total)
}

/// (header length with the mask key, payload length) of the frame at `buffer`'s start.
fn frame_layout(buffer: &[u8]) -> Option<(usize, usize)> {
    let second = *buffer.get(1)?;
    let masked = second & 0x80 != 0;
    let (mut header, length) = match second & 0x7f {
        126 => (
            4,
            u16::from_be_bytes([*buffer.get(2)?, *buffer.get(3)?]) as usize,
        ),
        127 => {
            let bytes: [u8; 8] = buffer.get(2..10)?.try_into().ok()?;
            (10, u64::from_be_bytes(bytes) as usize)
        }
        short => (2, short as usize),
    };
    if masked {
        header += 4;
    }
    Some((header, length))
}

/// A client frame's payload with its mask removed.
fn unmasked_payload(frame: &[u8]) -> Vec<u8> {
    let Some((header, _)) = frame_layout(frame) else {
        return Vec::new();
    };
    let masked = frame[1] & 0x80 != 0;
    let mut payload = frame[header..].to_vec();
    if masked {
        let key = &frame[header - 4..header];
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= key[i % 4];
        }
    }
    payload
}
