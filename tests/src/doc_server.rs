//! A document server for `*_uri` jobs: one fixed HTTP answer (a document or a
//! redirect) on a loopback address of choice, counting the requests it answered, so a
//! test can tell "refused before any connection" from "fetched".

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running document server; it lives until the runtime ends.
#[derive(Debug)]
pub struct DocServer {
    pub ip: IpAddr,
    pub port: u16,
    hits: Arc<AtomicUsize>,
}

impl DocServer {
    /// Answers every GET on `ip` (e.g. `127.0.0.1`, `127.0.0.2`) with `body`.
    pub async fn document(ip: &str, body: Vec<u8>) -> Result<Self> {
        Self::start(ip, "200 OK", "", body).await
    }

    /// Answers every GET on `ip` with `302 Found` to `location`.
    pub async fn redirect(ip: &str, location: &str) -> Result<Self> {
        Self::start(
            ip,
            "302 Found",
            &format!("Location: {location}\r\n"),
            Vec::new(),
        )
        .await
    }

    async fn start(ip: &str, status: &str, headers: &str, body: Vec<u8>) -> Result<Self> {
        let ip: IpAddr = ip.parse()?;
        let listener = tokio::net::TcpListener::bind((ip, 0)).await?;
        let port = listener.local_addr()?.port();
        let head = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let answer = Arc::new([head.as_bytes(), &body].concat());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (answer, counter) = (Arc::clone(&answer), Arc::clone(&counter));
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.write_all(&answer).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Ok(Self { ip, port, hits })
    }

    /// `http://<host>:<port><path>`: `host` may be another name for `ip` (`localhost`).
    pub fn url_as(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    /// `http://<ip>:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            std::net::SocketAddr::new(self.ip, self.port)
        )
    }

    /// Requests answered so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
