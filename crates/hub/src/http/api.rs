//! The JSON API `/api/v1`: submit a job, list and read jobs and clients. Query strings
//! are checked against the documented ranges (400 otherwise), never clamped in silence.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, PathRejection, QueryRejection};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::submission;
use crate::hub::Hub;
use crate::store::{CancelOutcome, Client, Job, JobQuery};

/// Jobs per page unless `limit` says otherwise.
const DEFAULT_LIMIT: u64 = 50;
/// The largest page.
const MAX_LIMIT: u64 = 1000;

/// `POST /api/v1/jobs`: a body declared `application/json` (415 otherwise, also without
/// a Content-Type: a page on another origin can send a body with no type and no
/// preflight), within the body limit (413), of the v1 shape (400 / 422).
pub async fn submit_job(
    State(hub): State<Hub>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !is_json(request.headers()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = Bytes::from_request(request, &hub)
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                ApiError::TooLarge
            }
            other => ApiError::InvalidJson(other.body_text()),
        })?;
    let job = submission::parse(&body)?;
    // The body is not needed any more: only the parsed job is held while it is stored.
    drop(body);
    let submitted = hub
        .submit(&job.job_id, &job.client_id, &job.payload, job.expires_at)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"jobId": job.job_id, "state": submitted.state})),
    ))
}

/// `application/json`, `application/<anything>+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Query of `GET /api/v1/jobs`; numbers are read as text first, so that a wrong one
/// gets a message saying the range.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFilter {
    client_id: Option<String>,
    state: Option<String>,
    /// A piece of the job id or client id.
    q: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// The longest `q` (ids are at most 128 characters).
const MAX_QUERY_CHARS: usize = 128;

/// A time in ms since the Unix epoch, from a query string.
fn epoch_ms(name: &str, text: Option<&str>) -> Result<Option<u64>, ApiError> {
    text.map(|text| {
        super::integral(text).ok_or_else(|| {
            ApiError::InvalidQuery(format!(
                "{name} must be a time in ms since the Unix epoch, from 0 to {}",
                i64::MAX
            ))
        })
    })
    .transpose()
}

pub async fn list_jobs(
    State(hub): State<Hub>,
    query: Result<Query<JobFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(filter) = query?;
    let limit = match &filter.limit {
        None => DEFAULT_LIMIT,
        Some(text) => super::integral(text)
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::InvalidQuery(format!("limit must be an integer from 1 to {MAX_LIMIT}"))
            })?,
    };
    // OFFSET is a signed 64-bit integer in SQLite and PostgreSQL.
    let offset = match &filter.offset {
        None => 0,
        Some(text) => super::integral(text)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                ApiError::InvalidQuery(format!("offset must be an integer from 0 to {}", i64::MAX))
            })?,
    };
    if filter
        .q
        .as_ref()
        .is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(ApiError::InvalidQuery(format!(
            "q may be at most {MAX_QUERY_CHARS} characters"
        )));
    }
    let since = epoch_ms("since", filter.since.as_deref())?;
    let until = epoch_ms("until", filter.until.as_deref())?;
    let jobs: Vec<Job> = hub
        .read(move |store| {
            store.jobs(&JobQuery {
                client_id: filter.client_id.as_deref(),
                state: filter.state.as_deref(),
                text: filter.q.as_deref().filter(|q| !q.is_empty()),
                since,
                until,
                limit: limit as usize,
                offset,
            })
        })
        .await?;
    Ok(Json(json!({ "jobs": jobs })))
}

pub async fn get_job(
    State(hub): State<Hub>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Job>, ApiError> {
    let Path(job_id) = path?;
    let job = hub.job(&job_id).await?;
    job.map(Json).ok_or(ApiError::JobNotFound(job_id))
}

pub async fn list_clients(State(hub): State<Hub>) -> Result<Json<Value>, ApiError> {
    let clients = hub.clients().await?;
    Ok(Json(json!({ "clients": clients })))
}

pub async fn get_client(
    State(hub): State<Hub>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Client>, ApiError> {
    let Path(client_id) = path?;
    let client = hub.client(&client_id).await?;
    client.map(Json).ok_or(ApiError::ClientNotFound(client_id))
}

/// `POST /api/v1/jobs/{jobId}/cancel`: 200 `cancelled` when the job waited at the hub;
/// 202 with `cancelRequested` when its agent holds it (the agent is asked, now or when it
/// is back online; `job` events tell the outcome); 409 when it ended already.
pub async fn cancel_job(
    State(hub): State<Hub>,
    path: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Path(job_id) = path?;
    match hub.cancel(&job_id).await? {
        CancelOutcome::AtHub(change) => Ok((
            StatusCode::OK,
            Json(json!({"jobId": job_id, "state": change.state})),
        )),
        CancelOutcome::Requested { state, .. } => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"jobId": job_id, "state": state, "cancelRequested": true})),
        )),
        CancelOutcome::Finished(state) => Err(ApiError::JobFinished { job_id, state }),
        CancelOutcome::NotFound => Err(ApiError::JobNotFound(job_id)),
    }
}

/// `POST /api/v1/jobs/{jobId}/reprint`: a new job (new id) with the same client and
/// content.
pub async fn reprint_job(
    State(hub): State<Hub>,
    path: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Path(job_id) = path?;
    let (new_id, submitted) = hub
        .reprint(&job_id)
        .await?
        .ok_or(ApiError::JobNotFound(job_id))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"jobId": new_id, "state": submitted.state})),
    ))
}

/// Query of `GET /api/v1/stats`.
#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    since: Option<String>,
}

/// How far back `GET /api/v1/stats` counts finished jobs without `since`: a day.
const DEFAULT_STATS_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

/// `GET /api/v1/stats`: clients online and known; jobs completed and failed since
/// `since`, waiting now, and the oldest waiting.
pub async fn stats(
    State(hub): State<Hub>,
    query: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let since = epoch_ms("since", query.since.as_deref())?
        .unwrap_or_else(|| printrelay_protocol::now_ms().saturating_sub(DEFAULT_STATS_WINDOW_MS));
    let clients = hub.clients().await?;
    let online = clients.iter().filter(|c| c.connected).count();
    let jobs = hub.read(move |store| store.job_stats(since)).await?;
    Ok(Json(json!({
        "clients": {"online": online, "total": clients.len()},
        "jobs": {"completed": jobs.completed, "failed": jobs.failed, "waiting": jobs.waiting},
        "oldestWaiting": jobs.oldest_waiting,
    })))
}
