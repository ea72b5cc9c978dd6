//! Clients: presence (online, offline) and the `client_info` an agent sends.

use super::*;

impl Store {
    /// Stores the agent's `client_info` (it may arrive before `register` is handled).
    pub fn client_info(
        &mut self,
        client_id: &str,
        info: &ClientInfo,
        now: u64,
    ) -> Result<(), StoreError> {
        let info = serde_json::json!(info).to_string();
        self.without_fsync(|tx| {
            tx.execute(
                "INSERT INTO clients (client_id, connected, last_seen, info) VALUES (?1, 0, ?3, ?2)
                 ON CONFLICT (client_id) DO UPDATE SET info = ?2",
                args![client_id, &info, int(now)],
            )
        })?;
        Ok(())
    }

    /// One client.
    pub fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        self.db.query_opt(
            &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = ?1"),
            args![client_id],
            client_from_row,
        )
    }

    /// All clients, by id.
    pub fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.db.query(
            &format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY client_id"),
            &[],
            client_from_row,
        )
    }
}

/// Records a client's registration or its socket closing in `tx`.
pub(super) fn apply_presence(tx: &Db, presence: &Presence) -> Result<(), StoreError> {
    if presence.online {
        tx.execute(
            "INSERT INTO clients (client_id, connected, socket_id, last_seen, node_id)
             VALUES (?1, 1, ?2, ?3, ?4)
             ON CONFLICT (client_id) DO UPDATE SET connected = 1, socket_id = ?2, last_seen = ?3,
               node_id = ?4",
            args![
                &presence.client_id,
                &presence.sid,
                int(presence.at),
                &presence.node_id
            ],
        )?;
    } else {
        tx.execute(
            "UPDATE clients SET connected = 0, last_seen = ?3, node_id = NULL
             WHERE client_id = ?1 AND socket_id = ?2",
            args![&presence.client_id, &presence.sid, int(presence.at)],
        )?;
    }
    Ok(())
}

/// The columns [`client_from_row`] reads, in its order.
const CLIENT_COLUMNS: &str = "client_id, connected, socket_id, last_seen, info, node_id";

pub(super) fn client_from_row(row: &Row<'_>) -> Result<Client, StoreError> {
    Ok(Client {
        client_id: row.text(0)?,
        connected: row.int(1)? != 0,
        socket_id: row.opt_text(2)?,
        last_seen: row.uint(3)?,
        info: row.opt_text(4)?.and_then(|i| serde_json::from_str(&i).ok()),
        last_heartbeat_at: None,
        rtt_ms: None,
        node_id: row.opt_text(5)?,
    })
}
