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
        self.without_fsync(|db| {
            db.execute(
                "INSERT INTO clients (client_id, connected, last_seen, info) VALUES (?1, 0, ?3, ?2)
             ON CONFLICT(client_id) DO UPDATE SET info = ?2",
                params![client_id, serde_json::json!(info).to_string(), now as i64],
            )
        })?;
        Ok(())
    }

    /// One client.
    pub fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT client_id, connected, socket_id, last_seen, info FROM clients WHERE client_id = ?1",
                params![client_id],
                client_from_row,
            )
            .optional()?)
    }

    /// All clients, by id.
    pub fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT client_id, connected, socket_id, last_seen, info FROM clients ORDER BY client_id")?;
        let rows = statement.query_map([], client_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Records a client's registration or its socket closing in `tx`.
pub(super) fn apply_presence(
    tx: &rusqlite::Transaction<'_>,
    presence: &Presence,
) -> Result<(), StoreError> {
    if presence.online {
        tx.prepare_cached(
            "INSERT INTO clients (client_id, connected, socket_id, last_seen) VALUES (?1, 1, ?2, ?3)
             ON CONFLICT(client_id) DO UPDATE SET connected = 1, socket_id = ?2, last_seen = ?3",
        )?
        .execute(params![presence.client_id, presence.sid, presence.at as i64])?;
    } else {
        tx.prepare_cached(
            "UPDATE clients SET connected = 0, last_seen = ?3 WHERE client_id = ?1 AND socket_id = ?2",
        )?
        .execute(params![presence.client_id, presence.sid, presence.at as i64])?;
    }
    Ok(())
}

pub(super) fn client_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Client> {
    Ok(Client {
        client_id: row.get(0)?,
        connected: row.get::<_, i64>(1)? != 0,
        socket_id: row.get(2)?,
        last_seen: row.get::<_, i64>(3)? as u64,
        info: row
            .get::<_, Option<String>>(4)?
            .and_then(|i| serde_json::from_str(&i).ok()),
        last_heartbeat_at: None,
        rtt_ms: None,
    })
}
