//! Tests of `packet`.

use super::*;
use serde_json::json;

/// A frame of a session on the main namespace.
fn decode(frame: &str) -> Result<EnginePacket, PacketError> {
    decode_frame(frame, "/")
}

#[test]
fn decodes_the_open_handshake() {
    let packet = decode(
        r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
    );
    assert_eq!(
        packet,
        Ok(EnginePacket::Open(OpenInfo {
            sid: "abc".into(),
            ping_interval: 25000,
            ping_timeout: 20000,
            max_payload: Some(1_000_000),
        }))
    );
}

#[test]
fn decodes_heartbeat_and_close() {
    assert_eq!(decode("2"), Ok(EnginePacket::Ping));
    assert_eq!(decode("1"), Ok(EnginePacket::Close));
    assert_eq!(decode(""), Err(PacketError::Empty));
    assert_eq!(decode("9"), Err(PacketError::UnknownEngineType('9')));
}

#[test]
fn decodes_events_with_and_without_ack() {
    assert_eq!(
        decode(r#"42["print",{"printData":"hi"}]"#),
        Ok(EnginePacket::Message(SocketPacket::Event {
            name: "print".into(),
            data: vec![json!({"printData": "hi"})],
            ack_id: None,
        }))
    );
    assert_eq!(
        decode(r#"4217["cancel_job",{"jobId":"a"}]"#),
        Ok(EnginePacket::Message(SocketPacket::Event {
            name: "cancel_job".into(),
            data: vec![json!({"jobId": "a"})],
            ack_id: Some(17),
        }))
    );
}

/// What socket.io 4 sends for `emit("print", {printData: Buffer})`: the event with a
/// placeholder and its attachment count (the bytes follow as a binary frame).
#[test]
fn decodes_binary_events_with_their_placeholders() {
    assert_eq!(
        decode(r#"451-["print",{"jobId":"j","printData":{"_placeholder":true,"num":0}}]"#),
        Ok(EnginePacket::Message(SocketPacket::BinaryEvent {
            name: "print".into(),
            data: vec![json!({"jobId": "j", "printData": {"_placeholder": true, "num": 0}})],
            attachments: 1,
            ack_id: None,
        }))
    );
    // With an ack callback (`socket.timeout(5000).emit("print", {..Buffer}, cb)`).
    assert!(matches!(
        decode(r#"451-7["print",{"printData":{"_placeholder":true,"num":0}}]"#),
        Ok(EnginePacket::Message(SocketPacket::BinaryEvent {
            ack_id: Some(7),
            ..
        }))
    ));
    assert!(decode(r#"45["print",{}]"#).is_err(), "no attachment count");
    assert!(decode(r#"45x-["print",{}]"#).is_err());
    // A binary ack: the answer to our emit 0, its Buffer in one frame after it.
    assert_eq!(
        decode(r#"461-0[{"_placeholder":true,"num":0}]"#),
        Ok(EnginePacket::Message(SocketPacket::BinaryAck {
            ack_id: 0,
            data: vec![json!({"_placeholder": true, "num": 0})],
            attachments: 1,
        }))
    );
    assert!(decode(r#"461-[{}]"#).is_err(), "a binary ack without an id");
}

/// The answer to a server's event, as socket.io's ack callback reads it.
#[test]
fn encodes_an_ack_with_its_id_and_one_argument() {
    assert_eq!(
        encode_ack("/", 12, &json!({"jobId": "j", "state": "received"})),
        r#"4312[{"jobId":"j","state":"received"}]"#
    );
}

#[test]
fn decodes_connect_ack_disconnect_and_errors() {
    assert_eq!(
        decode(r#"40{"sid":"xyz"}"#),
        Ok(EnginePacket::Message(SocketPacket::Connect {
            sid: Some("xyz".into())
        }))
    );
    assert_eq!(
        decode(r#"433[{"at":1}]"#),
        Ok(EnginePacket::Message(SocketPacket::Ack {
            ack_id: 3,
            data: vec![json!({"at": 1})]
        }))
    );
    assert_eq!(
        decode("41"),
        Ok(EnginePacket::Message(SocketPacket::Disconnect))
    );
    assert_eq!(
        decode(r#"44{"message":"invalid token"}"#),
        Ok(EnginePacket::Message(SocketPacket::ConnectError {
            message: "invalid token".into()
        }))
    );
    assert_eq!(
        decode(r#"42/admin,["x"]"#),
        Ok(EnginePacket::Message(SocketPacket::OtherNamespace(
            "/admin".into()
        )))
    );
}

#[test]
fn rejects_garbage_without_panicking() {
    for frame in [
        "42",
        "42{",
        "42[]",
        "42[1]",
        "43[]",
        "0nope",
        "4x",
        "44",
        "42999999999999999999999[\"a\"]",
    ] {
        assert!(decode(frame).is_err(), "{frame} should not decode");
    }
}

#[test]
fn peeks_at_the_start_of_a_frame_too_long_to_read() {
    let peek = |head: &str| peek_event(head.as_bytes());
    assert_eq!(
        peek(r#"42["print",{"jobId":"inv-7","content":"AAAA"#),
        Some(("print".into(), Some("inv-7".into())))
    );
    assert_eq!(
        peek(r#"4212["print",{"contentType":"raw_base64", "jobId" : "x""#),
        Some(("print".into(), Some("x".into())))
    );
    assert_eq!(
        peek(r#"42["print",{"printData":"AAAA"#),
        Some(("print".into(), None))
    );
    assert_eq!(
        peek(r#"42["print",{"jobId":"a\"b""#).map(|p| p.1),
        Some(None)
    );
    assert_eq!(peek("0{}"), None);
    assert_eq!(peek("\u{ff}garbage"), None);
}

#[test]
fn encodes_what_socket_io_expects() {
    assert_eq!(
        encode_connect("/", &json!({"clientId": "pc1"})),
        r#"40{"clientId":"pc1"}"#
    );
    assert_eq!(
        encode_event("/", "register", &json!("pc1"), None),
        r#"42["register","pc1"]"#
    );
    assert_eq!(
        encode_event("/", "heartbeat", &json!({"at": 5}), Some(7)),
        r#"427["heartbeat",{"at":5}]"#
    );
}

#[test]
fn a_session_on_a_namespace_speaks_only_that_namespace() {
    let on_printers = |frame: &str| decode_frame(frame, "/printers");
    assert_eq!(
        on_printers(r#"40/printers,{"sid":"s1"}"#),
        Ok(EnginePacket::Message(SocketPacket::Connect {
            sid: Some("s1".into())
        }))
    );
    assert_eq!(
        on_printers(r#"42/printers,5["print",{"printData":"x"}]"#),
        Ok(EnginePacket::Message(SocketPacket::Event {
            name: "print".into(),
            data: vec![json!({"printData": "x"})],
            ack_id: Some(5),
        }))
    );
    assert_eq!(
        on_printers(r#"451-/printers,["print",{"printData":{"_placeholder":true,"num":0}}]"#),
        Ok(EnginePacket::Message(SocketPacket::BinaryEvent {
            name: "print".into(),
            data: vec![json!({"printData": {"_placeholder": true, "num": 0}})],
            attachments: 1,
            ack_id: None,
        }))
    );
    // The main namespace's packets are another namespace's to this session.
    assert_eq!(
        on_printers(r#"42["print",{}]"#),
        Ok(EnginePacket::Message(SocketPacket::OtherNamespace(
            "/".into()
        )))
    );
    assert_eq!(
        on_printers(r#"44/printers,{"message":"Invalid namespace"}"#),
        Ok(EnginePacket::Message(SocketPacket::ConnectError {
            message: "Invalid namespace".into()
        }))
    );
    assert_eq!(
        encode_connect("/printers", &json!({"clientId": "pc1"})),
        r#"40/printers,{"clientId":"pc1"}"#
    );
    assert_eq!(
        encode_event("/printers", "register", &json!("pc1"), Some(3)),
        r#"42/printers,3["register","pc1"]"#
    );
    assert_eq!(
        encode_ack("/printers", 4, &json!({"state": "received"})),
        r#"43/printers,4[{"state":"received"}]"#
    );
    assert_eq!(encode_disconnect("/printers"), "41/printers,");
    assert_eq!(encode_disconnect("/"), "41");
    assert_eq!(
        peek_event(br#"42/printers,12["print",{"jobId":"j9","printData":"AAA"#),
        Some(("print".into(), Some("j9".into())))
    );
}

#[test]
fn a_binary_event_announces_its_attachments_and_decodes_back() {
    let data = json!({"jobId": "j", "file": placeholder(0)});
    let frame = encode_binary_event("/printers", "upload", &data, 1);
    assert_eq!(
        frame,
        r#"451-/printers,["upload",{"file":{"_placeholder":true,"num":0},"jobId":"j"}]"#
    );
    assert_eq!(
        decode_frame(&frame, "/printers"),
        Ok(EnginePacket::Message(SocketPacket::BinaryEvent {
            name: "upload".into(),
            data: vec![data],
            attachments: 1,
            ack_id: None,
        }))
    );
}
