//! Keeps an oversized websocket frame from the server out of memory, on the supervisor's
//! task: sits between the TLS (or TCP) stream and the websocket reader, reads each frame
//! header as the bytes go by, and replaces a frame longer than the cap by a short marker
//! frame while its payload is read and thrown away. Its first bytes are kept, so the job
//! it carried can be refused by id, and the connection stays up.
//!
//! Only single frames are guarded: socket.io servers send each packet as one frame. A
//! message split into many smaller frames is bounded by the websocket reader's own
//! message cap instead (which closes the connection).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The text of the frame that stands in for a dropped one. A server never sends it:
/// Engine.IO frames start with a digit.
pub const MARKER: &str = "\u{1}printrelay:oversized";

/// How many leading payload bytes of a dropped frame are kept (enough for a job id).
const HEAD_BYTES: usize = 4096;

/// A frame that was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Its payload length.
    pub bytes: u64,
    /// Its first payload bytes.
    pub head: Vec<u8>,
}

/// Dropped frames, in order, from the guard to the session that meets their markers.
pub type DroppedLog = Arc<Mutex<VecDeque<Dropped>>>;

#[derive(Debug)]
enum Phase {
    /// Passing the HTTP upgrade answer through; `matched` bytes of its closing blank line seen.
    Handshake { matched: usize },
    /// Collecting a frame header in `header`.
    Header,
    /// Passing `left` payload bytes through.
    Payload { left: u64 },
    /// Throwing `left` payload bytes away; `fin` when the frame ends its message.
    Discard {
        left: u64,
        dropped: Dropped,
        fin: bool,
    },
}

/// The read side filter (writes pass through untouched).
#[derive(Debug)]
pub struct FrameGuard<S> {
    inner: S,
    limit: u64,
    phase: Phase,
    header: Vec<u8>,
    /// Continuation frames of a dropped message are dropped too, up to its last frame.
    dropping_message: Option<Dropped>,
    /// Filtered bytes not yet handed to the reader.
    ready: VecDeque<u8>,
    scratch: Box<[u8]>,
    log: DroppedLog,
}

impl<S> FrameGuard<S> {
    /// Guards `inner`, dropping frames whose payload is longer than `limit` bytes.
    pub fn new(inner: S, limit: u64, log: DroppedLog) -> Self {
        Self {
            inner,
            limit,
            phase: Phase::Handshake { matched: 0 },
            header: Vec::with_capacity(14),
            dropping_message: None,
            ready: VecDeque::new(),
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
            log,
        }
    }

    /// Runs `chunk` from the server through the filter into `ready`.
    fn feed(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            match &mut self.phase {
                Phase::Handshake { matched } => {
                    let byte = chunk[0];
                    chunk = &chunk[1..];
                    self.ready.push_back(byte);
                    *matched = match (byte, *matched) {
                        (b'\r', 0 | 2) | (b'\n', 1 | 3) => *matched + 1,
                        (b'\r', _) => 1,
                        _ => 0,
                    };
                    if *matched == 4 {
                        self.phase = Phase::Header;
                    }
                }
                Phase::Header => {
                    self.header.push(chunk[0]);
                    chunk = &chunk[1..];
                    if let Some(header) = parse_header(&self.header) {
                        self.start_frame(header);
                    }
                }
                Phase::Payload { left } => {
                    let take = chunk
                        .len()
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    self.ready.extend(&chunk[..take]);
                    chunk = &chunk[take..];
                    *left -= take as u64;
                    if *left == 0 {
                        self.phase = Phase::Header;
                    }
                }
                Phase::Discard { left, dropped, fin } => {
                    let take = chunk
                        .len()
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    let keep = take.min(HEAD_BYTES.saturating_sub(dropped.head.len()));
                    dropped.head.extend_from_slice(&chunk[..keep]);
                    chunk = &chunk[take..];
                    *left -= take as u64;
                    if *left == 0 {
                        let (dropped, fin) = (std::mem::replace(dropped, empty()), *fin);
                        self.phase = Phase::Header;
                        self.end_dropped(dropped, fin);
                    }
                }
            }
        }
    }

    fn start_frame(&mut self, header: Header) {
        let data_frame = header.opcode < 8;
        let continuation = header.opcode == 0;
        if data_frame
            && (header.len > self.limit || (continuation && self.dropping_message.is_some()))
        {
            let dropped = match self.dropping_message.take() {
                Some(mut earlier) if continuation => {
                    earlier.bytes += header.len;
                    earlier
                }
                _ => Dropped {
                    bytes: header.len,
                    head: Vec::new(),
                },
            };
            self.header.clear();
            if header.len == 0 {
                self.end_dropped(dropped, header.fin);
            } else {
                self.phase = Phase::Discard {
                    left: header.len,
                    dropped,
                    fin: header.fin,
                };
            }
            return;
        }
        self.ready.extend(self.header.drain(..));
        self.phase = if header.len == 0 {
            Phase::Header
        } else {
            Phase::Payload { left: header.len }
        };
    }

    /// A dropped frame is fully read: the marker goes out when its message is complete.
    fn end_dropped(&mut self, dropped: Dropped, fin: bool) {
        if !fin {
            self.dropping_message = Some(dropped);
            return;
        }
        tracing::debug!(bytes = dropped.bytes, "dropped an oversized frame");
        if let Ok(mut log) = self.log.lock() {
            log.push_back(dropped);
        }
        // FIN + text, unmasked, length < 126.
        self.ready.extend([0x81, MARKER.len() as u8]);
        self.ready.extend(MARKER.as_bytes());
    }
}

fn empty() -> Dropped {
    Dropped {
        bytes: 0,
        head: Vec::new(),
    }
}

/// The parts of a websocket frame header the guard needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    fin: bool,
    opcode: u8,
    len: u64,
}

/// The header in `bytes`, once all of it is there (RFC 6455 section 5.2).
fn parse_header(bytes: &[u8]) -> Option<Header> {
    let (first, second) = (*bytes.first()?, *bytes.get(1)?);
    let (extended, short) = match second & 0x7f {
        126 => (2, None),
        127 => (8, None),
        len => (0, Some(u64::from(len))),
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    if bytes.len() < 2 + extended + mask {
        return None;
    }
    let len = short.unwrap_or_else(|| {
        bytes[2..2 + extended]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    });
    Some(Header {
        fin: first & 0x80 != 0,
        opcode: first & 0x0f,
        len,
    })
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameGuard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.ready.is_empty() {
                let (front, back) = this.ready.as_slices();
                let from_front = front.len().min(buf.remaining());
                buf.put_slice(&front[..from_front]);
                let from_back = back.len().min(buf.remaining());
                buf.put_slice(&back[..from_back]);
                this.ready.drain(..from_front + from_back);
                return Poll::Ready(Ok(()));
            }
            let mut scratch = std::mem::take(&mut this.scratch);
            let mut read = ReadBuf::new(&mut scratch);
            let polled = Pin::new(&mut this.inner).poll_read(cx, &mut read);
            let filled = read.filled().len();
            let outcome = match polled {
                Poll::Ready(Ok(())) if filled > 0 => {
                    this.feed(&scratch[..filled]);
                    None
                }
                other => Some(other),
            };
            this.scratch = scratch;
            if let Some(outcome) = outcome {
                // End of stream, an error, or nothing yet.
                ready!(outcome)?;
                return Poll::Ready(Ok(()));
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameGuard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
