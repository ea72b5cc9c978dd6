//! The hub's HTTP surface: the routes (the original `/getStatus` and `/startPrint`, the
//! JSON API `/api/v1`) and the layers every route shares (API token, body limit, JSON
//! errors). `main` wraps the whole app, Socket.IO included, in CORS ([`cors`]) and, outermost,
//! the Host check ([`host`]).

mod api;
mod api_token;
pub mod console;
pub mod cors;
pub mod error;
mod events;
pub mod host;
mod original;
mod submission;

use axum::handler::Handler;
use axum::http::header;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::auth::Tokens;
use crate::hub::Hub;
use api_token::require_api_token;
use error::ApiError;

/// The OpenAPI document of every route below, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../../api/openapi.json");

/// The HTTP API and the web console; everything but `/healthz`, the OpenAPI document and
/// the console's static files needs an API token
/// when tokens are configured. Bodies over `max_body_bytes` get 413. Every error answer
/// is JSON `{"error": {"code", "message"}}`. An unknown path is 404 before any token
/// check (the token guards routes, not the absence of one).
pub fn router(hub: Hub, tokens: Tokens, max_body_bytes: usize) -> Router {
    let (open, protected) = routes();
    let protected = protected
        .router
        .route_layer(axum::middleware::from_fn_with_state(
            tokens,
            require_api_token,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes));
    open.router
        .merge(console::router())
        .merge(protected)
        .fallback(async || ApiError::NotFound)
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(hub)
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

/// A whole number as JSON Schema counts one: `12`, also `12.0` or `1.2e1`, up to
/// `i64::MAX`. Query strings and bodies alike may carry it either way.
fn integral(text: &str) -> Option<u64> {
    if let Ok(whole) = text.parse::<u64>() {
        return (whole <= i64::MAX as u64).then_some(whole);
    }
    let number = text.parse::<f64>().ok()?;
    // Below 2^63 every float is at most i64::MAX, and the cast is exact.
    (number.is_finite()
        && number.fract() == 0.0
        && (0.0..9_223_372_036_854_775_808.0).contains(&number))
    .then_some(number as u64)
}

/// (routes without a token, routes behind the API token).
fn routes() -> (Routes, Routes) {
    let open = Routes::new()
        .get("/healthz", async || Json(json!({"ok": true})))
        .get("/api/v1/openapi.json", async || {
            ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
        });
    let protected = Routes::new()
        .get("/getStatus", original::get_status)
        .get("/startPrint", original::start_print)
        .post("/api/v1/jobs", api::submit_job)
        .get("/api/v1/jobs", api::list_jobs)
        .get("/api/v1/jobs/{jobId}", api::get_job)
        .post("/api/v1/jobs/{jobId}/cancel", api::cancel_job)
        .post("/api/v1/jobs/{jobId}/reprint", api::reprint_job)
        .get("/api/v1/stats", api::stats)
        .get("/api/v1/clients", api::list_clients)
        .get("/api/v1/clients/{clientId}", api::get_client)
        .get("/api/v1/events", events::stream_events);
    (open, protected)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn whole_numbers_are_read_as_json_schema_counts_them() {
        assert_eq!(integral("12"), Some(12));
        assert_eq!(integral("12.0"), Some(12));
        assert_eq!(integral("1.2e1"), Some(12));
        assert_eq!(integral("-0.0"), Some(0));
        assert_eq!(integral("9223372036854775807"), Some(i64::MAX as u64));
        for bad in [
            "12.5",
            "-1",
            "abc",
            "",
            "NaN",
            "inf",
            "9223372036854775808",
            "9.3e18",
        ] {
            assert_eq!(integral(bad), None, "{bad}");
        }
    }

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
