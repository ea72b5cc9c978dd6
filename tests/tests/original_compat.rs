//! The hub against the stand-in for the original server (tests/node/original-server.js):
//! web systems written for the original call `/getStatus` and `/startPrint` and compare
//! the answers, so the hub must answer exactly as the original did.

use std::time::Duration;

use anyhow::Result;
use printrelay_e2e::{
    client_status_at, http_client, socket_io_emit, start_print_at, unique_marker, wait_for_listing,
    wait_until_listed, Agent, Hub, OriginalServer, RAW_QUEUE, START_PRINT_ACCEPTED,
    START_PRINT_OFFLINE, START_PRINT_UNKNOWN,
};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(30);

/// What `/startPrint` answered for an unknown, a connected and an offline client, and
/// the offline client's `/getStatus` entry.
async fn original_answers(base_url: &str) -> Result<(Vec<Value>, Value)> {
    let client_id = unique_marker("compat");
    let unknown = start_print_at(base_url, &client_id, "x").await?;
    let mut agent = Agent::start(base_url, &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(base_url, &client_id, LIMIT).await?;
    let accepted = start_print_at(base_url, &client_id, &unique_marker("compat print")).await?;
    agent.wait_for_job("completed", LIMIT).await?;
    agent.process.signal("TERM")?;
    agent.wait_for_state("stopped", LIMIT).await?;
    let offline_entry = wait_for_listing(base_url, &client_id, false, LIMIT).await?;
    let offline = start_print_at(base_url, &client_id, "x").await?;
    Ok((vec![unknown, accepted, offline], offline_entry))
}

#[tokio::test]
async fn the_hub_answers_start_print_and_get_status_in_the_original_words() -> Result<()> {
    let stand_in = OriginalServer::start(2_000, 1_000).await?;
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;

    let (original, original_entry) = original_answers(&stand_in.url()).await?;
    let (ours, our_entry) = original_answers(&hub.url()).await?;
    let messages = |answers: &[Value]| -> Vec<Value> {
        answers.iter().map(|a| a["message"].clone()).collect()
    };
    let expected = [
        START_PRINT_UNKNOWN,
        START_PRINT_ACCEPTED,
        START_PRINT_OFFLINE,
    ];
    assert_eq!(messages(&original), expected, "the stand-in: {original:?}");
    assert_eq!(messages(&ours), expected, "the hub: {ours:?}");
    // The hub adds the id of the job it queued, and nothing else.
    assert!(ours[1]["jobId"].is_string(), "{}", ours[1]);
    assert_eq!(ours[0], json!({"message": START_PRINT_UNKNOWN}));
    assert_eq!(ours[2], json!({"message": START_PRINT_OFFLINE}));

    // An offline client keeps its last socket id, a string, on both.
    for entry in [&original_entry, &our_entry] {
        assert!(
            entry["socketId"].as_str().is_some_and(|s| !s.is_empty()),
            "{entry}"
        );
    }
    Ok(())
}

/// A client the hub knows only from a `client_info` (sent before any `register`) has had
/// no socket bound yet: `socketId` is still a string, never null.
#[tokio::test]
async fn get_status_never_answers_a_null_socket_id() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("infoonly");
    let info = json!(["client_info", {
        "clientId": client_id, "protocol": 1, "app": {"name": "test", "version": "0"},
        "host": {"hostname": "h", "os": "linux", "arch": "x86_64"},
        "printers": [], "selectedPrinter": null,
    }]);
    socket_io_emit(hub.port, &json!({"clientId": client_id}), &info).await?;
    let deadline = tokio::time::Instant::now() + LIMIT;
    let entry = loop {
        if let Some(entry) = client_status_at(&hub.url(), &client_id).await? {
            break entry;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{client_id} never listed"
        );
        // The hub stores client_info on its own task; /getStatus is what a sender sees.
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(entry["connected"], false, "{entry}");
    assert_eq!(entry["socketId"], "", "{entry}");
    Ok(())
}

/// (`Access-Control-Allow-Origin` of a GET from a page, status and the same header of
/// its preflight) for `path`.
async fn cors_answers(base_url: &str, path: &str) -> Result<(Option<String>, u16, Option<String>)> {
    let origin = "https://erp.example";
    let allowed = |response: &reqwest::Response| {
        response
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let get = http_client()
        .get(format!("{base_url}{path}"))
        .header("origin", origin)
        .send()
        .await?;
    let preflight = http_client()
        .request(reqwest::Method::OPTIONS, format!("{base_url}{path}"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "content-type")
        .send()
        .await?;
    Ok((
        allowed(&get),
        preflight.status().as_u16(),
        allowed(&preflight),
    ))
}

/// A web page on another origin calls the original endpoints directly: the stand-in
/// and a hub without API tokens both allow it with `Access-Control-Allow-Origin: *`.
#[tokio::test]
async fn a_page_on_another_origin_may_call_the_original_endpoints_as_before() -> Result<()> {
    let stand_in = OriginalServer::start(2_000, 1_000).await?;
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    for path in ["/getStatus", "/startPrint?clientId=nobody&printData=x"] {
        let original = cors_answers(&stand_in.url(), path).await?;
        let ours = cors_answers(&hub.url(), path).await?;
        assert_eq!(
            original.0.as_deref(),
            Some("*"),
            "stand-in {path}: {original:?}"
        );
        assert_eq!(ours.0.as_deref(), Some("*"), "hub {path}: {ours:?}");
        for (name, (_, status, allowed)) in [("stand-in", &original), ("hub", &ours)] {
            assert!(
                (200..300).contains(status),
                "{name} preflight of {path}: {status}"
            );
            assert_eq!(allowed.as_deref(), Some("*"), "{name} preflight of {path}");
        }
    }
    Ok(())
}
