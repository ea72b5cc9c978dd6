//! An agent's `job_status`: read through the protocol's `JobState` (an unknown state is
//! refused), stored, and applied when it moves the job forward.

use super::*;

/// The members of a `job_status` the hub acts on, typed by the protocol (a state it does
/// not know is refused); the rest (error, printer, spooler id) is kept as the agent sent it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StatusHead {
    job_id: String,
    state: JobState,
}

/// Records one `job_status` of an agent in `tx`: what it came to.
pub(super) fn apply_status(tx: &Db, status: &Value, now: u64) -> Result<Applied, StoreError> {
    let Ok(StatusHead { job_id, state }) = StatusHead::deserialize(status) else {
        return Ok(Applied::InvalidState);
    };
    let job_id = job_id.as_str();
    let current = tx.query_opt(
        "SELECT state, client_id FROM jobs WHERE job_id = ?1",
        args![job_id],
        |row| Ok((row.text(0)?, row.text(1)?)),
    )?;
    // Not stored: a peer could otherwise fill the disk with statuses of made-up jobs.
    let Some((current, client_id)) = current else {
        return Ok(Applied::UnknownJob);
    };
    tx.execute(
        "INSERT INTO job_events (job_id, at, status) VALUES (?1, ?2, ?3)",
        args![job_id, int(now), &status.to_string()],
    )?;
    // Statuses may be handled out of order (socketioxide runs each event on its own
    // task) and repeated (a re-sent outbox, `duplicate: true` answers to a re-delivery):
    // a job only moves forward, and a repeat that moves it forward is applied, since the
    // first copy may never have arrived.
    if rank_of(state) <= stored_rank(&current) {
        return Ok(Applied::Kept);
    }
    let error = status.get("error").filter(|e| !e.is_null()).cloned();
    let error_text = error.as_ref().map(Value::to_string);
    tx.execute(
        "UPDATE jobs SET state = ?2, updated_at = ?3, error = ?4 WHERE job_id = ?1",
        args![job_id, state.as_str(), int(now), error_text.as_deref()],
    )?;
    Ok(Applied::Moved(StateChange {
        job_id: job_id.to_owned(),
        client_id,
        state: state.as_str().to_owned(),
        error,
    }))
}

/// Order of a job's states at the hub: `queued`, `delivered`, then the agent's states in
/// their protocol order. A job never moves to a lower rank.
pub(super) fn rank_of(state: JobState) -> u8 {
    2 + state.rank()
}

/// The rank of a stored state; one the hub does not know (never written by this version)
/// ranks last, so nothing moves it.
pub(super) fn stored_rank(state: &str) -> u8 {
    match state {
        "queued" => 0,
        "delivered" => 1,
        other => JobState::parse(other).map_or(u8::MAX, rank_of),
    }
}
