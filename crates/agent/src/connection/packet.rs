//! Engine.IO v4 and Socket.IO v5 packet codec (text frames; binary attachments travel
//! beside them).
//!
//! Pure functions, no I/O: the session feeds every text frame through [`decode_frame`]
//! and writes what [`encode_event`] and friends return, all for one namespace.

use serde_json::Value;

/// A decoded Engine.IO packet as it arrives in one websocket text frame.
#[derive(Debug, Clone, PartialEq)]
pub enum EnginePacket {
    /// `0{...}`: the handshake sent by the server when the transport opens.
    Open(OpenInfo),
    /// `1`: the server closes the transport.
    Close,
    /// `2`: the server's heartbeat; must be answered with a pong.
    Ping,
    /// `3`: a pong (we never send pings, so this is unexpected but harmless).
    Pong,
    /// `4...`: a Socket.IO packet.
    Message(SocketPacket),
    /// `6`: no-op.
    Noop,
}

/// The Engine.IO handshake: the negotiated heartbeat parameters.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenInfo {
    /// Engine.IO session id.
    pub sid: String,
    /// Milliseconds between two PINGs from the server.
    pub ping_interval: u64,
    /// Milliseconds the server waits for our PONG.
    pub ping_timeout: u64,
    /// Largest payload the server accepts, in bytes.
    #[serde(default)]
    pub max_payload: Option<u64>,
}

/// A Socket.IO packet of the session's namespace.
#[derive(Debug, Clone, PartialEq)]
pub enum SocketPacket {
    /// `0{...}`: namespace connected; carries the Socket.IO session id.
    Connect { sid: Option<String> },
    /// `1`: the server disconnected this socket (a kick).
    Disconnect,
    /// `2[...]`: an event, optionally asking for an ack.
    Event {
        name: String,
        data: Vec<Value>,
        ack_id: Option<u64>,
    },
    /// `3id[...]`: the answer to one of our acked emits.
    Ack { ack_id: u64, data: Vec<Value> },
    /// `4{...}`: the server refused the namespace connection (e.g. bad token).
    ConnectError { message: String },
    /// `5n-[...]`: an event whose arguments hold `attachments` binary frames (a server
    /// that emits a Buffer); the frames follow as websocket binary messages. Not part of
    /// protocol 1 yet: a `print` of this kind is rejected `unsupported_binary`.
    BinaryEvent {
        name: String,
        data: Vec<Value>,
        attachments: usize,
        ack_id: Option<u64>,
    },
    /// `6n-id[...]`: the answer to one of our acked emits, with `attachments` binary
    /// frames after it (a server whose ack callback got a Buffer). The agent reads no
    /// bytes from its answers: the ack is resolved, the frames are read and let go.
    BinaryAck {
        ack_id: u64,
        data: Vec<Value>,
        attachments: usize,
    },
    /// A packet for another namespace than the session's.
    OtherNamespace(String),
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("empty frame")]
    Empty,
    #[error("unknown Engine.IO packet type {0:?}")]
    UnknownEngineType(char),
    #[error("unknown Socket.IO packet type {0:?}")]
    UnknownSocketType(char),
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
}

fn malformed(what: &'static str, detail: impl ToString) -> PacketError {
    PacketError::Malformed {
        what,
        detail: detail.to_string(),
    }
}

/// Decodes one text frame into an Engine.IO packet; Socket.IO packets of another
/// namespace than `namespace` come back as [`SocketPacket::OtherNamespace`].
pub fn decode_frame(frame: &str, namespace: &str) -> Result<EnginePacket, PacketError> {
    let mut chars = frame.chars();
    let kind = chars.next().ok_or(PacketError::Empty)?;
    let rest = chars.as_str();
    match kind {
        '0' => serde_json::from_str(rest)
            .map(EnginePacket::Open)
            .map_err(|e| malformed("open packet", e)),
        '1' => Ok(EnginePacket::Close),
        '2' => Ok(EnginePacket::Ping),
        '3' => Ok(EnginePacket::Pong),
        '4' => decode_socket_packet(rest, namespace).map(EnginePacket::Message),
        '6' => Ok(EnginePacket::Noop),
        other => Err(PacketError::UnknownEngineType(other)),
    }
}

