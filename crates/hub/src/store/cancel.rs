//! Cancelling at the hub: a job still waiting there ends `cancelled` at once; one its
//! client holds is marked, and the hub asks the agent (which reports `cancelled`).

use super::*;

/// The error a job cancelled at the hub carries (the agent's stable code).
fn cancelled_error(message: &str) -> Value {
    serde_json::json!({"code": "cancelled", "message": message})
}

/// Applies `order` in `tx`.
pub(super) fn apply_cancel(
    tx: &Db,
    order: &CancelOrder,
    now: u64,
) -> Result<CancelOutcome, StoreError> {
    let current = tx.query_opt(
        "SELECT state, client_id FROM jobs WHERE job_id = ?1",
        args![&order.job_id],
        |row| Ok((row.text(0)?, row.text(1)?)),
    )?;
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
        tx.execute(
            "UPDATE jobs SET state = 'cancelled', updated_at = ?2, error = ?3,
               cancel_requested_at = COALESCE(cancel_requested_at, ?2)
             WHERE job_id = ?1",
            args![&order.job_id, int(now), &error.to_string()],
        )?;
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
    tx.execute(
        "UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, ?2) WHERE job_id = ?1",
        args![&order.job_id, int(now)],
    )?;
    Ok(CancelOutcome::Requested { client_id, state })
}

impl Store {
    /// The jobs of `client_id` someone asked to cancel that its agent still holds
    /// (`delivered`, `received`, `spooled`), oldest first: the agent is asked for each.
    pub fn cancel_requests(&self, client_id: &str) -> Result<Vec<String>, StoreError> {
        self.db.query(
            "SELECT job_id FROM jobs WHERE client_id = ?1 AND cancel_requested_at IS NOT NULL
               AND state IN ('delivered', 'received', 'spooled')
             ORDER BY seq",
            args![client_id],
            |row| row.text(0),
        )
    }

    /// The client and payload of a job, to submit it again.
    pub fn job_payload(&self, job_id: &str) -> Result<Option<(String, Value)>, StoreError> {
        self.db.query_opt(
            "SELECT client_id, payload FROM jobs WHERE job_id = ?1",
            args![job_id],
            |row| Ok((row.text(0)?, jobs::json_or_null(&row.text(1)?))),
        )
    }
}
