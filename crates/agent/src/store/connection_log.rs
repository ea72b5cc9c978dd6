//! The connection events the window's history shows.

use super::*;

/// A stored connection event: when, and the connection state it entered.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionEvent {
    pub at: EpochMillis,
    pub event: Value,
}

impl Store {
    /// Appends a connection event (a state change worth showing in the history).
    pub fn record_connection_event(
        &mut self,
        at: EpochMillis,
        event: &Value,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO connection_events (at, event) VALUES (?1, ?2)",
            params![at as i64, event.to_string()],
        )?;
        Ok(())
    }

    /// The newest `limit` connection events, newest first.
    pub fn recent_connection_events(
        &self,
        limit: usize,
    ) -> Result<Vec<ConnectionEvent>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT at, event FROM connection_events ORDER BY id DESC LIMIT ?1")?;
        let rows = statement.query_map(params![limit as i64], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (at, text) = row?;
            events.push(ConnectionEvent {
                at: at as u64,
                event: serde_json::from_str(&text).unwrap_or(Value::Null),
            });
        }
        Ok(events)
    }
}
