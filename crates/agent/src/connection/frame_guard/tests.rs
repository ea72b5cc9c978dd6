//! Tests of `frame_guard`.

use super::*;
use tokio::io::AsyncReadExt;

const UPGRADE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        len @ 0..=125 => out.push(len as u8),
        len @ 126..=0xffff => {
            out.push(126);
            out.extend((len as u16).to_be_bytes());
        }
        len => {
            out.push(127);
            out.extend((len as u64).to_be_bytes());
        }
    }
    out.extend(payload);
    out
}

fn marker() -> Vec<u8> {
    frame(true, 1, MARKER.as_bytes())
}

/// Feeds `input` in pieces of `piece` bytes, as a network would, and reads all out.
async fn filtered(input: Vec<u8>, limit: u64, piece: usize) -> (Vec<u8>, Vec<Dropped>) {
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let log = DroppedLog::default();
    let mut guard = FrameGuard::new(reader, limit, Arc::clone(&log));
    let feeding = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        for part in input.chunks(piece) {
            writer.write_all(part).await.expect("write");
        }
    });
    let mut out = Vec::new();
    guard.read_to_end(&mut out).await.expect("read");
    feeding.await.expect("feeder");
    let dropped = log.lock().expect("log").drain(..).collect();
    (out, dropped)
}

#[tokio::test]
async fn small_frames_pass_untouched_and_a_big_one_becomes_a_marker() {
    let big = [
        b"42[\"print\",{\"jobId\":\"j1\",\"content\":\"".as_slice(),
        &[b'A'; 70_000],
    ]
    .concat();
    for piece in [1, 7, 4096, 1 << 20] {
        let mut input = UPGRADE.to_vec();
        input.extend(frame(true, 1, b"2"));
        input.extend(frame(true, 1, &big));
        input.extend(frame(true, 9, b"ping"));
        input.extend(frame(true, 1, &[b'x'; 300]));
        let (out, dropped) = filtered(input, 1000, piece).await;
        let mut expected = UPGRADE.to_vec();
        expected.extend(frame(true, 1, b"2"));
        expected.extend(marker());
        expected.extend(frame(true, 9, b"ping"));
        expected.extend(frame(true, 1, &[b'x'; 300]));
        assert_eq!(out, expected, "pieces of {piece}");
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].bytes, big.len() as u64);
        assert_eq!(dropped[0].head, big[..HEAD_BYTES]);
    }
}

#[tokio::test]
async fn a_dropped_message_takes_its_continuation_frames_along() {
    let mut input = UPGRADE.to_vec();
    input.extend(frame(false, 1, &[b'a'; 2000]));
    input.extend(frame(false, 0, b"bb"));
    input.extend(frame(true, 0, b"cc"));
    input.extend(frame(true, 1, b"3"));
    let (out, dropped) = filtered(input, 1000, 3).await;
    let mut expected = UPGRADE.to_vec();
    expected.extend(marker());
    expected.extend(frame(true, 1, b"3"));
    assert_eq!(out, expected);
    assert_eq!(dropped[0].bytes, 2004);
}

#[test]
fn reads_every_header_length_form() {
    assert_eq!(parse_header(&[0x81]), None);
    assert_eq!(
        parse_header(&[0x81, 5]),
        Some(Header {
            fin: true,
            opcode: 1,
            len: 5
        })
    );
    assert_eq!(parse_header(&[0x02, 126, 1]), None);
    assert_eq!(
        parse_header(&[0x02, 126, 1, 0]),
        Some(Header {
            fin: false,
            opcode: 2,
            len: 256
        })
    );
    assert_eq!(
        parse_header(&[0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0]),
        Some(Header {
            fin: true,
            opcode: 2,
            len: 1 << 32
        })
    );
    // A masked header waits for its 4 mask bytes.
    assert_eq!(parse_header(&[0x81, 0x85, 1, 2, 3]), None);
    assert!(parse_header(&[0x81, 0x85, 1, 2, 3, 4]).is_some());
}
