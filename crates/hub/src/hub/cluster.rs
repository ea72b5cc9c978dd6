//! The hub's side of a cluster (PostgreSQL): at open, this node's row, its listening
//! connection, and two tasks: the heartbeat (which also takes offline the clients of
//! stopped nodes) and the dispatch of other nodes' messages (re-published events,
//! deliveries, cancel asks, a client id taken over). Presence of clients other nodes
//! hold; leaving at shutdown.

use std::sync::Arc;

use printrelay_protocol::{now_ms, Replaced};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::{lock, Hub, REPLACED_REASON};
use crate::cluster::listen::{self, Heard};
use crate::cluster::redis::{self as cluster_redis, RedisUrl};
use crate::cluster::{Message, HEARTBEAT_EVERY};
use crate::events::{Change, ClientChange};
use crate::store::{Client, Orphan, Presence, Store, StoreError, CHANNEL};
use crate::writer::Pending;

/// The nodes with a heartbeat newer than `fresh_after`; none asked: none.
pub(super) fn live_nodes(
    store: &Store,
    fresh_after: Option<u64>,
) -> Result<Vec<String>, StoreError> {
    match fresh_after {
        Some(after) => store.live_nodes(after),
        None => Ok(Vec::new()),
    }
}

/// A client taken offline because its node stopped, as announced.
fn offline(orphan: &Orphan, at: u64) -> ClientChange {
    ClientChange {
        client_id: orphan.client_id.clone(),
        connected: false,
        socket_id: orphan.sid.clone().unwrap_or_default(),
        at,
    }
}

impl Hub {
    /// Records this node, listens for the others (on PostgreSQL at `url`, or on `redis`),
    /// and starts the heartbeat and the dispatch: before the hub serves anything, so
    /// nothing said meanwhile is missed.
    pub(super) async fn join_cluster(
        &self,
        url: String,
        redis: Option<RedisUrl>,
    ) -> Result<(), StoreError> {
        let writer = Arc::clone(&self.writer);
        let id = Arc::clone(&self.node.id);
        let through_postgres = redis.is_none();
        let channel = Arc::clone(&self.node.channel);
        let fresh_after = self.fresh_after().unwrap_or(0);
        let (listening, database) = tokio::task::spawn_blocking(move || {
            let store = &mut lock(&writer);
            if let Some((node, theirs)) = store.other_channels(&id, &channel, fresh_after)?.pop() {
                return Err(StoreError::OtherChannel {
                    ours: channel.to_string(),
                    node,
                    theirs,
                });
            }
            store.node_heartbeat(&id, &channel, now_ms())?;
            let listening = match through_postgres {
                true => Some(listen::connect(&url).map(|client| (client, url))?),
                false => None,
            };
            Ok::<_, StoreError>((listening, store.database_name()?))
        })
        .await
        .unwrap_or(Err(StoreError::ReadStopped))?;
        let (heard, hearing) = unbounded_channel();
        if let Some((client, url)) = listening {
            listen::spawn(url, client, heard).map_err(StoreError::Listen)?;
        } else if let Some(redis) = redis {
            let channel = format!("{CHANNEL}:{database}");
            let outbox = cluster_redis::start(&redis, channel, self.node.clone(), heard).await?;
            lock(&self.writer).post_to(outbox);
            tracing::info!(%redis, "hub nodes talk through Redis");
        }
        tokio::spawn(self.clone().dispatch(hearing));
        tokio::spawn(self.clone().keep_alive());
        tracing::info!(node = %self.node.id, "hub node joined the cluster");
        Ok(())
    }

    /// The oldest heartbeat a live node may have; `None` when not clustered.
    pub(super) fn fresh_after(&self) -> Option<u64> {
        self.node.clustered.then(|| {
            now_ms().saturating_sub(self.node.timeout.as_millis().try_into().unwrap_or(u64::MAX))
        })
    }

    /// True when `client` (stored, not registered here) is held by another live node.
    pub(super) fn held_elsewhere(&self, client: &Client, live: &[String]) -> bool {
        client.connected
            && client
                .node_id
                .as_deref()
                .is_some_and(|node| node != &*self.node.id && live.iter().any(|l| l == node))
    }

    /// Acts on what the listener hears, in order, until it stops.
    async fn dispatch(self, mut hearing: UnboundedReceiver<Heard>) {
        while let Some(heard) = hearing.recv().await {
            match heard {
                Heard::Payload(payload) => {
                    for message in self.node.unpack(&payload) {
                        self.on_message(message);
                    }
                }
                Heard::Reconnected => self.look_for_work(),
            }
        }
    }