fn decode_socket_packet(text: &str, namespace: &str) -> Result<SocketPacket, PacketError> {
    let mut chars = text.chars();
    let kind = chars.next().ok_or(PacketError::Empty)?;
    let mut rest = chars.as_str();
    let mut attachments = 0;
    if kind == '5' || kind == '6' {
        let (count, after) = rest
            .split_once('-')
            .ok_or_else(|| malformed("binary packet", "no attachment count"))?;
        attachments = count
            .parse()
            .map_err(|e| malformed("attachment count", e))?;
        rest = after;
    }
    // The main namespace goes without a prefix; any other as `/name,`.
    let mut packet_namespace = "/";
    if rest.starts_with('/') {
        let (nsp, after) = rest.split_once(',').unwrap_or((rest, ""));
        packet_namespace = nsp;
        rest = after;
    }
    if packet_namespace != namespace {
        return Ok(SocketPacket::OtherNamespace(packet_namespace.to_owned()));
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (id_text, payload) = rest.split_at(digits);
    let ack_id = if id_text.is_empty() {
        None
    } else {
        Some(id_text.parse::<u64>().map_err(|e| malformed("ack id", e))?)
    };
    match kind {
        '0' => {
            let sid = if payload.is_empty() {
                None
            } else {
                let value: Value =
                    serde_json::from_str(payload).map_err(|e| malformed("connect packet", e))?;
                value.get("sid").and_then(Value::as_str).map(str::to_owned)
            };
            Ok(SocketPacket::Connect { sid })
        }
        '1' => Ok(SocketPacket::Disconnect),
        '2' | '5' => {
            let mut items = parse_array(payload, "event packet")?;
            if items.is_empty() {
                return Err(malformed("event packet", "no event name"));
            }
            let name = match items.remove(0) {
                Value::String(name) => name,
                other => return Err(malformed("event packet", format!("event name {other}"))),
            };
            Ok(if kind == '5' {
                SocketPacket::BinaryEvent {
                    name,
                    data: items,
                    attachments,
                    ack_id,
                }
            } else {
                SocketPacket::Event {
                    name,
                    data: items,
                    ack_id,
                }
            })
        }
        '3' | '6' => {
            let ack_id = ack_id.ok_or_else(|| malformed("ack packet", "no ack id"))?;
            let data = parse_array(payload, "ack packet")?;
            Ok(if kind == '6' {
                SocketPacket::BinaryAck {
                    ack_id,
                    data,
                    attachments,
                }
            } else {
                SocketPacket::Ack { ack_id, data }
            })
        }
        '4' => {
            let value: Value =
                serde_json::from_str(payload).map_err(|e| malformed("connect error", e))?;
            let message = match &value {
                Value::String(s) => s.clone(),
                other => other
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| other.to_string()),
            };
            Ok(SocketPacket::ConnectError { message })
        }
        other => Err(PacketError::UnknownSocketType(other)),
    }
}

fn parse_array(payload: &str, what: &'static str) -> Result<Vec<Value>, PacketError> {
    match serde_json::from_str(payload).map_err(|e| malformed(what, e))? {
        Value::Array(items) => Ok(items),
        other => Err(malformed(what, format!("expected an array, got {other}"))),
    }
}

/// The event name and `jobId` read from the start of a frame too long to read whole
/// (`42["print",{"jobId":"a",...`); `None` when the start is not an event.
pub fn peek_event(head: &[u8]) -> Option<(String, Option<String>)> {
    let text = String::from_utf8_lossy(head);
    let rest = text
        .strip_prefix("42")
        .or_else(|| text.strip_prefix("45"))?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
    // A namespace prefix (`/printers,`), then maybe an ack id.
    let rest = match rest.strip_prefix('/') {
        Some(named) => named.split_once(',')?.1,
        None => rest,
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let (name, rest) = rest.strip_prefix("[\"")?.split_once('"')?;
    let job_id = rest.find("\"jobId\"").and_then(|at| {
        let value = rest[at + 7..].trim_start().strip_prefix(':')?;
        let (id, _) = value.trim_start().strip_prefix('"')?.split_once('"')?;
        (!id.contains('\\')).then(|| id.to_owned())
    });
    Some((name.to_owned(), job_id))
}

/// The Engine.IO PONG answering a server PING.
pub const PONG: &str = "3";

/// What goes between a packet's type and its body: nothing for the main namespace,
/// `/name,` for another.
fn prefix(namespace: &str) -> String {
    if namespace == "/" {
        String::new()
    } else {
        format!("{namespace},")
    }
}

/// The Socket.IO CONNECT to `namespace`, with the handshake `auth` object.
pub fn encode_connect(namespace: &str, auth: &Value) -> String {
    format!("40{}{auth}", prefix(namespace))
}

/// The Socket.IO DISCONNECT leaving `namespace`.
pub fn encode_disconnect(namespace: &str) -> String {
    format!("41{}", prefix(namespace))
}

/// A Socket.IO ACK: the answer `data` to the server's event `ack_id`.
pub fn encode_ack(namespace: &str, ack_id: u64, data: &Value) -> String {
    format!(
        "43{}{ack_id}{}",
        prefix(namespace),
        Value::Array(vec![data.clone()])
    )
}

/// A Socket.IO BINARY_EVENT `name(data)` whose `data` holds placeholders
/// ([`placeholder`]) for the `attachments` binary frames sent after it.
pub fn encode_binary_event(
    namespace: &str,
    name: &str,
    data: &Value,
    attachments: usize,
) -> String {
    let body = Value::Array(vec![Value::String(name.to_owned()), data.clone()]);
    format!("45{attachments}-{}{body}", prefix(namespace))
}

/// What stands in `data` for attachment `num` of a binary event.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({"_placeholder": true, "num": num})
}

/// A Socket.IO EVENT `name(data)`, asking for an ack when `ack_id` is set.
pub fn encode_event(namespace: &str, name: &str, data: &Value, ack_id: Option<u64>) -> String {
    let body = Value::Array(vec![Value::String(name.to_owned()), data.clone()]);
    let id = ack_id.map(|id| id.to_string()).unwrap_or_default();
    format!("42{}{id}{body}", prefix(namespace))
}

#[cfg(test)]
mod tests;
