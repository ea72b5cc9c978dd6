//! Several hub processes ("nodes") on one PostgreSQL database: who this node is, and the
//! messages nodes tell each other over PostgreSQL `NOTIFY` on channel
//! [`crate::store::CHANNEL`] (job and client changes for every node's event streams,
//! wake-ups for the node that holds a client, cancel asks, a client id taken over), or
//! over Redis pub/sub with `--cluster redis://...` ([`redis`]).
//!
//! Messages are sent in the transaction of the change they announce (the writer's batch,
//! a delivery claim, the nodes' upkeep), so a node hears only committed changes, in commit
//! order. They are packed into payloads under PostgreSQL's 8000-byte limit. The listening
//! side is [`listen`]; what a node does with a message is `crate::hub::cluster`.

pub mod listen;
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{Change, ClientChange, ClientInfoChange, JobChange};

/// A node whose heartbeat is older than this is taken as stopped: its clients go offline
/// (`--node-timeout`, whose default is this).
pub const NODE_TIMEOUT: Duration = Duration::from_secs(15);
/// How often a node records its heartbeat and looks for stopped nodes.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(3);
/// The longest payload sent: PostgreSQL refuses 8000 bytes and more.
const MAX_PAYLOAD: usize = 7900;

/// This hub process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Node {
    /// A new uuid at every start.
    pub id: Arc<str>,
    /// On PostgreSQL: other nodes may share the database, and hear this one.
    pub clustered: bool,
    /// See [`NODE_TIMEOUT`].
    pub timeout: Duration,
    /// How it talks to the others: [`POSTGRES_CHANNEL`], or the Redis server's URL without
    /// its password. Nodes of one database must agree (see `Store::other_channels`).
    pub channel: Arc<str>,
}

/// [`Node::channel`] of nodes that talk through PostgreSQL `NOTIFY`.
pub const POSTGRES_CHANNEL: &str = "postgres";

/// One thing a node tells the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// These clients have something new to deliver (a job queued, room freed): the node
    /// that holds one starts its delivery.
    Deliver {
        clients: Vec<String>,
    },
    /// A job changed state (for event streams).
    Job(JobChange),
    /// A client registered (the node that held it before closes its older socket) or
    /// went offline.
    Client(ClientChange),
    ClientInfo(ClientInfoChange),
    /// Someone asked to cancel jobs this client holds: its node asks the agent.
    Cancel {
        client_id: String,
    },
    /// The sender's messages were lost on the way (the Redis bus): every node looks for
    /// work for the clients it holds, as after a lost connection.
    Missed,
}

impl Message {
    /// The change to re-publish to this node's event streams, if the message is one.
    pub fn change(&self) -> Option<Change> {
        match self {
            Message::Job(job) => Some(Change::Job(job.clone())),
            Message::Client(client) => Some(Change::Client(client.clone())),
            Message::ClientInfo(info) => Some(Change::ClientInfo(info.clone())),
            Message::Deliver { .. } | Message::Cancel { .. } | Message::Missed => None,
        }
    }
}

/// A payload as sent: the sender and its messages in order.
#[derive(Debug, Deserialize)]
struct Envelope {
    from: String,
    /// Read one by one: a kind this node does not know is skipped.
    messages: Vec<Value>,
}

impl Node {
    /// A new node id; `clustered` on PostgreSQL.
    pub fn new(clustered: bool) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string().into(),
            clustered,
            timeout: NODE_TIMEOUT,
            channel: POSTGRES_CHANNEL.into(),
        }
    }

    /// The payloads that carry `messages` (none when not clustered).
    pub fn notices(&self, messages: Vec<Message>) -> Vec<String> {
        if !self.clustered || messages.is_empty() {
            return Vec::new();
        }
        pack(&self.id, messages)
    }

    /// The messages of a payload another node sent (none of this node's own, nor of one
    /// that does not read).
    pub fn unpack(&self, payload: &str) -> Vec<Message> {
        let envelope: Envelope = match serde_json::from_str(payload) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::warn!(%error, "ignored a cluster message that does not read");
                return Vec::new();
            }
        };
        if *envelope.from == *self.id {
            return Vec::new();
        }
        envelope
            .messages
            .into_iter()
            .filter_map(|m| serde_json::from_value(m).ok())
            .collect()
    }
}

/// Packs `messages` into as few payloads as fit under [`MAX_PAYLOAD`], in order. A job
/// change too large alone loses its `error` (read the job for it); anything still too
/// large is left out.
fn pack(from: &str, messages: Vec<Message>) -> Vec<String> {
    let head = format!(r#"{{"from":{},"messages":["#, Value::from(from));
    let tail = "]}";
    let room = MAX_PAYLOAD.saturating_sub(head.len() + tail.len());
    let mut payloads = Vec::new();
    let mut current = String::new();
    for message in messages {
        let Some(text) = encode(message, room) else {
            continue;
        };
        if !current.is_empty() && current.len() + 1 + text.len() > room {
            payloads.push(format!("{head}{current}{tail}"));
            current.clear();
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&text);
    }
    if !current.is_empty() {
        payloads.push(format!("{head}{current}{tail}"));
    }
    payloads
}

/// One message as JSON of at most `room` bytes.
fn encode(mut message: Message, room: usize) -> Option<String> {
    let text = serde_json::to_string(&message).ok()?;
    if text.len() <= room {
        return Some(text);
    }
    if let Message::Job(job) = &mut message {
        job.error = None;
    }
    let text = serde_json::to_string(&message).ok()?;
    if text.len() <= room {
        return Some(text);
    }
    tracing::warn!(bytes = text.len(), "a cluster message is too large to send");
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, error: Option<Value>) -> Message {
        Message::Job(JobChange {
            job_id: id.into(),
            client_id: "pc".into(),
            state: "failed".into(),
            at: 1,
            error,
        })
    }

    #[test]
    fn payloads_stay_under_the_limit_and_keep_the_order() {
        let node = Node::new(true);
        let messages: Vec<Message> = (0..500).map(|i| job(&format!("job-{i}"), None)).collect();
        let payloads = node.notices(messages);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() < MAX_PAYLOAD));
        let other = Node::new(true);
        let ids: Vec<String> = payloads
            .iter()
            .flat_map(|p| other.unpack(p))
            .map(|m| match m {
                Message::Job(job) => job.job_id,
                _ => String::new(),
            })
            .collect();
        let expected: Vec<String> = (0..500).map(|i| format!("job-{i}")).collect();
        assert_eq!(ids, expected);
        assert!(node.unpack(&payloads[0]).is_empty(), "its own are skipped");
    }

    #[test]
    fn a_huge_error_is_dropped_not_the_change() {
        let node = Node::new(true);
        let huge = Value::String("x".repeat(10_000));
        let payloads = node.notices(vec![job("j", Some(huge))]);
        assert_eq!(payloads.len(), 1);
        let got = Node::new(true).unpack(&payloads[0]);
        assert!(matches!(&got[..], [Message::Job(j)] if j.error.is_none() && j.job_id == "j"));
        assert!(Node::new(false).notices(vec![job("j", None)]).is_empty());
    }
}
