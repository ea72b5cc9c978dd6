//! Cancelling at the hub: a job still waiting there ends `cancelled` at once; one its
//! client holds is marked, and the hub asks the agent (which reports `cancelled`).

use super::*;

/// The error a job cancelled at the hub carries (the agent's stable code).
fn cancelled_error(message: &str) -> Value {
    serde_json::json!({"code": "cancelled", "message": message})
}

/// Applies `order` in `tx`.
pub(super) fn apply_cancel(
    tx: &rusqlite::Transaction<'_>,
    order: &CancelOrder,
    now: u64,
) -> Result<CancelOutcome, StoreError> {
    let current: Option<(String, String)> = tx
        .prepare_cached("SELECT state, client_id FROM jobs WHERE job_id = ?1")?
        .query_row(params![order.job_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((state, client_id)) = current else {
        return Ok(CancelOutcome::NotFound);
    };
    let at_hub = match (state.as_str(), order.agent_lacks_it) {
        ("queued", _) => Some("cancelled at the hub before it reached the PC"),
        // The agent answered that it never stored the job: nothing will print it.
        ("delivered", true) => Some("cancelled at the hub; the PC never stored it"),
        _ => None,
    };
    if let Some(message) = at_hub {
        let error = cancelled_error(message);
        tx.prepare_cached(
            "UPDATE jobs SET state = 'cancelled', updated_at = ?2, error = ?3,
               cancel_requested_at = COALESCE(cancel_requested_at, ?2)
             WHERE job_id = ?1",
        )?
        .execute(params![order.job_id, now as i64, error.to_string()])?;
        return Ok(CancelOutcome::AtHub(StateChange {
            job_id: order.job_id.clone(),
            client_id,
            state: "cancelled".into(),
            error: Some(error),
        }));
    }
    if order.agent_lacks_it || stored_rank(&state) > stored_rank("spooled") {
        return Ok(CancelOutcome::Finished(state));
    }
    tx.prepare_cached(
        "UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, ?2) WHERE job_id = ?1",
    )?
    .execute(params![order.job_id, now as i64])?;
    Ok(CancelOutcome::Requested { client_id, state })
}

impl Store {
    /// The jobs of `client_id` someone asked to cancel that its agent still holds
    /// (`delivered`, `received`, `spooled`), oldest first: the agent is asked for each.
    pub fn cancel_requests(&self, client_id: &str) -> Result<Vec<String>, StoreError> {
        let mut statement = self.db.prepare_cached(
            "SELECT job_id FROM jobs WHERE client_id = ?1 AND cancel_requested_at IS NOT NULL
               AND state IN ('delivered', 'received', 'spooled')
             ORDER BY seq",
        )?;
        let rows = statement.query_map(params![client_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The client and payload of a job, to submit it again.
    pub fn job_payload(&self, job_id: &str) -> Result<Option<(String, Value)>, StoreError> {
        let row: Option<(String, String)> = self
            .db
            .query_row(
                "SELECT client_id, payload FROM jobs WHERE job_id = ?1",
                params![job_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(client_id, payload)| {
            (
                client_id,
                serde_json::from_str(&payload).unwrap_or(Value::Null),
            )
        }))
    }
}
