//! Presence answers (`/getStatus`, `/api/v1/clients`): clients registered on this node
//! from the registry (the live truth, with heartbeat figures); the others from the store,
//! connected while the node holding them has a fresh heartbeat (a cluster), else offline.
//! Runs on the caller's task; the store is read on the blocking pool.

use printrelay_protocol::now_ms;

use super::cluster::live_nodes;
use super::Hub;
use crate::store::{Client, StoreError};

impl Hub {
    /// Every client ever registered, by id; `connected` is the registry's (always the
    /// live truth), with its live heartbeat figures, or for a client another node holds,
    /// the store's while that node's heartbeat is fresh.
    pub async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let fresh_after = self.fresh_after();
        let (mut clients, nodes) = self
            .read(move |store| Ok((store.clients()?, live_nodes(store, fresh_after)?)))
            .await?;
        let mut live = self.registry.bindings();
        for client in &mut clients {
            match live.remove(&client.client_id) {
                Some(binding) => {
                    client.connected = true;
                    client.socket_id = Some(binding.sid);
                    client.last_heartbeat_at = binding.heartbeat.map(|b| b.at);
                    client.rtt_ms = binding.heartbeat.and_then(|b| b.rtt_ms);
                }
                None => client.connected = self.held_elsewhere(client, &nodes),
            }
        }
        // Registered a moment ago: the writer has not stored it yet.
        for (client_id, binding) in live {
            clients.push(Client::live(client_id, binding.sid, now_ms()));
        }
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(clients)
    }

    /// One client, as in [`Hub::clients`].
    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let id = client_id.to_owned();
        let fresh_after = self.fresh_after();
        let (stored, nodes) = self
            .read(move |store| Ok((store.client(&id)?, live_nodes(store, fresh_after)?)))
            .await?;
        let binding = self.registry.binding(client_id);
        Ok(match (stored, binding) {
            (Some(mut client), Some(binding)) => {
                client.connected = true;
                client.socket_id = Some(binding.sid);
                client.last_heartbeat_at = binding.heartbeat.map(|b| b.at);
                client.rtt_ms = binding.heartbeat.and_then(|b| b.rtt_ms);
                Some(client)
            }
            (Some(mut client), None) => {
                client.connected = self.held_elsewhere(&client, &nodes);
                Some(client)
            }
            (None, Some(binding)) => {
                Some(Client::live(client_id.to_owned(), binding.sid, now_ms()))
            }
            (None, None) => None,
        })
    }
}
