//! One live Socket.IO connection over a websocket: opening it and speaking its packets.
//!
//! Owned by the supervisor task; a `Session` value is dropped (closing the socket)
//! before the next one is opened, so at most one underlying client is ever alive.

use std::path::Path;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::{Host, Url};

use super::endpoint::Endpoint;
use crate::proxy::ProxyRule;

use super::frame_guard::{self, Dropped, DroppedLog, FrameGuard};
use super::packet::{self, EnginePacket, OpenInfo, SocketPacket};

/// Why a connect attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The server URL cannot be used (not http, https, ws or wss, or no host).
    #[error("invalid server URL: {0}")]
    InvalidUrl(String),
    /// Nothing answers at the address (refused, unreachable network).
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server's name does not resolve.
    #[error("cannot find the server: {0}")]
    NameNotFound(String),
    /// TLS failed: the certificate is not trusted (the text says why, e.g. "certificate
    /// not trusted: issued by Example Root CA").
    #[error("{0}")]
    Certificate(String),
    /// The HTTP proxy failed: unreachable, credentials refused, or the tunnel refused.
    #[error("proxy: {0}")]
    Proxy(String),
    /// The websocket upgrade was answered with an HTTP status (not a Socket.IO endpoint).
    #[error("the server answered HTTP {0} instead of opening a websocket")]
    HttpStatus(u16),
    /// The connection failed or broke otherwise.
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The server answered, but not as a Socket.IO v4 server would.
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// The server refused the connection (Socket.IO CONNECT_ERROR), e.g. a bad token.
    #[error("the server refused the connection: {0}")]
    Refused(String),
    /// The attempt did not finish within the configured bound.
    #[error("no answer within {0} ms")]
    Timeout(u64),
}

/// A decoded frame, or the reason the connection ended.
#[derive(Debug)]
pub(crate) enum Incoming {
    Packet(EnginePacket),
    /// The peer closed the websocket or the stream failed.
    Closed(String),
    /// A frame we could not decode; logged and skipped, the connection stays up.
    Garbage(String),
    /// A frame longer than the cap, read and thrown away; the connection stays up.
    Dropped(Dropped),
    /// A binary frame: an attachment of the binary event before it.
    Binary(Vec<u8>),
}

type Socket = WebSocketStream<FrameGuard<MaybeTlsStream<TcpStream>>>;

/// Room for the packet around a document: event name, job fields, JSON quoting.
const ENVELOPE_BYTES: u64 = 64 * 1024;

/// The longest frame taken from the server for documents of up to `max_job_bytes`: the
/// document in base64 (4 characters per 3 bytes) plus its envelope.
pub fn frame_cap(max_job_bytes: u64) -> u64 {
    max_job_bytes.div_ceil(3).saturating_mul(4) + ENVELOPE_BYTES
}

/// An open Engine.IO + Socket.IO connection to one namespace.
pub(crate) struct Session {
    socket: Socket,
    /// The Socket.IO namespace every packet is for.
    namespace: String,
    /// Negotiated heartbeat parameters.
    pub open: OpenInfo,
    /// Socket.IO session id given by the server on CONNECT.
    pub sid: String,
    /// Frames the guard dropped, met in order as their markers arrive.
    dropped: DroppedLog,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("sid", &self.sid).finish()
    }
}

/// How a connection leaves this PC: the CA file trusted besides the OS's, and the
/// proxy rule (resolved from the `proxy` setting before each attempt).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route<'a> {
    pub ca_file: Option<&'a Path>,
    pub proxy: &'a ProxyRule,
}

