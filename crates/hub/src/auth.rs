//! Tokens: agent tokens checked in the Socket.IO handshake, API bearer tokens on HTTP.
//! Both optional on loopback; `main` refuses to listen elsewhere without them.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// The configured tokens; empty lists mean "no token needed".
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// Accepted in the agents' handshake `auth.token` (shared tokens).
    pub agent: Vec<String>,
    /// Accepted as `Authorization: Bearer <token>` (or `?token=` on the original endpoints).
    pub api: Vec<String>,
}

/// Why an agent's handshake was refused; the message reaches the agent as CONNECT_ERROR.
#[derive(Debug, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

impl Tokens {
    /// Checks the handshake `auth` object of an agent.
    pub fn check_agent(&self, auth: &Value) -> Result<(), InvalidToken> {
        if self.agent.is_empty() {
            return Ok(());
        }
        let offered = auth["token"].as_str().unwrap_or_default();
        if self
            .agent
            .iter()
            .any(|t| constant_time_eq(t.as_bytes(), offered.as_bytes()))
        {
            Ok(())
        } else {
            Err(InvalidToken)
        }
    }

    fn check_api(&self, offered: Option<&str>) -> bool {
        self.api.is_empty()
            || offered.is_some_and(|o| {
                self.api
                    .iter()
                    .any(|t| constant_time_eq(t.as_bytes(), o.as_bytes()))
            })
    }
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Axum middleware: refuses HTTP requests without a valid API token (401, JSON error).
pub async fn require_api_token(
    State(tokens): State<Tokens>,
    request: Request,
    next: Next,
) -> Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let query_token = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("token=")));
    if tokens.check_api(bearer.or(query_token)) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        Json(
            json!({"error": {"code": "unauthorized", "message": "a valid API token is required"}}),
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_tokens_are_checked_only_when_configured() {
        let open = Tokens::default();
        assert!(open.check_agent(&json!({})).is_ok());
        let closed = Tokens {
            agent: vec!["s3cret".into()],
            api: vec![],
        };
        assert!(closed.check_agent(&json!({"token": "s3cret"})).is_ok());
        assert!(closed.check_agent(&json!({"token": "s3cre"})).is_err());
        assert!(closed.check_agent(&json!({"token": 5})).is_err());
        assert!(closed.check_agent(&Value::Null).is_err());
    }

    #[test]
    fn api_tokens_accept_only_exact_matches() {
        let tokens = Tokens {
            agent: vec![],
            api: vec!["abc".into()],
        };
        assert!(tokens.check_api(Some("abc")));
        assert!(!tokens.check_api(Some("abcd")));
        assert!(!tokens.check_api(None));
        assert!(Tokens::default().check_api(None));
    }
}
