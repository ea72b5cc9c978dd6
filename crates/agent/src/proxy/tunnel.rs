//! The CONNECT tunnel through an HTTP proxy: what the connection supervisor's websocket
//! (and the TLS inside it) runs over when a proxy is set.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Proxy;

/// Bound on the proxy's answer to CONNECT, status line and headers.
const MAX_HEAD: usize = 8 * 1024;

/// The end of an HTTP header block.
const END_OF_HEAD: &[u8] = b"\r\n\r\n";

/// Why no tunnel was opened.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// The proxy itself cannot be reached (its name does not resolve, or the TCP
    /// connection fails).
    #[error("the proxy cannot be reached: {0}")]
    ProxyUnreachable(std::io::Error),
    /// The proxy wants credentials (407) or refused the ones given.
    #[error("the proxy asks for a user name and password, or refused the ones given")]
    ProxyAuthentication,
    /// The proxy answered CONNECT with another status (e.g. 403 blocked, 502 target
    /// unreachable).
    #[error("the proxy refused the connection (HTTP {status})")]
    Refused {
        /// The status the proxy answered.
        status: u16,
    },
    /// The proxy's answer was not HTTP, or too long, or the connection broke.
    #[error("the proxy's answer to CONNECT is not usable: {0}")]
    Protocol(String),
    /// The target host cannot be written in a CONNECT request (spaces, control
    /// characters): a caller's mistake, refused before anything is sent.
    #[error("not a host a proxy can be asked for: {0:?}")]
    InvalidTarget(String),
}

/// Opens a TCP connection to `host:port` through `proxy` with HTTP CONNECT; `host` is a
/// name or an address (IPv6 with or without brackets).
///
/// Nothing past the proxy's header block is read: the tunnel's first bytes belong to
/// the caller's TLS or websocket client. There is no timeout here: the caller bounds
/// the whole connection attempt.
pub async fn connect_via(proxy: &Proxy, host: &str, port: u16) -> Result<TcpStream, TunnelError> {
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_graphic() && !"/@?#\\".contains(c));
    if !valid {
        return Err(TunnelError::InvalidTarget(host.to_owned()));
    }
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut stream = TcpStream::connect((proxy.host(), proxy.port()))
        .await
        .map_err(TunnelError::ProxyUnreachable)?;
    // Small websocket frames should leave at once; like a direct connection, a failure
    // to set this is no reason to give up.
    let _ = stream.set_nodelay(true);
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(authorization) = proxy.basic_authorization() {
        request.push_str("Proxy-Authorization: ");
        request.push_str(&authorization);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|error| TunnelError::Protocol(format!("sending CONNECT: {error}")))?;
    let head = read_head(&mut stream).await?;
    match status(&head)? {
        200..=299 => Ok(stream),
        407 => Err(TunnelError::ProxyAuthentication),
        status => Err(TunnelError::Refused { status }),
    }
}

/// Reads up to and including the blank line that ends the header block, never past it.
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, TunnelError> {
    let mut head = Vec::with_capacity(256);
    loop {
        // When the head ends in the first k bytes of "\r\n\r\n", the block can end no
        // sooner than 4 - k bytes on: reading that many cannot take a tunnel byte.
        let matched = (1..=3)
            .rev()
            .find(|&k| head.ends_with(&END_OF_HEAD[..k]))
            .unwrap_or(0);
        let mut chunk = [0u8; 4];
        let wanted = &mut chunk[..END_OF_HEAD.len() - matched];
        let n = stream
            .read(wanted)
            .await
            .map_err(|error| TunnelError::Protocol(format!("reading the answer: {error}")))?;
        if n == 0 {
            return Err(TunnelError::Protocol(
                "the proxy closed the connection before answering".to_owned(),
            ));
        }
        head.extend_from_slice(&chunk[..n]);
        if head.ends_with(END_OF_HEAD) {
            return Ok(head);
        }
        if head.len() >= MAX_HEAD {
            return Err(TunnelError::Protocol(format!(
                "no end of headers in the first {MAX_HEAD} bytes"
            )));
        }
    }
}

/// The status of `HTTP/1.x NNN reason`.
fn status(head: &[u8]) -> Result<u16, TunnelError> {
    let line = head
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or(&[]);
    let not_http = || {
        let shown: String = String::from_utf8_lossy(line).chars().take(80).collect();
        TunnelError::Protocol(format!("not an HTTP status line: {shown:?}"))
    };
    let text = std::str::from_utf8(line).map_err(|_| not_http())?;
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.")
        || code.len() != 3
        || !code.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(not_http());
    }
    code.parse().map_err(|_| not_http())
}
