//! HTTP routes: the original `/getStatus` and `/startPrint`, and the JSON API `/api/v1`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::{require_api_token, Tokens};
use crate::hub::Hub;

/// The OpenAPI document of every route below, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../api/openapi.json");

/// The HTTP API; everything but `/healthz` and the OpenAPI document needs an API token
/// when tokens are configured. Bodies over `max_body_bytes` get 413.
pub fn router(hub: Hub, tokens: Tokens, max_body_bytes: usize) -> Router {
    let (open, protected) = routes();
    let protected = protected
        .router
        .layer(axum::middleware::from_fn_with_state(
            tokens,
            require_api_token,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes));
    open.router.merge(protected).with_state(hub)
}

/// Routes, recording each `(method, path)` so a test can hold them against the document.
struct Routes {
    router: Router<Hub>,
    served: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            served: Vec::new(),
        }
    }

    fn get<H: Handler<T, Hub>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.router = self.router.route(path, get(handler));
        self.served.push(("get", path));
        self
    }

    fn post<H: Handler<T, Hub>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.router = self.router.route(path, post(handler));
        self.served.push(("post", path));
        self
    }
}

/// CORS for browser pages served from `origins` (`*` for any); none: same-origin only,
/// no CORS headers. Applied outside the token check, so preflights need no token.
pub fn cors(origins: &[String]) -> Result<Option<CorsLayer>, InvalidOrigin> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| HeaderValue::from_str(o).map_err(|_| InvalidOrigin(o.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(std::time::Duration::from_secs(600)),
    ))
}

/// A `--cors-origin` that cannot be a header value.
#[derive(Debug, thiserror::Error)]
#[error("invalid CORS origin {0:?}")]
pub struct InvalidOrigin(String);

/// (routes without a token, routes behind the API token).
fn routes() -> (Routes, Routes) {
    let open = Routes::new()
        .get("/healthz", async || Json(json!({"ok": true})))
        .get("/api/v1/openapi.json", async || {
            ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
        });
    let protected = Routes::new()
        .get("/getStatus", get_status)
        .get("/startPrint", start_print)
        .post("/api/v1/jobs", submit_job)
        .get("/api/v1/jobs", list_jobs)
        .get("/api/v1/jobs/{jobId}", get_job)
        .get("/api/v1/clients", list_clients)
        .get("/api/v1/clients/{clientId}", get_client)
        .get("/api/v1/events", crate::events::stream_events);
    (open, protected)
}

/// A JSON error `{"error": {"code", "message"}}` with its status code.
struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({"error": {"code": self.1, "message": self.2}})),
        )
            .into_response()
    }
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        error.to_string(),
    )
}

async fn get_status(State(hub): State<Hub>) -> Result<Json<Value>, ApiError> {
    let clients = hub.clients().map_err(internal)?;
    let data: Vec<Value> = clients
        .iter()
        .map(|c| json!({"clientId": c.client_id, "connected": c.connected, "socketId": c.socket_id, "lastSeen": c.last_seen}))
        .collect();
    Ok(Json(json!({ "data": data })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartPrint {
    client_id: Option<String>,
    print_data: Option<String>,
}

/// The original endpoint, with its three outcomes; accepted jobs get a `jobId`.
async fn start_print(
    State(hub): State<Hub>,
    Query(query): Query<StartPrint>,
) -> Result<Json<Value>, ApiError> {
    let client_id = query.client_id.unwrap_or_default();
    let known = hub.store().client(&client_id).map_err(internal)?;
    if known.is_none() {
        return Ok(Json(
            json!({"message": format!("client {client_id} is not registered")}),
        ));
    }
    if !hub.is_online(&client_id) {
        return Ok(Json(
            json!({"message": format!("client {client_id} is offline")}),
        ));
    }
    let job_id = format!("sp-{}", uuid::Uuid::new_v4());
    // `printData` for original clients, `jobId` so PrintRelay agents report and dedupe.
    let payload = json!({"jobId": job_id, "printData": query.print_data.unwrap_or_default()});
    hub.submit(&job_id, &client_id, &payload, None)
        .await
        .map_err(internal)?;
    Ok(Json(json!({"message": "print job sent", "jobId": job_id})))
}

async fn submit_job(
    State(hub): State<Hub>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(json_error)?;
    let client_id = body["clientId"]
        .as_str()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_client_id",
                "clientId must be a non-empty string".into(),
            )
        })?;
    let job_id = body["jobId"]
        .as_str()
        .filter(|j| (1..=128).contains(&j.chars().count()))
        .ok_or_else(|| {
            ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_job_id",
                "jobId must be 1 to 128 characters".into(),
            )
        })?;
    let expires_at = match body.get("expiresAt").and_then(Value::as_str) {
        None => None,
        Some(text) => Some(time_ms(text).ok_or_else(|| {
            ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_timestamp",
                "expiresAt must be RFC 3339".into(),
            )
        })?),
    };
    let submitted = hub
        .submit(job_id, client_id, &Hub::agent_payload(&body), expires_at)
        .await
        .map_err(internal)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"jobId": job_id, "state": submitted.state})),
    ))
}

/// Maps a body rejection to a JSON error; an over-long body is 413 `too_large`.
fn json_error(rejection: JsonRejection) -> ApiError {
    use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
    match &rejection {
        JsonRejection::BytesRejection(BytesRejection::FailedToBufferBody(
            FailedToBufferBody::LengthLimitError(_),
        )) => ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            rejection.body_text(),
        ),
        _ => ApiError(rejection.status(), "invalid_json", rejection.body_text()),
    }
}

fn time_ms(text: &str) -> Option<u64> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobFilter {
    client_id: Option<String>,
    state: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn list_jobs(
    State(hub): State<Hub>,
    Query(filter): Query<JobFilter>,
) -> Result<Json<Value>, ApiError> {
    let jobs = hub
        .store()
        .jobs(
            filter.client_id.as_deref(),
            filter.state.as_deref(),
            filter.limit.unwrap_or(50),
            filter.offset.unwrap_or(0),
        )
        .map_err(internal)?;
    Ok(Json(json!({ "jobs": jobs })))
}

async fn get_job(
    State(hub): State<Hub>,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = hub.store().job(&job_id).map_err(internal)?;
    match job {
        Some(job) => Ok(Json(serde_json::to_value(job).map_err(internal)?)),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            "job_not_found",
            format!("no job {job_id}"),
        )),
    }
}

async fn list_clients(State(hub): State<Hub>) -> Result<Json<Value>, ApiError> {
    let clients = hub.clients().map_err(internal)?;
    Ok(Json(json!({ "clients": clients })))
}

async fn get_client(
    State(hub): State<Hub>,
    Path(client_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match hub.client(&client_id).map_err(internal)? {
        Some(client) => Ok(Json(serde_json::to_value(client).map_err(internal)?)),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            "client_not_found",
            format!("no client {client_id}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_exactly_the_served_routes() {
        let document: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        let mut documented: Vec<(String, String)> = document["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .map(move |method| (method.clone(), path.clone()))
            })
            .collect();
        let (open, protected) = routes();
        let mut served: Vec<(String, String)> = open
            .served
            .iter()
            .chain(&protected.served)
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
        // Operations without a token are the ones the document marks `security: []`.
        for (method, path) in &open.served {
            assert_eq!(
                document["paths"][path][method]["security"],
                json!([]),
                "{method} {path}"
            );
        }
        for (method, path) in &protected.served {
            assert!(
                document["paths"][path][method].get("security").is_none(),
                "{method} {path} needs the global bearer security"
            );
        }
    }
}
