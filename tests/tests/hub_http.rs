//! The hub's HTTP contract as callers see it: every error is JSON with its documented
//! status, and the body of `POST /api/v1/jobs` is checked before a job is queued.

use anyhow::Result;
use printrelay_e2e::{http_client, peak_rss_kib, Hub};
use reqwest::Method;
use serde_json::{json, Value};

/// An API token long enough for any listen address.
const TOKEN: &str = "api-secret-0123456789";

async fn hub_with_token() -> Result<(tempfile::TempDir, Hub)> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start_with(
        &db.path().join("hub.db"),
        2_000,
        1_000,
        &["--api-token", TOKEN],
    )
    .await?;
    Ok((db, hub))
}

/// (status, `error.code`) of a response that must be a JSON error.
async fn json_error(response: reqwest::Response) -> Result<(u16, String, Value)> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(
        content_type.starts_with("application/json"),
        "{status}: content-type {content_type:?}"
    );
    let body: Value = response.json().await?;
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(
        body["error"]["message"].is_string(),
        "{status}: no message in {body}"
    );
    Ok((status, code, body))
}

#[tokio::test]
async fn bad_query_strings_unknown_paths_and_wrong_methods_get_json_errors() -> Result<()> {
    let (_db, hub) = hub_with_token().await?;
    for query in [
        "offset=-1",
        "limit=abc",
        "limit=0",
        "limit=1001",
        "offset=9223372036854775808",
        "limit=1&limit=2",
    ] {
        let response = hub
            .request(Method::GET, &format!("/api/v1/jobs?{query}"))
            .send()
            .await?;
        let (status, code, body) = json_error(response).await?;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid_query"),
            "{query}: {body}"
        );
    }
    // The limits themselves are fine.
    for query in ["limit=1", "limit=1000&offset=9223372036854775807"] {
        let response = hub
            .request(Method::GET, &format!("/api/v1/jobs?{query}"))
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 200, "{query}");
    }
    // A route whose query the router itself refuses answers JSON too.
    let response = hub
        .request(Method::GET, "/api/v1/events?clientId=a&clientId=b")
        .send()
        .await?;
    let (status, code, _) = json_error(response).await?;
    assert_eq!((status, code.as_str()), (400, "bad_request"));

    // An unknown path is 404 before the token is asked for.
    let response = http_client()
        .get(format!("{}/no/such/path", hub.url()))
        .send()
        .await?;
    let (status, code, _) = json_error(response).await?;
    assert_eq!((status, code.as_str()), (404, "not_found"));

    // A method a path does not have: 405, still saying which ones it has.
    let response = hub.request(Method::DELETE, "/api/v1/jobs").send().await?;
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, code, _) = json_error(response).await?;
    assert_eq!((status, code.as_str()), (405, "method_not_allowed"));
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    Ok(())
}

