//! A binary event being put together (Socket.IO BINARY_EVENT): its text packet first,
//! then its attachments as the websocket binary frames that follow. Runs on the
//! supervisor task, within one session.

use serde_json::Value;

use super::{ServerAck, ServerEvent};

/// The most attachments kept of one event (a `print` needs one); the frames of any
/// further ones are read and thrown away.
const MAX_ATTACHMENTS: usize = 16;

/// One attachment as it arrived.
#[derive(Debug)]
pub(super) enum Part {
    Bytes(Vec<u8>),
    /// Longer than the frame cap: thrown away unread, this many bytes.
    Dropped(u64),
}

/// A binary event waiting for its attachments.
#[derive(Debug)]
pub(super) struct Assembly {
    event: ServerEvent,
    expected: usize,
    seen: usize,
    /// All attachments together may take this many bytes (one document's frame cap).
    budget: u64,
    /// Bytes of all attachments when they went over the budget: the event is then too
    /// large and its attachments are not kept.
    too_large: Option<u64>,
}

impl Assembly {
    /// Starts an event `name(data)` whose `expected` attachments follow.
    pub(super) fn new(
        name: String,
        data: Value,
        expected: usize,
        ack: Option<ServerAck>,
        budget: u64,
    ) -> Self {
        Self {
            event: ServerEvent {
                name,
                data,
                attachments: Vec::new(),
                dropped_bytes: None,
                ack,
            },
            expected,
            seen: 0,
            budget,
            too_large: None,
        }
    }

    /// True when every announced attachment has arrived.
    pub(super) fn is_complete(&self) -> bool {
        self.seen >= self.expected
    }

    /// Takes the next attachment.
    pub(super) fn push(&mut self, part: Part) {
        self.seen += 1;
        let size = match &part {
            Part::Bytes(bytes) => bytes.len() as u64,
            Part::Dropped(bytes) => *bytes,
        };
        let kept: u64 = self.event.attachments.iter().map(|a| a.len() as u64).sum();
        match (part, self.too_large) {
            (_, Some(total)) => self.too_large = Some(total + size),
            (Part::Dropped(_), None) => self.too_large = Some(kept + size),
            (Part::Bytes(_), None) if kept + size > self.budget => {
                self.too_large = Some(kept + size);
            }
            (Part::Bytes(bytes), None) if self.event.attachments.len() < MAX_ATTACHMENTS => {
                self.event.attachments.push(bytes);
            }
            // Past the most kept: the placeholder names nothing, and the event is refused.
            (Part::Bytes(_), None) => {}
        }
        if self.too_large.is_some() {
            self.event.attachments = Vec::new();
        }
    }

    /// The finished event: with its attachments, or, when they were too large, as a
    /// dropped event with their size and the `jobId` of its text packet.
    pub(super) fn finish(mut self) -> ServerEvent {
        if let Some(bytes) = self.too_large {
            let job_id = self.event.data.get("jobId").cloned();
            self.event.data = serde_json::json!({ "jobId": job_id });
            self.event.dropped_bytes = Some(bytes);
        }
        self.event
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn assembly(expected: usize, budget: u64) -> Assembly {
        Assembly::new(
            "print".into(),
            json!({"jobId": "j", "printData": {"_placeholder": true, "num": 0}}),
            expected,
            None,
            budget,
        )
    }

    #[test]
    fn attachments_are_kept_in_order_until_the_last() {
        let mut event = assembly(2, 10);
        event.push(Part::Bytes(b"ab".to_vec()));
        assert!(!event.is_complete());
        event.push(Part::Bytes(b"cd".to_vec()));
        assert!(event.is_complete());
        let event = event.finish();
        assert_eq!(event.attachments, [b"ab".to_vec(), b"cd".to_vec()]);
        assert_eq!(event.dropped_bytes, None);
    }

    #[test]
    fn attachments_over_the_budget_or_dropped_make_a_dropped_event() {
        let mut over = assembly(2, 10);
        over.push(Part::Bytes(vec![0; 6]));
        over.push(Part::Bytes(vec![0; 6]));
        let over = over.finish();
        assert_eq!(over.dropped_bytes, Some(12));
        assert!(over.attachments.is_empty());
        assert_eq!(over.data, json!({"jobId": "j"}));

        let mut dropped = assembly(1, 10);
        dropped.push(Part::Dropped(5_000));
        assert_eq!(dropped.finish().dropped_bytes, Some(5_000));
    }
}
