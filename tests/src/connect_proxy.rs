//! An HTTP CONNECT proxy on 127.0.0.1 for tests of the agent's proxy support. It sends
//! every tunnel to 127.0.0.1 whatever the host asked for, so a test can give the agent
//! a server name that resolves nowhere else (`print-hub.test`): a connection that
//! arrives proves the agent went through the proxy. Every tunnel it opens is recorded.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Result;
use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Bound on a request head; a longer one is dropped.
const MAX_HEAD: usize = 8 * 1024;

/// The running proxy; it stops accepting when dropped (open tunnels run to their end).
#[derive(Debug)]
pub struct ConnectProxy {
    port: u16,
    credentials: Option<(String, String)>,
    seen: Arc<Seen>,
    accept: JoinHandle<()>,
}

/// The tunnels opened so far, and a wake-up for each new one.
#[derive(Debug, Default)]
struct Seen {
    tunnels: Mutex<Vec<String>>,
    /// `host:port/path` of every plain-HTTP request relayed (`GET http://…`).
    forwarded: Mutex<Vec<String>>,
    opened: Notify,
}

impl Seen {
    fn tunnels(&self) -> MutexGuard<'_, Vec<String>> {
        // A panicking relay task cannot leave the list half-written: recover it.
        self.tunnels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ConnectProxy {
    /// A proxy that asks for no credentials, on a free port.
    pub async fn start() -> Result<Self> {
        Self::listen(None).await
    }

    /// A proxy that answers `407` to a CONNECT without `Proxy-Authorization: Basic` for
    /// `user:password`.
    pub async fn start_with_credentials(user: &str, password: &str) -> Result<Self> {
        Self::listen(Some((user.to_owned(), password.to_owned()))).await
    }

    async fn listen(credentials: Option<(String, String)>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Seen::default());
        let expected = credentials.as_ref().map(|(user, password)| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        });
        let shared = Arc::clone(&seen);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, expected.clone(), Arc::clone(&shared)));
            }
        });
        Ok(Self {
            port,
            credentials,
            seen,
            accept,
        })
    }

    /// The port the proxy listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://[user:password@]127.0.0.1:PORT`, the agent's `proxy` setting for it.
    pub fn url(&self) -> String {
        match &self.credentials {
            Some((user, password)) => format!("http://{user}:{password}@127.0.0.1:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// `host:port/path` of every plain-HTTP request relayed (`GET http://host:port/path`,
    /// as a client sends `http://` URLs to a proxy), in order.
    pub fn forwarded(&self) -> Vec<String> {
        self.seen
            .forwarded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// `host:port` of every CONNECT answered `200`, in order.
    pub fn tunnels(&self) -> Vec<String> {
        self.seen.tunnels().clone()
    }

    /// The first tunnel, once one is open: at once if one already is, else the next
    /// one opened within `timeout`.
    pub async fn wait_for_tunnel(&self, timeout: Duration) -> Option<String> {
        let wait = async {
            loop {
                // Registered before the check, so that a tunnel opened in between wakes it.
                let opened = self.seen.opened.notified();
                tokio::pin!(opened);
                opened.as_mut().enable();
                if let Some(first) = self.seen.tunnels().first() {
                    return first.clone();
                }
                opened.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.ok()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

#[cfg(test)]
impl ConnectProxy {
    /// Stops accepting and waits until the listener is gone.
    async fn stop(mut self) {
        self.accept.abort();
        let _ = (&mut self.accept).await;
    }
}

/// Answers one client: `405` to anything but CONNECT, `407` without the expected
/// credentials, else `200` and a relay to 127.0.0.1 on the port asked for.
async fn serve(mut client: TcpStream, expected: Option<String>, seen: Arc<Seen>) {
    let Some(head) = read_head(&mut client).await else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut words = request_line.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if let Some(url) = target.strip_prefix("http://") {
        forward(client, &head, method, url, &seen).await;
        return;
    }
    if method != "CONNECT" {
        let _ = client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
        return;
    }
    if let Some(expected) = expected {
        let authorized = lines.any(|line| {
            line.split_once(':').is_some_and(|(name, value)| {
                name.eq_ignore_ascii_case("proxy-authorization") && value.trim() == expected
            })
        });
        if !authorized {
            let _ = client
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
            return;
        }
    }
    let port = target
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse::<u16>().ok());
    let Some(port) = port else {
        let _ = client
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", port)).await else {
        let _ = client
            .write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    seen.tunnels().push(target.to_owned());
    seen.opened.notify_waiters();
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// Relays a plain-HTTP request for `url` (`host:port/path`) to 127.0.0.1 on that port,
/// in origin form (`GET /path`), and the answer back.
async fn forward(mut client: TcpStream, head: &str, method: &str, url: &str, seen: &Seen) {
    let (authority, path) = url.split_once('/').unwrap_or((url, ""));
    let port = authority
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse::<u16>().ok())
        .unwrap_or(80);
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", port)).await else {
        let _ = client
            .write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    let headers = head.split_once("\r\n").map_or("", |(_, rest)| rest);
    let request = format!("{method} /{path} HTTP/1.1\r\n{headers}");
    if server.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    seen.forwarded
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(url.to_owned());
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// The request head, up to the blank line; read a byte at a time so that no tunnel
/// byte the client sends early is taken. `None` if the client goes or sends too much.
async fn read_head(client: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD || client.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on 127.0.0.1; returns its port.
    async fn echo() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        port
    }

    /// Sends `head` to the proxy and returns the connection and the answer's head.
    async fn ask(proxy: &ConnectProxy, head: &str) -> (TcpStream, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .expect("connect to the proxy");
        stream.write_all(head.as_bytes()).await.expect("request");
        let answer = read_head(&mut stream).await.expect("an answer");
        (stream, answer)
    }

    #[tokio::test]
    async fn tunnels_any_name_to_loopback_and_records_it() {
        let port = echo().await;
        let proxy = ConnectProxy::start().await.expect("proxy");
        assert_eq!(proxy.url(), format!("http://127.0.0.1:{}", proxy.port()));
        let target = format!("print-hub.test:{port}");
        let (mut stream, answer) = ask(
            &proxy,
            &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        stream.write_all(b"hello").await.expect("write");
        let mut back = [0u8; 5];
        stream.read_exact(&mut back).await.expect("echo");
        assert_eq!(&back, b"hello");
        assert_eq!(
            proxy.wait_for_tunnel(Duration::from_secs(5)).await,
            Some(target.clone())
        );
        assert_eq!(proxy.tunnels(), vec![target]);
    }

    #[tokio::test]
    async fn wait_for_tunnel_wakes_on_a_later_tunnel_and_times_out_without_one() {
        let port = echo().await;
        let proxy = ConnectProxy::start().await.expect("proxy");
        assert_eq!(proxy.wait_for_tunnel(Duration::from_millis(50)).await, None);
        let target = format!("late.test:{port}");
        let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        let proxy_port = proxy.port();
        let client = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut stream = TcpStream::connect(("127.0.0.1", proxy_port))
                .await
                .expect("connect");
            stream.write_all(request.as_bytes()).await.expect("request");
            read_head(&mut stream).await.expect("an answer");
            stream
        });
        assert_eq!(
            proxy.wait_for_tunnel(Duration::from_secs(5)).await,
            Some(target)
        );
        drop(client.await.expect("client"));
    }

    #[tokio::test]
    async fn credentials_are_required_when_set() {
        let port = echo().await;
        let proxy = ConnectProxy::start_with_credentials("alice", "s3cret")
            .await
            .expect("proxy");
        assert_eq!(
            proxy.url(),
            format!("http://alice:s3cret@127.0.0.1:{}", proxy.port())
        );
        let target = format!("print-hub.test:{port}");
        let (_, refused) = ask(
            &proxy,
            &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        )
        .await;
        assert!(refused.starts_with("HTTP/1.1 407 "), "{refused}");
        let (_, wrong) = ask(
            &proxy,
            &format!(
                "CONNECT {target} HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6d3Jvbmc=\r\n\r\n"
            ),
        )
        .await;
        assert!(wrong.starts_with("HTTP/1.1 407 "), "{wrong}");
        assert!(proxy.tunnels().is_empty());
        // base64("alice:s3cret")
        let (_, accepted) = ask(
            &proxy,
            &format!(
                "CONNECT {target} HTTP/1.1\r\nproxy-authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n"
            ),
        )
        .await;
        assert!(accepted.starts_with("HTTP/1.1 200 "), "{accepted}");
        assert_eq!(proxy.tunnels(), vec![target]);
    }

    #[tokio::test]
    async fn other_methods_get_405_and_a_drop_stops_accepting() {
        let proxy = ConnectProxy::start().await.expect("proxy");
        let port = proxy.port();
        let (_, answer) = ask(
            &proxy,
            "DELETE /jobs HTTP/1.1\r\nHost: print-hub.test\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");
        assert!(proxy.tunnels().is_empty());
        proxy.stop().await;
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    }
}
