//! The nodes' messages through Redis pub/sub (`--cluster redis://...`), instead of
//! PostgreSQL `NOTIFY`: for clusters whose message rate or node count PostgreSQL's one
//! notification queue would limit (docs/decisions/0008). Two tasks: the publisher sends
//! what the writing store posted to its [`Outbox`] after each commit (in commit order),
//! and the subscriber hands every payload on the channel to the node's dispatch, as the
//! PostgreSQL listener does ([`Heard`]).
//!
//! A publish follows its commit instead of being part of it, so a message can be lost: a
//! node that dies between the two, a Redis that is restarted, an outbox that overflowed.
//! Each loss makes nodes look for work for every client they hold, which is what a lost
//! wake-up would have started: the subscriber after it subscribes again
//! ([`Heard::Reconnected`]); every node when a publisher reports dropped payloads
//! ([`Message::Missed`]). A dead node's clients go offline through the heartbeats.

use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc::{Receiver, UnboundedSender};

use super::listen::Heard;
use super::{Message, Node};
use crate::store::Outbox;

/// Payloads the outbox holds while Redis is slow or away (each under 8 KB).
const OUTBOX_CAPACITY: usize = 4096;
/// Wait before connecting again after a lost connection.
const RETRY: Duration = Duration::from_secs(1);
/// While Redis stays away, one warning per this many failed attempts (a minute's worth).
const WARN_EVERY: u64 = 60;

/// A Redis server as `--cluster` names it: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`.
/// Only ever shown redacted: it may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

/// A `--cluster` value that is not a Redis URL this hub can use.
#[derive(Debug, thiserror::Error)]
#[error("not a Redis URL ({reason}); expected redis://[:PASSWORD@]HOST[:PORT]")]
pub struct InvalidRedisUrl {
    reason: String,
}

impl RedisUrl {
    /// Checks `text` now, so a typo stops the hub at start, not at first use.
    pub fn parse(text: &str) -> Result<Self, InvalidRedisUrl> {
        if !text.starts_with("redis://") {
            let reason = match text.starts_with("rediss://") {
                true => "TLS to Redis is not built in: reach it over a private network or a tunnel",
                false => "it does not start with redis://",
            };
            return Err(InvalidRedisUrl {
                reason: reason.into(),
            });
        }
        // The client's own message names what is wrong, never the password.
        redis::Client::open(text).map_err(|error| InvalidRedisUrl {
            reason: error.to_string(),
        })?;
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for RedisUrl {
    /// `redis://HOST:PORT` without user, password or database.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match redis::Client::open(self.0.as_str()) {
            Ok(client) => match &client.get_connection_info().addr() {
                redis::ConnectionAddr::Tcp(host, port) => write!(f, "redis://{host}:{port}"),
                other => write!(f, "redis://{other}"),
            },
            Err(_) => f.write_str("redis://?"),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// Subscribes to `channel` on `url` (before the hub serves: nothing said meanwhile is
/// missed) and starts the subscriber and the publisher; answers the outbox the writing
/// store is to post to.
pub async fn start(
    url: &RedisUrl,
    channel: String,
    node: Node,
    heard: UnboundedSender<Heard>,
) -> redis::RedisResult<Outbox> {
    let client = redis::Client::open(url.0.as_str())?;
    let subscribed = subscribe(&client, &channel).await?;
    let publishing = client.get_multiplexed_async_connection().await?;
    let (outbox, posted) = Outbox::new(OUTBOX_CAPACITY);
    tokio::spawn(hear(client.clone(), channel.clone(), subscribed, heard));
    tokio::spawn(publish(
        client,
        channel,
        publishing,
        posted,
        outbox.clone(),
        node,
    ));
    Ok(outbox)
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

/// Passes on every payload on `channel` until the dispatch stops; subscribes again after
/// a lost connection and says so.
async fn hear(
    client: redis::Client,
    channel: String,
    mut pubsub: redis::aio::PubSub,
    heard: UnboundedSender<Heard>,
) {
    loop {
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Ok(payload) = message.get_payload::<String>() else {
                tracing::warn!("ignored a cluster message that is not text");
                continue;
            };
            if heard.send(Heard::Payload(payload)).is_err() {
                return;
            }
        }
        drop(messages);
        tracing::warn!("the cluster's Redis subscription was lost");
        let mut failures = 0u64;
        pubsub = loop {
            if heard.is_closed() {
                return;
            }
            tokio::time::sleep(RETRY).await;
            match subscribe(&client, &channel).await {
                Ok(again) => break again,
                Err(error) => {
                    if failures.is_multiple_of(WARN_EVERY) {
                        tracing::warn!(%error, failures, "cannot listen for other hub nodes on Redis");
                    }
                    failures += 1;
                }
            }
        };
        tracing::info!("the cluster's Redis subscription is back");
        if heard.send(Heard::Reconnected).is_err() {
            return;
        }
    }
}

/// Publishes what the store posts, in order, until the hub stops. A payload whose publish
/// fails is tried once more on a new connection; after any loss the other nodes are told
/// they missed something.
async fn publish(
    client: redis::Client,
    channel: String,
    mut connection: redis::aio::MultiplexedConnection,
    mut posted: Receiver<String>,
    outbox: Outbox,
    node: Node,
) {
    let missed = node.notices(vec![Message::Missed]);
    while let Some(payload) = posted.recv().await {
        let mut lost = outbox.take_dropped();
        if send(&mut connection, &channel, &payload).await.is_err() {
            connection = reconnect(&client).await;
            if let Err(error) = send(&mut connection, &channel, &payload).await {
                tracing::warn!(%error, "a message to other hub nodes was lost");
                lost += 1;
            }
        }
        if lost > 0 {
            tracing::warn!(
                lost,
                "messages to other hub nodes were lost; they look for work again"
            );
            for payload in &missed {
                let _ = send(&mut connection, &channel, payload).await;
            }
        }
    }
}

async fn send(
    connection: &mut redis::aio::MultiplexedConnection,
    channel: &str,
    payload: &str,
) -> redis::RedisResult<()> {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async::<i64>(connection)
        .await
        .map(drop)
}

/// A new publishing connection, trying every [`RETRY`] until one is made.
async fn reconnect(client: &redis::Client) -> redis::aio::MultiplexedConnection {
    let mut failures = 0u64;
    loop {
        match client.get_multiplexed_async_connection().await {
            Ok(connection) => {
                tracing::info!("the cluster's Redis connection is back");
                return connection;
            }
            Err(error) => {
                if failures.is_multiple_of(WARN_EVERY) {
                    tracing::warn!(%error, failures, "cannot reach Redis to tell other hub nodes");
                }
                failures += 1;
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_shown_without_secrets() {
        let url = RedisUrl::parse("redis://:s3cret@10.0.0.5:6380/2").expect("a redis url");
        assert_eq!(url.to_string(), "redis://10.0.0.5:6380");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(RedisUrl::parse("rediss://host").is_err_and(|e| e.to_string().contains("TLS")));
        assert!(RedisUrl::parse("http://host").is_err());
    }
}