    /// Wake-ups may have been lost: looks for work for every client held here.
    fn look_for_work(&self) {
        for client_id in self.registry.bindings().into_keys() {
            self.deliver(&client_id);
        }
    }

    fn on_message(&self, message: Message) {
        // Never sent on: only the node where a change happened tells the others.
        if let Some(change) = message.change() {
            self.changes.relay(change);
        }
        match message {
            Message::Deliver { clients } => {
                for client_id in clients {
                    if self.registry.is_online(&client_id) {
                        self.delivery.start(&client_id);
                    }
                }
            }
            Message::Cancel { client_id } => self.ask_cancels(&client_id),
            Message::Missed => self.look_for_work(),
            Message::Client(change) if change.connected => self.taken_over(&change),
            Message::Client(_) | Message::Job(_) | Message::ClientInfo(_) => {}
        }
    }

    /// Another node registered a client id this one holds: the older socket here is
    /// told why and closed, as on one node (it goes without an offline: the id lives on).
    fn taken_over(&self, change: &ClientChange) {
        let older = self.registry.release_if(&change.client_id, |binding| {
            binding.sid != change.socket_id && binding.since <= change.at
        });
        let Some(older) = older else { return };
        tracing::warn!(client = %change.client_id, older = %older.sid, newer = %change.socket_id, "client id registered on another node: the older connection is closed");
        let _ = older.socket.emit(
            printrelay_protocol::events::REPLACED,
            &Replaced {
                client_id: change.client_id.clone(),
                reason: REPLACED_REASON.to_owned(),
                by: change.socket_id.clone(),
                at: change.at,
            },
        );
        let _ = older.socket.disconnect();
    }

    /// Every [`HEARTBEAT_EVERY`]: this node's heartbeat, then the clients of stopped
    /// nodes go offline.
    async fn keep_alive(self) {
        let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let hub = self.clone();
            let _ = tokio::task::spawn_blocking(move || hub.node_upkeep()).await;
        }
    }

    fn node_upkeep(&self) {
        let now = now_ms();
        let mut store = lock(&self.writer);
        match store.node_heartbeat(&self.node.id, &self.node.channel, now) {
            Ok(false) => {}
            Ok(true) => {
                // Another node took this one as stopped (a stall longer than the bound)
                // and its clients offline: they are here, say so again.
                tracing::warn!(node = %self.node.id, "this node was taken as stopped; its clients are announced again");
                for (client_id, binding) in self.registry.bindings() {
                    self.enqueue(Pending::Presence(Presence {
                        client_id: client_id.clone(),
                        sid: binding.sid.clone(),
                        node_id: self.node.id.to_string(),
                        online: true,
                        at: now,
                    }));
                    self.changes.publish(Change::Client(ClientChange {
                        client_id,
                        connected: true,
                        socket_id: binding.sid,
                        at: now,
                    }));
                }
            }
            Err(error) => tracing::error!(%error, "cannot record this node's heartbeat"),
        }
        let stale_before = self.fresh_after().unwrap_or(0);
        let reaped = store.reap_nodes(stale_before, now, |orphans| {
            self.node.notices(
                orphans
                    .iter()
                    .map(|o| Message::Client(offline(o, now)))
                    .collect(),
            )
        });
        match reaped {
            Ok(orphans) => {
                for orphan in &orphans {
                    self.changes.publish(Change::Client(offline(orphan, now)));
                }
            }
            Err(error) => tracing::error!(%error, "cannot take stopped nodes' clients offline"),
        }
    }

    /// A clean shutdown: this node's clients go offline and its row goes (on PostgreSQL;
    /// nothing to do on SQLite).
    pub async fn leave(&self) -> Result<(), StoreError> {
        if !self.node.clustered {
            return Ok(());
        }
        let hub = self.clone();
        tokio::task::spawn_blocking(move || {
            let now = now_ms();
            let orphans = lock(&hub.writer).leave_cluster(&hub.node.id, now, |orphans| {
                hub.node.notices(
                    orphans
                        .iter()
                        .map(|o| Message::Client(offline(o, now)))
                        .collect(),
                )
            })?;
            for orphan in &orphans {
                hub.changes.publish(Change::Client(offline(orphan, now)));
            }
            Ok(())
        })
        .await
        .unwrap_or(Err(StoreError::ReadStopped))
    }
}
