//! The API token a request offers and the middleware that checks it (HTTP side of
//! [`crate::auth::Tokens`]); runs on the request's task.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Tokens;
use crate::http::error::ApiError;

/// Paths that also take the token as `?token=`: the original endpoints, whose callers
/// (web systems written for the original server) may only be able to build a URL.
/// Elsewhere a token in a URL would only end up in proxies' and browsers' histories.
const QUERY_TOKEN_PATHS: [&str; 2] = ["/getStatus", "/startPrint"];

/// The API token a request offers: `Authorization: <scheme> <token>` with the scheme
/// `Bearer` in any case, else `?token=` (URL-decoded) on the original endpoints.
fn offered_token(request: &Request) -> Option<String> {
    let from_header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(|c: char| c.is_ascii_whitespace()))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    if from_header.is_some() || !QUERY_TOKEN_PATHS.contains(&request.uri().path()) {
        return from_header;
    }
    #[derive(serde::Deserialize)]
    struct TokenQuery {
        token: Option<String>,
    }
    // A query that does not read (a repeated `token`) offers none.
    axum::extract::Query::<TokenQuery>::try_from_uri(request.uri())
        .ok()
        .and_then(|q| q.0.token)
}

/// Axum middleware: refuses HTTP requests without a valid API token (401, JSON error).
pub async fn require_api_token(
    State(tokens): State<Tokens>,
    request: Request,
    next: Next,
) -> Response {
    if tokens.check_api(offered_token(&request).as_deref()) {
        return next.run(request).await;
    }
    ApiError::Unauthorized.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(uri: &str, authorization: Option<&str>) -> Option<String> {
        let mut request = Request::builder().uri(uri);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        offered_token(&request.body(axum::body::Body::empty()).expect("request"))
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER  abc ", "bEaReR\tabc"] {
            assert_eq!(
                offered("/api/v1/jobs", Some(value)).as_deref(),
                Some("abc"),
                "{value}"
            );
        }
        assert_eq!(offered("/api/v1/jobs", Some("Basic abc")), None);
        assert_eq!(offered("/api/v1/jobs", Some("Bearerabc")), None);
    }

    #[test]
    fn a_query_token_is_decoded_and_read_only_on_the_original_endpoints() {
        let uri = "/getStatus?token=a%2Bb%20c%26d";
        assert_eq!(offered(uri, None).as_deref(), Some("a+b c&d"));
        assert_eq!(
            offered("/startPrint?clientId=pc&token=t0k", None).as_deref(),
            Some("t0k")
        );
        assert_eq!(offered("/api/v1/clients?token=t0k", None), None);
        assert_eq!(offered("/api/v1/events?token=t0k", None), None);
        assert_eq!(offered("/getStatus?token=a&token=b", None), None);
        // The header wins over the query.
        assert_eq!(
            offered("/getStatus?token=q", Some("Bearer h")).as_deref(),
            Some("h")
        );
    }
}
