//! CORS: which web pages (origins) may call the hub from a browser. The original server
//! allowed any (`Access-Control-Allow-Origin: *`), and web systems written for it call
//! `/getStatus` and `/startPrint` from pages on other origins; a hub without API tokens
//! (loopback only) does the same out of the box. With API tokens, pages of other
//! origins are refused unless `--cors-origin` names them.

use axum::http::{header, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// A `--cors-origin` that cannot be a header value, or `none` beside others.
#[derive(Debug, thiserror::Error)]
#[error("invalid CORS origin {0:?}")]
pub struct InvalidOrigin(String);

/// The origins in force: `--cors-origin` as given (`*` any, `none` no CORS at all);
/// without it any origin when the hub has no API tokens, none when it has.
pub fn origins(configured: &[String], api_tokens: bool) -> Vec<String> {
    match configured {
        [] if !api_tokens => vec!["*".to_owned()],
        [only] if only == "none" => Vec::new(),
        _ => configured.to_vec(),
    }
}

/// The CORS layer for `origins` (from [`origins`]); `None` when empty: same-origin only,
/// no CORS headers. `main` applies it outside the token check, so preflights need no
/// token, and it answers for the API and Socket.IO polling alike.
pub fn layer(origins: &[String]) -> Result<Option<CorsLayer>, InvalidOrigin> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| match o.as_str() {
                "none" => Err(InvalidOrigin(o.clone())),
                _ => HeaderValue::from_str(o).map_err(|_| InvalidOrigin(o.clone())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            // Chrome asks before a public page may call a hub on this machine or network.
            .allow_private_network(true)
            .max_age(std::time::Duration::from_secs(600)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_tokens_any_origin_by_default_with_tokens_none() {
        let none: Vec<String> = Vec::new();
        assert_eq!(origins(&none, false), ["*"]);
        assert!(origins(&none, true).is_empty());
        let erp = vec!["https://erp.example".to_owned()];
        assert_eq!(origins(&erp, false), erp);
        assert_eq!(origins(&erp, true), erp);
        assert!(origins(&["none".to_owned()], false).is_empty());
        assert!(layer(&["none".to_owned(), "https://erp.example".to_owned()]).is_err());
        assert!(layer(&["bad\norigin".to_owned()]).is_err());
        assert!(layer(&[]).expect("valid").is_none());
    }
}
