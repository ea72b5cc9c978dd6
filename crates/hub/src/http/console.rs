//! The web console: static files embedded in the binary, served at `/console/` (`/`
//! redirects there) without a token (they hold no data; the page asks for the token the
//! API needs), under a Content-Security-Policy that allows nothing but this origin.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::hub::Hub;

/// Where the console lives.
pub const CONSOLE_PATH: &str = "/console/";

/// Scripts, styles and requests from this origin only; no inline code; never framed.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// Every file of the console: (name, media type, content).
pub const FILES: [(&str, &str, &str); 9] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../console/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../console/style.css"),
    ),
    ("app.js", JS, include_str!("../../console/app.js")),
    ("api.js", JS, include_str!("../../console/api.js")),
    ("i18n.js", JS, include_str!("../../console/i18n.js")),
    ("view.js", JS, include_str!("../../console/view.js")),
    ("pcs.js", JS, include_str!("../../console/pcs.js")),
    ("jobs.js", JS, include_str!("../../console/jobs.js")),
    ("print.js", JS, include_str!("../../console/print.js")),
];

const JS: &str = "text/javascript; charset=utf-8";

/// `/` (a redirect), `/console` (a redirect), `/console/` and `/console/{file}`.
pub fn router() -> Router<Hub> {
    Router::new()
        .route("/", get(async || Redirect::to(CONSOLE_PATH)))
        .route("/console", get(async || Redirect::to(CONSOLE_PATH)))
        .route("/console/", get(async || file("index.html")))
        .route(
            "/console/{file}",
            get(async |Path(name): Path<String>| file(&name)),
        )
}

fn file(name: &str) -> Response {
    let Some((_, media_type, content)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return super::error::ApiError::NotFound.into_response();
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            // A new hub version brings new files: the browser asks again each time.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        *content,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to the console folder and forgotten here would be a 404 in the page.
    #[test]
    fn every_file_of_the_console_folder_is_served() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut on_disk: Vec<String> = std::fs::read_dir(&folder)
            .expect("console folder")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name != "package.json")
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = FILES.iter().map(|(n, _, _)| (*n).to_owned()).collect();
        served.sort();
        assert_eq!(on_disk, served);
    }

    /// Every module the page imports is one the hub serves.
    #[test]
    fn every_import_names_a_served_file() {
        for (name, _, content) in FILES {
            for line in content.lines() {
                let Some(rest) = line.split(" from './").nth(1) else {
                    continue;
                };
                let imported = rest.split('\'').next().unwrap_or_default();
                assert!(
                    FILES.iter().any(|(n, _, _)| *n == imported),
                    "{name} imports {imported}"
                );
            }
        }
    }
}