/// A body that is not declared JSON is 415; JSON that is not a job the agent would print
/// is 422 naming the member; none of them is queued.
#[tokio::test]
async fn job_bodies_are_checked_before_anything_is_queued() -> Result<()> {
    let (_db, hub) = hub_with_token().await?;
    let job = |job_id: &str| json!({"clientId": "pc-check", "jobId": job_id, "contentType": "text", "content": "x"});

    let untyped = hub
        .request(Method::POST, "/api/v1/jobs")
        .body(job("no-type").to_string())
        .send()
        .await?;
    let (status, code, _) = json_error(untyped).await?;
    assert_eq!((status, code.as_str()), (415, "unsupported_media_type"));
    let plain = hub
        .request(Method::POST, "/api/v1/jobs")
        .header("content-type", "text/plain")
        .body(job("plain").to_string())
        .send()
        .await?;
    assert_eq!(plain.status().as_u16(), 415);
    let with_charset = hub
        .request(Method::POST, "/api/v1/jobs")
        .header("content-type", "application/json; charset=utf-8")
        .body(job("charset").to_string())
        .send()
        .await?;
    assert_eq!(with_charset.status().as_u16(), 202);

    let refused = [
        ("copies", json!(0), "invalid_copies"),
        ("copies", json!(1000), "invalid_copies"),
        ("contentType", json!("svg"), "unsupported_content_type"),
        ("options", json!({"sides": "sideways"}), "invalid_options"),
        ("options", json!({"fitToPage": "yes"}), "invalid_options"),
        ("options", json!("A4"), "invalid_options"),
        ("content", json!(""), "empty_content"),
        ("expiresAt", json!("next week"), "invalid_timestamp"),
    ];
    for (i, (field, value, expected)) in refused.iter().enumerate() {
        let mut body = job(&format!("refused-{i}"));
        body[field] = value.clone();
        let response = hub
            .request(Method::POST, "/api/v1/jobs")
            .json(&body)
            .send()
            .await?;
        let (status, code, error) = json_error(response).await?;
        assert_eq!((status, code.as_str()), (422, *expected), "{body}: {error}");
        assert_eq!(error["error"]["field"], *field, "{error}");
    }
    let mut raw = job("not-base64");
    raw["contentType"] = json!("raw_base64");
    raw["content"] = json!("this is not base64");
    let (status, body) = hub.submit(&raw).await?;
    assert_eq!(
        (status, &body["error"]["code"]),
        (422, &json!("invalid_content"))
    );

    let listed: Value = hub
        .request(Method::GET, "/api/v1/jobs?clientId=pc-check")
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<&str> = listed["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|j| j["jobId"].as_str())
        .collect();
    assert_eq!(ids, ["charset"], "only the accepted job is queued");
    Ok(())
}

/// 80 MB of JSON that is not a job costs the hub less than three times its size at peak:
/// the body is never built into a JSON tree.
#[tokio::test]
async fn an_80_mb_body_of_zeros_does_not_blow_up_memory() -> Result<()> {
    const SIZE: usize = 80 * 1024 * 1024;
    let (_db, hub) = hub_with_token().await?;
    let zeros = |open: &str, close: &str| {
        let mut body = Vec::with_capacity(SIZE + 200);
        body.extend_from_slice(open.as_bytes());
        body.push(b'0');
        while body.len() < SIZE {
            body.extend_from_slice(b",0");
        }
        body.extend_from_slice(close.as_bytes());
        body
    };
    let head = r#"{"clientId":"pc","jobId":"big","contentType":"text","#;
    let bodies = [
        (zeros("[", "]"), ""),
        (
            zeros(&format!(r#"{head}"content":"x","junk":["#), "]}"),
            "junk",
        ),
        (zeros(&format!(r#"{head}"content":["#), "]}"), "content"),
    ];
    for (body, field) in bodies {
        let response = hub
            .request(Method::POST, "/api/v1/jobs")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let (status, _, error) = json_error(response).await?;
        assert_eq!(status, 422, "{error}");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let peak_kib = peak_rss_kib(hub.process.pid()?)?;
    eprintln!("the hub's peak RSS: {} MiB", peak_kib / 1024);
    assert!(
        peak_kib * 1024 < 3 * SIZE as u64,
        "the hub peaked at {} MiB for {} MiB bodies",
        peak_kib / 1024,
        SIZE / 1024 / 1024
    );
    Ok(())
}

#[tokio::test]
async fn a_query_token_is_decoded_and_read_only_by_the_original_endpoints() -> Result<()> {
    // Characters a URL must encode: the hub compares the decoded token.
    let token = "tok+en/w=th&sym%ls-0123";
    let db = tempfile::tempdir()?;
    let hub = Hub::start_with(
        &db.path().join("hub.db"),
        2_000,
        1_000,
        &["--api-token", token],
    )
    .await?;
    let with_query_token = |path: &str| -> Result<reqwest::Url> {
        Ok(reqwest::Url::parse_with_params(
            &format!("{}{path}", hub.url()),
            [("clientId", "pc-q"), ("token", token)],
        )?)
    };
    for path in ["/getStatus", "/startPrint"] {
        let response = http_client().get(with_query_token(path)?).send().await?;
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    for path in ["/api/v1/clients", "/api/v1/jobs"] {
        let response = http_client().get(with_query_token(path)?).send().await?;
        let (status, code, _) = json_error(response).await?;
        assert_eq!((status, code.as_str()), (401, "unauthorized"), "{path}");
    }
    // The undecoded form is not the token.
    let raw = format!("{}/getStatus?token={token}", hub.url());
    assert_eq!(http_client().get(raw).send().await?.status().as_u16(), 401);

    for (value, status) in [
        (format!("Bearer {token}"), 200),
        (format!("bearer {token}"), 200),
        (format!("BEARER {token}"), 200),
        (format!("Basic {token}"), 401),
        (format!("Bearer {token}x"), 401),
    ] {
        let response = http_client()
            .get(format!("{}/api/v1/clients", hub.url()))
            .header("authorization", &value)
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), status, "{value}");
    }
    Ok(())
}

#[tokio::test]
async fn a_hub_off_loopback_refuses_tokens_shorter_than_16_characters() -> Result<()> {
    let long = "0123456789abcdef";
    for (flags, short) in [
        (
            ["--agent-token", "agent-secret", "--api-token", long],
            "--agent-token",
        ),
        (
            ["--agent-token", long, "--api-token", "api-secret"],
            "--api-token",
        ),
    ] {
        let mut command =
            std::process::Command::new(printrelay_e2e::workspace_binary("printrelay-hub")?);
        printrelay_e2e::without_hub_env(&mut command);
        let out = command
            .args([
                "--listen",
                "0.0.0.0:0",
                "--db",
                "/nonexistent/never-created.db",
            ])
            .args(flags)
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("at least 16 characters") && stderr.contains(short),
            "{stderr}"
        );
        assert!(
            !stderr.contains("secret"),
            "the token itself is not shown: {stderr}"
        );
    }
    // 16 characters are enough; on loopback any length is (the other tests' tokens).
    let db = tempfile::tempdir()?;
    let flags = ["--agent-token", long, "--api-token", long];
    let hub =
        Hub::start_listening("0.0.0.0:0", &db.path().join("hub.db"), 2_000, 1_000, &flags).await?;
    let response = hub.request(Method::GET, "/api/v1/clients").send().await?;
    assert_eq!(response.status().as_u16(), 200);
    Ok(())
}
