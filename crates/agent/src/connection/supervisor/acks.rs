//! The acks one session waits for (emits with a reply, the application heartbeat).

use super::*;

/// Outstanding acks of one session. Dropped with the session, so waiting callers
/// learn at once that their ack will never come.
#[derive(Default)]
pub(super) struct AckTable {
    next_id: u64,
    waiting: HashMap<u64, oneshot::Sender<Result<Vec<Value>, EmitError>>>,
    /// The one outstanding application heartbeat: (ack id, sent at).
    heartbeat: Option<(u64, u64)>,
}

impl AckTable {
    pub(super) fn next(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    pub(super) fn register(
        &mut self,
        reply: oneshot::Sender<Result<Vec<Value>, EmitError>>,
    ) -> u64 {
        // Callers that gave up waiting leave closed senders behind; drop them here.
        self.waiting.retain(|_, sender| !sender.is_closed());
        let id = self.next();
        self.waiting.insert(id, reply);
        id
    }

    pub(super) fn heartbeat(&mut self, sent_at: u64) -> u64 {
        let id = self.next();
        self.heartbeat = Some((id, sent_at));
        id
    }

    /// Delivers an ack; returns the send time when it answered the heartbeat.
    pub(super) fn resolve(&mut self, id: u64, data: Vec<Value>) -> Option<u64> {
        if let Some(reply) = self.waiting.remove(&id) {
            let _ = reply.send(Ok(data));
            return None;
        }
        match self.heartbeat {
            Some((hb_id, sent_at)) if hb_id == id => {
                self.heartbeat = None;
                Some(sent_at)
            }
            _ => None,
        }
    }
}
