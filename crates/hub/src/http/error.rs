//! Every HTTP error the hub answers: one enum, one JSON shape
//! `{"error": {"code", "message", "field"?}}`, one status per variant. A 500 is logged
//! with its detail and answered with a generic message (no SQLite text reaches callers);
//! a full database is a 507 that says so.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::StoreError;

/// Longer messages are cut.
const MAX_MESSAGE_CHARS: usize = 300;

/// The generic words of every 500; the detail goes to the log.
const INTERNAL_MESSAGE: &str = "the hub failed to answer; its log has the details";

/// An error answer of the HTTP API. Codes are stable (clients match on them); messages
/// are for people.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_query`: a query string the route cannot read (`?limit=abc`).
    #[error("{0}")]
    InvalidQuery(String),
    /// 400 `invalid_path`: a path parameter that is not text (bad percent-encoding).
    #[error("{0}")]
    InvalidPath(String),
    /// 400 `invalid_json`: a body that is not JSON.
    #[error("{0}")]
    InvalidJson(String),
    /// 401 `unauthorized`: API tokens are configured and none valid came.
    #[error("a valid API token is required")]
    Unauthorized,
    /// 404 `not_found`: no route has this path.
    #[error("no such path")]
    NotFound,
    /// 404 `job_not_found`.
    #[error("no job {0}")]
    JobNotFound(String),
    /// 404 `client_not_found`.
    #[error("no client {0}")]
    ClientNotFound(String),
    /// 409 `job_finished`: the job ended already (in this state); nothing to cancel.
    #[error("job {job_id} is {state} already")]
    JobFinished { job_id: String, state: String },
    /// 413 `too_large`: a body over `--max-body-bytes`.
    #[error("the body is over the hub's limit (--max-body-bytes)")]
    TooLarge,
    /// 415 `unsupported_media_type`: a body that is not declared `application/json`.
    #[error("the body must be sent with Content-Type: application/json")]
    UnsupportedMediaType,
    /// 421 `misdirected_request`: a `Host` the hub does not answer to (DNS rebinding).
    #[error("this hub does not answer to the host {0:?}; see --public-name")]
    Misdirected(String),
    /// 422: JSON of the wrong shape; `field` names the culprit.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: String,
        message: String,
    },
    /// Any other status a layer answered (405 from the router, for instance), made JSON.
    #[error("{1}")]
    Status(StatusCode, String),
    /// 507 `storage_full`: no room to store a job (the disk, or `--max-db-mib`).
    #[error("the hub has no room to store the job; try again later")]
    StorageFull(StoreError),
    /// 500 `internal`: the store failed. The detail is logged, never answered.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_full() {
            Self::StorageFull(error)
        } else {
            Self::Store(error)
        }
    }
}

impl ApiError {
    /// A 422 naming `field`.
    pub fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidQuery(_) | Self::InvalidPath(_) | Self::InvalidJson(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound | Self::JobNotFound(_) | Self::ClientNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            Self::JobFinished { .. } => StatusCode::CONFLICT,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Misdirected(_) => StatusCode::MISDIRECTED_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Status(status, _) => *status,
            Self::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidQuery(_) => "invalid_query",
            Self::InvalidPath(_) => "invalid_path",
            Self::InvalidJson(_) => "invalid_json",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::JobNotFound(_) => "job_not_found",
            Self::ClientNotFound(_) => "client_not_found",
            Self::JobFinished { .. } => "job_finished",
            Self::TooLarge => "too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Misdirected(_) => "misdirected_request",
            Self::Invalid { code, .. } => code,
            Self::Status(status, _) => status_code_name(*status),
            Self::StorageFull(_) => "storage_full",
            Self::Store(_) => "internal",
        }
    }
}

/// The code for a status some layer answered without a body of ours.
fn status_code_name(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        status if status.is_server_error() => "internal",
        _ => "error",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if let Self::StorageFull(detail) = &self {
            tracing::error!(error = %detail, "submission refused: the database has no room");
            self.to_string()
        } else if status.is_server_error() {
            // The detail (SQLite's words, paths) is for the operator, not the caller.
            tracing::error!(error = %self, status = status.as_u16(), "request failed");
            INTERNAL_MESSAGE.to_owned()
        } else {
            // A message may quote what was sent (a serde error quotes a whole bad value):
            // enough of it to recognise.
            let message = self.to_string();
            match message.char_indices().nth(MAX_MESSAGE_CHARS) {
                Some((cut, _)) => format!("{}…", &message[..cut]),
                None => message,
            }
        };
        let body = match &self {
            Self::Invalid { field, .. } => {
                json!({"error": {"code": self.code(), "message": message, "field": field}})
            }
            _ => json!({"error": {"code": self.code(), "message": message}}),
        };
        (status, Json(body)).into_response()
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::InvalidQuery(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::InvalidPath(rejection.body_text())
    }
}

/// Axum middleware (inside the router): an error answer that is not JSON yet (axum's
/// own 405, a rejection of an extractor we do not map ourselves) becomes
/// `{"error": {code, message}}` with the same status and headers (`Allow` stays).
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Such bodies are a line of text; a longer one is cut rather than read whole.
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let text = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let mut answer = ApiError::Status(status, text).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    *answer.extensions_mut() = std::mem::take(&mut parts.extensions);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    async fn body(response: Response) -> Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[tokio::test]
    async fn a_store_failure_is_a_500_without_its_detail() {
        let error = ApiError::from(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(11),
            Some("database disk image is malformed in table jobs".into()),
        )));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body(response).await;
        assert_eq!(body["error"]["code"], "internal");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(message, INTERNAL_MESSAGE);
        assert!(!message.contains("malformed") && !message.contains("jobs"));
    }

    #[tokio::test]
    async fn a_full_database_is_a_507_that_says_so() {
        let full = StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(13),
            Some("database or disk is full".into()),
        ));
        assert!(full.is_full(), "the premise: SQLITE_FULL");
        let response = ApiError::from(full).into_response();
        assert_eq!(response.status(), StatusCode::INSUFFICIENT_STORAGE);
        let body = body(response).await;
        assert_eq!(body["error"]["code"], "storage_full");
        assert_eq!(
            body["error"]["message"],
            "the hub has no room to store the job; try again later"
        );
    }

    #[tokio::test]
    async fn a_message_quoting_a_huge_value_is_cut() {
        let huge = format!("unknown variant `{}`", "x".repeat(1 << 20));
        let body =
            body(ApiError::invalid("invalid_options", "options", huge).into_response()).await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1, "{message}");
        assert!(message.starts_with("unknown variant `xxx") && message.ends_with('…'));
    }

    #[tokio::test]
    async fn a_422_names_its_field() {
        let response = ApiError::invalid("invalid_copies", "copies", "copies must be 1 to 999")
            .into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = body(response).await;
        assert_eq!(
            body,
            json!({"error": {"code": "invalid_copies", "message": "copies must be 1 to 999", "field": "copies"}})
        );
    }

    #[tokio::test]
    async fn a_plain_text_error_becomes_json_and_keeps_its_headers() {
        let plain = Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET,HEAD")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(axum::body::Body::empty())
            .expect("response");
        let response = json_errors(plain).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = body(response).await;
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert_eq!(body["error"]["message"], "Method Not Allowed");

        let ok = Response::new(axum::body::Body::from("fine"));
        assert_eq!(json_errors(ok).await.status(), StatusCode::OK);
    }
}
