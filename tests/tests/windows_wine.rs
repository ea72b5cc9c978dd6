//! The agent's Windows build (`x86_64-pc-windows-gnu`) under Wine, end to end: Wine's
//! winspool and GDI hand its jobs to the real CUPS queues, whose output is read back.
//! Fails when Wine is missing (scripts/setup.sh test installs it); `PRINTRELAY_SKIP_WINE=1`
//! skips outside CI.

use std::time::Duration;

use anyhow::{ensure, Result};
use base64::Engine as _;
use printrelay_e2e::wine::Wine;
use printrelay_e2e::{
    unique_marker, wait_for_job_output, wait_until_listed, Agent, AgentHome, OriginalServer,
    RAW_QUEUE,
};
use serde_json::{json, Value};

/// Wine starts slowly the first time (it loads its DLLs into the page cache).
const LIMIT: Duration = Duration::from_secs(60);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Queues CUPS has, from `lpstat -e`.
fn cups_queues() -> Result<Vec<String>> {
    let out = std::process::Command::new("lpstat").arg("-e").output()?;
    ensure!(out.status.success(), "lpstat -e failed");
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The Node reference server and the Windows agent under Wine, registered.
async fn connected_wine_agent(
    wine: &Wine,
    home: Option<&AgentHome>,
    printer: &str,
    tag: &str,
) -> Result<(OriginalServer, Agent, String)> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker(tag);
    let mut agent = wine
        .start_agent(home, &server.url(), &client_id, printer)
        .await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    Ok((server, agent, client_id))
}

/// The states the server has seen for `job_id`, in order (duplicates left out).
fn states_of(statuses: &[Value], job_id: &str) -> Vec<String> {
    statuses
        .iter()
        .filter(|s| s["jobId"] == job_id && s["duplicate"] != true)
        .filter_map(|s| s["state"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn printers_lists_the_cups_queues() -> Result<()> {
    let Some(wine) = Wine::prepare()? else {
        return Ok(());
    };
    let out = wine.run_agent(&["printers"]).await?;
    ensure!(
        out.status.success(),
        "printers failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.get(2..)?.split_whitespace().next())
        .collect();
    for queue in cups_queues()? {
        assert!(
            names.contains(&queue.as_str()),
            "{queue} missing:\n{listed}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_raw_job_from_the_server_reaches_cups_byte_exact_through_winspool() -> Result<()> {
    let Some(wine) = Wine::prepare()? else {
        return Ok(());
    };
    let home = AgentHome::new()?;
    let (server, _agent, client_id) =
        connected_wine_agent(&wine, Some(&home), RAW_QUEUE, "wine-raw").await?;
    let job_id = unique_marker("wine-raw-job");
    let mut bytes = format!("^XA^FD{job_id}^FS^XZ").into_bytes();
    bytes.extend(0u8..=255);
    let job = json!({"jobId": job_id, "contentType": "raw_base64", "content": b64(&bytes)});
    server.emit_jobs(&client_id, &[job], 1).await?;

    let statuses = server
        .wait_for_statuses(&client_id, LIMIT, |s| {
            states_of(s, &job_id).iter().any(|st| st == "spooled")
        })
        .await?;
    assert_eq!(states_of(&statuses, &job_id)[..2], ["received", "spooled"]);
    let printed = wait_for_job_output(RAW_QUEUE, &job_id, LIMIT).await?;
    assert_eq!(printed, bytes, "byte-exact through winspool and CUPS");
    Ok(())
}
