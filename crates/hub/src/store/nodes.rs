//! Hub processes ("nodes") sharing one PostgreSQL database: each records itself with a
//! heartbeat; the clients of a node whose heartbeat is too old go offline and the node is
//! removed. And the `NOTIFY`s nodes tell each other by, sent in the transaction of the
//! change they announce. Called by the cluster's upkeep task (`crate::cluster`), under the
//! writing store's lock, on the blocking pool.

use super::*;

/// The PostgreSQL channel the nodes `LISTEN` on.
pub const CHANNEL: &str = "printrelay";

/// A client that went offline because its node stopped (or left).
#[derive(Debug, Clone, PartialEq)]
pub struct Orphan {
    pub client_id: String,
    /// The socket it had, if known.
    pub sid: Option<String>,
}

impl Store {
    /// Records that `node_id`, talking on `channel`, is alive at `now`; true when its row
    /// was missing (it is new, or another node found it stale and removed it, with its
    /// clients).
    pub fn node_heartbeat(
        &mut self,
        node_id: &str,
        channel: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.without_fsync(|tx| {
            let beat = tx.execute(
                "UPDATE nodes SET heartbeat_at = ?2 WHERE node_id = ?1",
                args![node_id, int(now)],
            )?;
            if beat > 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO nodes (node_id, started_at, heartbeat_at, channel)
                 VALUES (?1, ?2, ?2, ?3)
                 ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = ?2",
                args![node_id, int(now), channel],
            )?;
            Ok(true)
        })
    }

    /// Takes offline every connected client not held by a node whose heartbeat is newer
    /// than `stale_before`, and removes the stale nodes, in one transaction with the
    /// `NOTIFY`s `notices` makes of them. Nodes may run this at once: a client goes
    /// offline once (its row is locked by the first, then no longer `connected`).
    pub fn reap_nodes(
        &mut self,
        stale_before: u64,
        now: u64,
        notices: impl FnOnce(&[Orphan]) -> Vec<String>,
    ) -> Result<Vec<Orphan>, StoreError> {
        self.announcing(Commit::Lazy, |tx| {
            let orphans = tx.query(
                "UPDATE clients SET connected = 0, node_id = NULL, last_seen = ?2
                 WHERE connected = 1 AND (node_id IS NULL OR node_id NOT IN
                   (SELECT node_id FROM nodes WHERE heartbeat_at > ?1))
                 RETURNING client_id, socket_id",
                args![int(stale_before), int(now)],
                orphan_from_row,
            )?;
            tx.execute(
                "DELETE FROM nodes WHERE heartbeat_at <= ?1",
                args![int(stale_before)],
            )?;
            let payloads = notices(&orphans);
            Ok((orphans, payloads))
        })
    }

    /// `node_id` stops (a clean shutdown): its clients go offline and its row goes, with
    /// the `NOTIFY`s `notices` makes of them.
    pub fn leave_cluster(
        &mut self,
        node_id: &str,
        now: u64,
        notices: impl FnOnce(&[Orphan]) -> Vec<String>,
    ) -> Result<Vec<Orphan>, StoreError> {
        self.announcing(Commit::Lazy, |tx| {
            let orphans = tx.query(
                "UPDATE clients SET connected = 0, node_id = NULL, last_seen = ?2
                 WHERE connected = 1 AND node_id = ?1 RETURNING client_id, socket_id",
                args![node_id, int(now)],
                orphan_from_row,
            )?;
            tx.execute("DELETE FROM nodes WHERE node_id = ?1", args![node_id])?;
            let payloads = notices(&orphans);
            Ok((orphans, payloads))
        })
    }

    /// The database's name: the nodes on it share the Redis channel named after it, so
    /// clusters on other databases may share the Redis server.
    pub fn database_name(&self) -> Result<String, StoreError> {
        let name = self
            .db
            .query_opt("SELECT current_database()", &[], |row| row.text(0))?;
        Ok(name.unwrap_or_default())
    }

    /// The live nodes (heartbeat newer than `fresh_after`) other than `node_id` that talk
    /// on another channel than `channel` (a node of an older hub talks through
    /// `postgres`), with theirs: they would not hear each other.
    pub fn other_channels(
        &self,
        node_id: &str,
        channel: &str,
        fresh_after: u64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.db.query(
            "SELECT node_id, COALESCE(channel, 'postgres') FROM nodes
             WHERE heartbeat_at > ?1 AND node_id <> ?2 AND COALESCE(channel, 'postgres') <> ?3",
            args![int(fresh_after), node_id, channel],
            |row| Ok((row.text(0)?, row.text(1)?)),
        )
    }

    /// The nodes whose heartbeat is newer than `fresh_after`.
    pub fn live_nodes(&self, fresh_after: u64) -> Result<Vec<String>, StoreError> {
        self.db.query(
            "SELECT node_id FROM nodes WHERE heartbeat_at > ?1",
            args![int(fresh_after)],
            |row| row.text(0),
        )
    }
}

fn orphan_from_row(row: &Row<'_>) -> Result<Orphan, StoreError> {
    Ok(Orphan {
        client_id: row.text(0)?,
        sid: row.opt_text(1)?,
    })
}

/// Sends each of `payloads` (each under PostgreSQL's 8000 bytes) on [`CHANNEL`] in `tx`,
/// in order, in one round trip. SQLite has no listeners: nothing to do.
pub(super) fn notify_in(tx: &Db, payloads: &[String]) -> Result<(), StoreError> {
    if payloads.is_empty() || matches!(tx, Db::Sqlite(_)) {
        return Ok(());
    }
    // JSON text escapes every control character, so no payload decodes to a NUL
    // (which PostgreSQL text cannot hold).
    let list = serde_json::to_string(payloads).unwrap_or_else(|_| "[]".into());
    tx.execute(
        &format!(
            "SELECT pg_notify('{CHANNEL}', payload)
             FROM json_array_elements_text(CAST(CAST(?1 AS TEXT) AS json)) AS payload"
        ),
        args![&list],
    )?;
    Ok(())
}
