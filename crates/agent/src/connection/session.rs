//! One live Socket.IO connection, over a websocket or, where the network refuses
//! those, long-polling: opening it and speaking its packets.
//!
//! Owned by the supervisor task; a `Session` value is dropped (closing the socket)
//! before the next one is opened, so at most one underlying client is ever alive.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

pub(crate) use super::dial::Route;
use super::dial::{open_websocket, Socket};
use super::endpoint::Endpoint;
use super::frame_guard::{self, Dropped, DroppedLog};
use super::packet::{self, EnginePacket, OpenInfo, SocketPacket};
use super::polling::{Frame, Polling};
use super::problem::ConnectError;
use super::state::Transport;

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

/// Room for the packet around a document: event name, job fields, JSON quoting.
const ENVELOPE_BYTES: u64 = 64 * 1024;

/// The longest frame taken from the server for documents of up to `max_job_bytes`: the
/// document in base64 (4 characters per 3 bytes) plus its envelope.
pub fn frame_cap(max_job_bytes: u64) -> u64 {
    max_job_bytes.div_ceil(3).saturating_mul(4) + ENVELOPE_BYTES
}

/// The way packets travel.
enum Link {
    Websocket(Box<Socket>),
    Polling(Polling),
}

impl ConnectError {
    /// True when the websocket itself was refused (an HTTP answer to the upgrade, a
    /// proxy that cut it), so long-polling to the same server may still work.
    fn may_poll(&self) -> bool {
        matches!(
            self,
            ConnectError::HttpStatus(_) | ConnectError::Transport(_) | ConnectError::Handshake(_)
        )
    }
}

/// An open Engine.IO + Socket.IO connection to one namespace.
pub(crate) struct Session {
    link: Link,
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

impl Session {
    /// Opens the transport (a websocket; long-polling when the websocket is refused),
    /// reads the Engine.IO handshake and joins the endpoint's namespace with `auth`.
    /// Frames longer than `frame_cap` bytes are dropped as they arrive.
    ///
    /// Not bounded in time by itself: the supervisor wraps it in the connect timeout.
    pub async fn open(
        endpoint: &Endpoint,
        route: Route<'_>,
        auth: &Value,
        frame_cap: u64,
    ) -> Result<Self, ConnectError> {
        let dropped = DroppedLog::default();
        let link = match open_websocket(&endpoint.websocket, route, frame_cap, &dropped).await {
            Ok(socket) => Link::Websocket(Box::new(socket)),
            Err(refused) if refused.may_poll() => {
                // A payload holds a frame's packets and their attachments in base64.
                let cap = frame_cap.saturating_mul(2);
                match Polling::open(&endpoint.websocket, route, cap).await {
                    Ok(polling) => {
                        tracing::info!(websocket = %refused, "the websocket was refused; long-polling");
                        Link::Polling(polling)
                    }
                    Err(also) => {
                        tracing::debug!(polling = %also, "long-polling failed too");
                        return Err(refused);
                    }
                }
            }
            Err(error) => return Err(error),
        };
        let mut session = Session {
            link,
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

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        match self.link {
            Link::Websocket(_) => Transport::Websocket,
            Link::Polling(_) => Transport::Polling,
        }
    }

    /// Waits for the next frame. Cancel-safe: it can sit in a `select!`.
    pub async fn next(&mut self) -> Incoming {
        let socket = match &mut self.link {
            Link::Websocket(socket) => socket,
            Link::Polling(polling) => {
                return match polling.next().await {
                    Frame::Text(text) => decode(&text, &self.namespace),
                    Frame::Binary(bytes) => Incoming::Binary(bytes),
                    Frame::Closed(reason) => Incoming::Closed(reason),
                }
            }
        };
        loop {
            let message = match socket.next().await {
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
                Message::Text(text) => decode(text.as_str(), &self.namespace),
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
        match &mut self.link {
            Link::Websocket(socket) => socket
                .send(Message::text(frame))
                .await
                .map_err(|e| e.to_string()),
            Link::Polling(polling) => polling.send(frame),
        }
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

    /// Sends the binary event `name(data)`: its text packet, then each attachment (a
    /// binary frame on a websocket, `b` + base64 in a poll), in order.
    pub async fn send_binary_event(
        &mut self,
        name: &str,
        data: &Value,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        let frame = packet::encode_binary_event(&self.namespace, name, data, attachments.len());
        self.send(frame).await?;
        for bytes in attachments {
            match &mut self.link {
                Link::Websocket(socket) => socket
                    .send(Message::binary(bytes))
                    .await
                    .map_err(|e| e.to_string())?,
                Link::Polling(polling) => polling.send_binary(&bytes)?,
            }
        }
        Ok(())
    }

    /// Answers the server's event `ack_id` with `data`.
    pub async fn send_ack(&mut self, ack_id: u64, data: &Value) -> Result<(), String> {
        let frame = packet::encode_ack(&self.namespace, ack_id, data);
        self.send(frame).await
    }

    /// Leaves the namespace and closes the transport, politely but without waiting long.
    pub async fn close(self) {
        const POLITE: std::time::Duration = std::time::Duration::from_millis(500);
        let leave = packet::encode_disconnect(&self.namespace);
        match self.link {
            Link::Websocket(mut socket) => {
                let polite = async {
                    let _ = socket.send(Message::text(leave)).await;
                    let _ = Socket::close(&mut socket, None).await;
                };
                let _ = tokio::time::timeout(POLITE, polite).await;
            }
            Link::Polling(polling) => {
                // The Engine.IO CLOSE after the namespace's DISCONNECT.
                let _ = polling.send(leave);
                polling.flush_and_close("1".into(), POLITE).await;
            }
        }
    }
}

/// A text frame as the session's namespace reads it.
fn decode(text: &str, namespace: &str) -> Incoming {
    match packet::decode_frame(text, namespace) {
        Ok(packet) => Incoming::Packet(packet),
        Err(e) => Incoming::Garbage(e.to_string()),
    }
}
