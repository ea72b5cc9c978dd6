//! Documents by URI cannot be turned against the office network: the real agent binary
//! fetches only from the dispatch server's host and the hosts it was given
//! (`--fetch-allowed-host`), checks every redirect, and a refused job fails
//! `fetch_refused` without spooling anything. Document servers listen on loopback
//! addresses (`127.0.0.1`, `127.0.0.2`) and count what they were asked.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{ensure, Result};
use printrelay_e2e::doc_server::DocServer;
use printrelay_e2e::{
    count_printed, unique_marker, wait_for_printed, wait_until_listed, Agent, ConnectProxy,
    OriginalServer, RAW_QUEUE,
};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(30);

/// What the server hears for a refused host: nothing about the network.
const REFUSED: &str = "the agent does not fetch documents from this host";

/// One `raw_uri` job per `(name, url)`, sent to an agent started with `flags` against a
/// server on `127.0.0.1`; returns each job's statuses (duplicates aside) once every job
/// has finished.
async fn fetch_jobs(
    tag: &str,
    flags: &[&str],
    jobs: &[(&str, String)],
) -> Result<HashMap<String, Vec<Value>>> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker(tag);
    let mut agent = Agent::start_with(&server.url(), &client_id, RAW_QUEUE, flags).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let id = |name: &str| format!("{client_id}-{name}");
    let payloads: Vec<Value> = jobs
        .iter()
        .map(|(name, url)| json!({"jobId": id(name), "contentType": "raw_uri", "content": url}))
        .collect();
    server.emit_jobs(&client_id, &payloads, 1).await?;
    let by_job = |statuses: &[Value]| {
        let mut by_job: HashMap<String, Vec<Value>> = HashMap::new();
        for (name, _) in jobs {
            let of_job = statuses
                .iter()
                .filter(|s| s["jobId"] == id(name) && s["duplicate"] != true)
                .cloned()
                .collect();
            by_job.insert((*name).to_owned(), of_job);
        }
        by_job
    };
    let statuses = server
        .wait_for_statuses(&client_id, LIMIT, |s| {
            by_job(s).values().all(|of_job| {
                of_job
                    .last()
                    .is_some_and(|st| st["state"] == "completed" || st["state"] == "failed")
            })
        })
        .await?;
    Ok(by_job(&statuses))
}

/// The job was refused: `received` then `failed` with `fetch_refused`, never `spooled`.
fn assert_refused(by_job: &HashMap<String, Vec<Value>>, name: &str) {
    let statuses = &by_job[name];
    let states: Vec<_> = statuses
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(states, ["received", "failed"], "{name}: {statuses:#?}");
    let error = &statuses[1]["error"];
    assert_eq!(error["code"], "fetch_refused", "{name}: {error}");
    assert_eq!(error["message"], REFUSED, "{name}: {error}");
}

/// The job was fetched and printed.
fn assert_completed(by_job: &HashMap<String, Vec<Value>>, name: &str) {
    let statuses = &by_job[name];
    let states: Vec<_> = statuses
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(states.last(), Some(&"completed"), "{name}: {statuses:#?}");
}

async fn document(ip: &str, marker: &str) -> Result<DocServer> {
    DocServer::document(ip, format!("^XA^FD{marker}^FS^XZ").into_bytes()).await
}

#[tokio::test]
async fn by_default_only_the_servers_host_is_fetched_from_and_redirects_are_checked() -> Result<()>
{
    let (here, elsewhere) = (unique_marker("here"), unique_marker("elsewhere"));
    let doc = document("127.0.0.1", &here).await?;
    let other = document("127.0.0.2", &elsewhere).await?;
    let to_localhost = DocServer::redirect("127.0.0.1", &doc.url_as("localhost", "/r")).await?;
    let to_other = DocServer::redirect("127.0.0.1", &other.url("/r")).await?;
    let by_job = fetch_jobs(
        "fetch-default",
        &[],
        &[
            // The server is 127.0.0.1: another name or address for this machine is not it.
            ("localhost", doc.url_as("localhost", "/a")),
            ("second-loopback", other.url("/a")),
            ("redirect-localhost", to_localhost.url("/a")),
            ("redirect-second-loopback", to_other.url("/a")),
            ("server-host", doc.url("/a")),
        ],
    )
    .await?;
    for name in [
        "localhost",
        "second-loopback",
        "redirect-localhost",
        "redirect-second-loopback",
    ] {
        assert_refused(&by_job, name);
    }
    assert_completed(&by_job, "server-host");
    wait_for_printed(RAW_QUEUE, here.as_bytes(), LIMIT).await?;
    // Only the server-host job reached a document; the redirects were asked, not followed.
    assert_eq!(doc.hits(), 1);
    assert_eq!(other.hits(), 0);
    assert_eq!((to_localhost.hits(), to_other.hits()), (1, 1));
    assert_eq!(count_printed(RAW_QUEUE, here.as_bytes()), 1);
    assert_eq!(count_printed(RAW_QUEUE, elsewhere.as_bytes()), 0);
    Ok(())
}