/// The TCP connection to the endpoint, directly or through the proxy's CONNECT tunnel,
/// with TLS for `wss` (certificates checked as the OS does, plus the route's CA file).
async fn connect_stream(
    endpoint: &Url,
    route: Route<'_>,
) -> Result<MaybeTlsStream<TcpStream>, ConnectError> {
    let io_error = |e: std::io::Error| super::problem::transport_error(e.into());
    let port = endpoint
        .port_or_known_default()
        .ok_or_else(|| ConnectError::InvalidUrl("no port".into()))?;
    let (host, name) = match endpoint.host() {
        Some(Host::Domain(domain)) => (
            domain.to_owned(),
            rustls::pki_types::ServerName::try_from(domain.to_owned())
                .map_err(|e| ConnectError::InvalidUrl(e.to_string()))?,
        ),
        Some(Host::Ipv4(ip)) => (ip.to_string(), ip.into()),
        Some(Host::Ipv6(ip)) => (ip.to_string(), ip.into()),
        None => return Err(ConnectError::InvalidUrl("no host".into())),
    };
    let tcp = match route.proxy.proxy_for(endpoint) {
        Some(proxy) => {
            tracing::debug!(%proxy, "connecting through the proxy");
            crate::proxy::connect_via(proxy, &host, port)
                .await
                .map_err(|e| ConnectError::Proxy(e.to_string()))?
        }
        None => TcpStream::connect((host.as_str(), port))
            .await
            .map_err(io_error)?,
    };
    // Heartbeat answers are small and must not wait for more bytes.
    let _ = tcp.set_nodelay(true);
    if endpoint.scheme() != "wss" {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let config = crate::tls::client_config(route.ca_file)
        .map_err(|e| ConnectError::Certificate(e.to_string()))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(tls_error)?;
    Ok(MaybeTlsStream::Rustls(tls))
}

/// A failed TLS handshake: a refused certificate in words, else sorted as any I/O error.
fn tls_error(error: std::io::Error) -> ConnectError {
    let refused = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match refused {
        Some(rustls::Error::InvalidCertificate(certificate)) => {
            ConnectError::Certificate(crate::tls::describe_refusal(certificate))
        }
        _ => super::problem::transport_error(error.into()),
    }
}

impl Session {
    /// Opens the websocket, reads the Engine.IO handshake and joins the endpoint's
    /// namespace with `auth`. Frames longer than `frame_cap` bytes are dropped as they
    /// arrive.
    ///
    /// Not bounded in time by itself: the supervisor wraps it in the connect timeout.
    pub async fn open(
        endpoint: &Endpoint,
        route: Route<'_>,
        auth: &Value,
        frame_cap: u64,
    ) -> Result<Self, ConnectError> {
        let stream = connect_stream(&endpoint.websocket, route).await?;
        let dropped = DroppedLog::default();
        let guarded = FrameGuard::new(stream, frame_cap, Arc::clone(&dropped));
        // The guard drops long frames; a message split into many frames stops here.
        let cap = usize::try_from(frame_cap.saturating_mul(2)).unwrap_or(usize::MAX);
        let config = WebSocketConfig::default()
            .max_message_size(Some(cap))
            .max_frame_size(Some(cap));
        let (socket, _response) = tokio_tungstenite::client_async_with_config(
            endpoint.websocket.as_str(),
            guarded,
            Some(config),
        )
        .await
        .map_err(super::problem::transport_error)?;
        let mut session = Session {
            socket,
            namespace: endpoint.namespace.clone(),
            open: OpenInfo {
                sid: String::new(),
                ping_interval: 0,
                ping_timeout: 0,
                max_payload: None,
            },
            sid: String::new(),
            dropped,
        };
        session.open = match session.next().await {
            Incoming::Packet(EnginePacket::Open(open)) => open,
            other => {
                return Err(ConnectError::Handshake(format!(
                    "expected OPEN, got {other:?}"
                )))
            }
        };
        session
            .send(packet::encode_connect(&endpoint.namespace, auth))
            .await
            .map_err(ConnectError::Transport)?;
        loop {
            match session.next().await {
                Incoming::Packet(EnginePacket::Message(SocketPacket::Connect { sid })) => {
                    session.sid = sid.unwrap_or_default();
                    return Ok(session);
                }
                Incoming::Packet(EnginePacket::Message(SocketPacket::ConnectError { message })) => {
                    return Err(ConnectError::Refused(message));
                }
                Incoming::Packet(EnginePacket::Ping) => {
                    session
                        .send(packet::PONG.into())
                        .await
                        .map_err(ConnectError::Transport)?;
                }
                Incoming::Packet(EnginePacket::Noop) => {}
                // Another namespace's talk on a shared connection is not ours to answer.
                Incoming::Packet(EnginePacket::Message(SocketPacket::OtherNamespace(_))) => {}
                other => {
                    return Err(ConnectError::Handshake(format!(
                        "expected CONNECT, got {other:?}"
                    )))
                }
            }
        }
    }

    /// Waits for the next frame. Cancel-safe: it can sit in a `select!`.
    pub async fn next(&mut self) -> Incoming {
        loop {
            let message = match self.socket.next().await {
                None => return Incoming::Closed("the server closed the connection".into()),
                Some(Err(e)) => return Incoming::Closed(e.to_string()),
                Some(Ok(message)) => message,
            };
            return match message {
                Message::Text(text) if text.as_str() == frame_guard::MARKER => {
                    let dropped = self.dropped.lock().ok().and_then(|mut log| log.pop_front());
                    match dropped {
                        Some(dropped) => Incoming::Dropped(dropped),
                        None => continue,
                    }
                }
                Message::Text(text) => match packet::decode_frame(text.as_str(), &self.namespace) {
                    Ok(packet) => Incoming::Packet(packet),
                    Err(e) => Incoming::Garbage(e.to_string()),
                },
                Message::Close(frame) => Incoming::Closed(
                    frame.map_or_else(|| "closed by the server".into(), |f| f.reason.to_string()),
                ),
                // The attachments of a binary event, announced by its text frame (each
                // frame is at most the cap: the guard drops longer ones).
                Message::Binary(bytes) => Incoming::Binary(bytes.to_vec()),
                // tungstenite answers websocket-level pings itself.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            };
        }
    }

    /// Sends one text frame.
    pub async fn send(&mut self, frame: String) -> Result<(), String> {
        self.socket
            .send(Message::text(frame))
            .await
            .map_err(|e| e.to_string())
    }

    /// Sends the event `name(data)`, asking for an ack when `ack_id` is set.
    pub async fn send_event(
        &mut self,
        name: &str,
        data: &Value,
        ack_id: Option<u64>,
    ) -> Result<(), String> {
        let frame = packet::encode_event(&self.namespace, name, data, ack_id);
        self.send(frame).await
    }

    /// Answers the server's event `ack_id` with `data`.
    pub async fn send_ack(&mut self, ack_id: u64, data: &Value) -> Result<(), String> {
        let frame = packet::encode_ack(&self.namespace, ack_id, data);
        self.send(frame).await
    }

    /// Leaves the namespace and closes the websocket, politely but without waiting long.
    pub async fn close(mut self) {
        let leave = packet::encode_disconnect(&self.namespace);
        let polite = async {
            let _ = self.socket.send(Message::text(leave)).await;
            let _ = self.socket.close(None).await;
        };
        let _ = tokio::time::timeout(std::time::Duration::from_millis(500), polite).await;
    }
}