#[tokio::test]
async fn a_star_admits_other_hosts_but_not_their_private_addresses() -> Result<()> {
    let (here, elsewhere) = (unique_marker("star-here"), unique_marker("star-elsewhere"));
    let doc = document("127.0.0.1", &here).await?;
    let other = document("127.0.0.2", &elsewhere).await?;
    let to_localhost = DocServer::redirect("127.0.0.1", &doc.url_as("localhost", "/r")).await?;
    let by_job = fetch_jobs(
        "fetch-star",
        &["--fetch-allowed-host", "*"],
        &[
            // Admitted by `*`, then refused: it resolves to a loopback address.
            ("localhost", doc.url_as("localhost", "/a")),
            ("second-loopback", other.url("/a")),
            ("redirect-localhost", to_localhost.url("/a")),
            // The server's own host keeps its place.
            ("server-host", doc.url("/a")),
        ],
    )
    .await?;
    for name in ["localhost", "second-loopback", "redirect-localhost"] {
        assert_refused(&by_job, name);
    }
    assert_completed(&by_job, "server-host");
    wait_for_printed(RAW_QUEUE, here.as_bytes(), LIMIT).await?;
    assert_eq!((doc.hits(), other.hits(), to_localhost.hits()), (1, 0, 1));
    assert_eq!(count_printed(RAW_QUEUE, elsewhere.as_bytes()), 0);
    Ok(())
}

#[tokio::test]
async fn explicitly_listed_hosts_are_fetched_from_even_on_this_machine() -> Result<()> {
    let markers: Vec<String> = ["by-name", "by-address", "redirected", "unlisted"]
        .iter()
        .map(|m| unique_marker(m))
        .collect();
    let by_name = document("127.0.0.1", &markers[0]).await?;
    let by_address = document("127.0.0.2", &markers[1]).await?;
    let redirected = document("127.0.0.1", &markers[2]).await?;
    let to_redirected =
        DocServer::redirect("127.0.0.1", &redirected.url_as("localhost", "/r")).await?;
    let unlisted = document("127.0.0.3", &markers[3]).await?;
    let by_job = fetch_jobs(
        "fetch-listed",
        &[
            "--fetch-allowed-host",
            "localhost",
            "--fetch-allowed-host",
            "127.0.0.2",
        ],
        &[
            ("by-name", by_name.url_as("localhost", "/a")),
            ("by-address", by_address.url("/a")),
            ("redirected", to_redirected.url("/a")),
            ("unlisted", unlisted.url("/a")),
        ],
    )
    .await?;
    for (name, marker) in ["by-name", "by-address", "redirected"].iter().zip(&markers) {
        assert_completed(&by_job, name);
        let printed = wait_for_printed(RAW_QUEUE, marker.as_bytes(), LIMIT).await?;
        ensure!(printed == format!("^XA^FD{marker}^FS^XZ").into_bytes());
    }
    assert_refused(&by_job, "unlisted");
    assert_eq!(unlisted.hits(), 0);
    assert_eq!(count_printed(RAW_QUEUE, markers[3].as_bytes()), 0);
    Ok(())
}

/// Behind an HTTP proxy, a document is fetched the way the server connection goes: a
/// listed host only the proxy can name is fetched through it and printed.
#[tokio::test]
async fn a_listed_document_host_is_fetched_through_the_proxy() -> Result<()> {
    let body = unique_marker("fetched through the proxy").into_bytes();
    let docs = DocServer::document("127.0.0.1", body.clone()).await?;
    let proxy = ConnectProxy::start().await?;
    let proxy_url = proxy.url();
    let url = docs.url_as("docs.test", "/label.bin");
    let flags = [
        "--proxy",
        proxy_url.as_str(),
        "--fetch-allowed-host",
        "docs.test",
    ];
    let relayed = url.trim_start_matches("http://").to_owned();
    let by_job = fetch_jobs("fetch-proxy", &flags, &[("label", url)]).await?;
    assert_completed(&by_job, "label");
    assert_eq!(
        proxy.forwarded(),
        [relayed],
        "the request went through the proxy"
    );
    assert_eq!(docs.hits(), 1);
    wait_for_printed(RAW_QUEUE, &body, LIMIT).await?;
    Ok(())
}
