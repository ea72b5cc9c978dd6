//! The headless agent against the reference Node server that behaves as the original one:
//! register, `/getStatus`, `/startPrint`, and the text coming out of a real CUPS queue.

use std::time::Duration;

use anyhow::Result;
use base64::Engine as _;
use printrelay_e2e::{
    count_printed, unique_marker, wait_for_printed, wait_until_listed, Agent, AgentHome,
    OriginalServer, RAW_QUEUE, START_PRINT_ACCEPTED, START_PRINT_OFFLINE, START_PRINT_UNKNOWN,
};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(20);

async fn print_through_original_server(text: &str) -> Result<()> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    print_through(&server, &server.url(), &[], text).await
}

/// Registers an agent started with `server_url` and `flags` at `server`, and prints
/// `text` sent with `/startPrint` on the raw queue, exactly once.
async fn print_through(
    server: &OriginalServer,
    server_url: &str,
    flags: &[&str],
    text: &str,
) -> Result<()> {
    let client_id = unique_marker("pc");
    let mut agent = Agent::start_with(server_url, &client_id, RAW_QUEUE, flags).await?;
    agent.wait_for_state("connected", LIMIT).await?;

    // `register` is emitted before the state turns connected, but the server handles it
    // asynchronously: poll its status page until the client is listed.
    let deadline = tokio::time::Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = server.client_status(&client_id).await? {
            break status;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "client never listed in /getStatus"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status["connected"], true, "{status}");

    let answer = server.start_print(&client_id, text).await?;
    assert_eq!(answer["message"], START_PRINT_ACCEPTED, "{answer}");

    let completed = agent.wait_for_job("completed", LIMIT).await?;
    assert_eq!(completed["payload"]["printer"], RAW_QUEUE);
    let printed = wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    assert_eq!(
        printed,
        text.as_bytes(),
        "a raw queue must receive the text byte for byte"
    );
    agent.settle(LIMIT).await?;
    assert_eq!(
        count_printed(RAW_QUEUE, text.as_bytes()),
        1,
        "printed exactly once, also after the agent went quiet"
    );
    Ok(())
}

#[tokio::test]
async fn prints_ascii_text_sent_with_start_print() -> Result<()> {
    print_through_original_server(&unique_marker("Hello from the original server")).await
}

#[tokio::test]
async fn prints_utf8_chinese_text_byte_exact() -> Result<()> {
    print_through_original_server(&format!("打印测试 {}\n第二行", unique_marker("中文"))).await
}

#[tokio::test]
async fn a_server_on_a_namespace_is_joined_by_the_path_of_its_url() -> Result<()> {
    let server =
        OriginalServer::start_with(0, 10_000, 5_000, &["--namespace", "/printers"]).await?;
    let url = format!("{}/printers", server.url());
    print_through(&server, &url, &[], &unique_marker("Namespace /printers")).await
}

#[tokio::test]
async fn a_server_at_a_custom_engine_path_is_reached_by_the_socket_path() -> Result<()> {
    let server =
        OriginalServer::start_with(0, 10_000, 5_000, &["--path", "/print/socket.io"]).await?;
    let flags = ["--socket-path", "/print/socket.io"];
    print_through(
        &server,
        &server.url(),
        &flags,
        &unique_marker("Path /print/socket.io"),
    )
    .await
}

#[tokio::test]
async fn a_namespace_the_server_does_not_have_is_refused_with_its_reason() -> Result<()> {
    let server =
        OriginalServer::start_with(0, 10_000, 5_000, &["--namespace", "/printers"]).await?;
    let url = format!("{}/labels", server.url());
    let mut agent = Agent::start_with(
        &url,
        &unique_marker("pc"),
        RAW_QUEUE,
        &["--reconnect-attempts", "1"],
    )
    .await?;
    let gave_up = agent.wait_for_state("gaveUp", LIMIT).await?;
    let error = gave_up["payload"]["lastError"].as_str().unwrap_or_default();
    assert!(error.contains("Invalid namespace"), "{gave_up}");
    assert_eq!(gave_up["payload"]["problem"], "server_refused", "{gave_up}");
    Ok(())
}

#[tokio::test]
async fn start_print_reports_unknown_and_offline_clients() -> Result<()> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker("pc");
    let answer = server.start_print(&client_id, "x").await?;
    assert_eq!(answer["message"], START_PRINT_UNKNOWN, "{answer}");

    let mut agent = Agent::start(&server.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    agent.process.signal("TERM")?;
    agent.wait_for_state("stopped", LIMIT).await?;
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let answer = server.start_print(&client_id, "x").await?;
        if answer["message"] == START_PRINT_OFFLINE {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "client never shown offline: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The original server never acks statuses: each goes out once on a connection (not again
/// and again), and a finished job's statuses leave the agent's outbox once a heartbeat
/// came after them on that connection.
#[tokio::test]
async fn statuses_to_a_server_that_never_acks_go_once_and_leave_the_outbox() -> Result<()> {
    let server = OriginalServer::start(300, 200).await?;
    let home = AgentHome::new()?;
    let client_id = unique_marker("noack");
    let mut agent = Agent::start_in(&home, &server.url(), &client_id, RAW_QUEUE, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    printrelay_e2e::wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let job_id = unique_marker("noackjob");
    let content = base64::engine::general_purpose::STANDARD.encode(unique_marker("noack"));
    let job = json!({"jobId": job_id, "contentType": "raw_base64", "content": content});
    server.emit_jobs(&client_id, &[job], 1).await?;
    server
        .wait_for_statuses(&client_id, LIMIT, |s| {
            s.iter().any(|x| x["state"] == "completed")
        })
        .await?;
    home.wait_for_empty_outbox(LIMIT).await?;
    // Nothing is left to send, so the server's list is final.
    let states: Vec<_> = server
        .statuses(&client_id)
        .await?
        .into_iter()
        .filter(|s| s["jobId"] == job_id.as_str())
        .map(|s| s["state"].clone())
        .collect();
    assert_eq!(states, ["received", "spooled", "completed"]);
    Ok(())
}

/// A server that emits `print` with an ack callback (`socket.timeout(5000).emit(..., cb)`)
/// hears back once the job is stored: `received` with the job id (made by the agent for
/// the original shape), also for a Buffer document, `duplicate` for an id sent again,
/// `rejected` with its code for a bad payload or binary data where no document is read;
/// each job prints once and the connection stays.
#[tokio::test]
async fn a_print_sent_with_an_ack_callback_is_answered_once_stored() -> Result<()> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker("acked");
    let mut agent = Agent::start(&server.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let answer = |reply: &serde_json::Value| reply["answer"].clone();

    let job_id = unique_marker("acked-job");
    let text = unique_marker("acked text");
    let v1 = json!({"jobId": job_id, "contentType": "text", "content": text});
    let reply = server.emit_with_ack(&client_id, &v1, None).await?;
    assert_eq!(
        answer(&reply),
        json!({"jobId": job_id, "state": "received"}),
        "{reply}"
    );
    let again = server.emit_with_ack(&client_id, &v1, None).await?;
    assert_eq!(
        answer(&again),
        json!({"jobId": job_id, "state": "duplicate"}),
        "{again}"
    );

    let original_text = unique_marker("acked original");
    let reply = server
        .emit_with_ack(&client_id, &json!({"printData": original_text}), None)
        .await?;
    assert_eq!(reply["answer"]["state"], "received", "{reply}");
    let local_id = reply["answer"]["jobId"].as_str().unwrap_or_default();
    assert!(local_id.starts_with("local-"), "{reply}");

    let bad = server
        .emit_with_ack(
            &client_id,
            &json!({"jobId": unique_marker("bad"), "contentType": "text"}),
            None,
        )
        .await?;
    assert_eq!(bad["answer"]["state"], "rejected", "{bad}");
    assert_eq!(bad["answer"]["error"]["code"], "missing_content", "{bad}");
    // A Buffer document (a binary event) is answered the same way...
    let buffer_text = unique_marker("acked buffer");
    let binary = server
        .emit_with_ack(
            &client_id,
            &json!({"printData": buffer_text}),
            Some("printData"),
        )
        .await?;
    assert_eq!(binary["answer"]["state"], "received", "{binary}");
    // ...and binary data where no document is read is refused by its code.
    let misplaced_id = unique_marker("misplaced");
    let misplaced = server
        .emit_with_ack(
            &client_id,
            &json!({"jobId": misplaced_id, "contentType": "text", "content": "x", "title": "t"}),
            Some("title"),
        )
        .await?;
    assert_eq!(
        answer(&misplaced)["error"]["code"],
        "unsupported_binary",
        "{misplaced}"
    );
    assert_eq!(answer(&misplaced)["jobId"], misplaced_id.as_str());

    wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    wait_for_printed(RAW_QUEUE, original_text.as_bytes(), LIMIT).await?;
    wait_for_printed(RAW_QUEUE, buffer_text.as_bytes(), LIMIT).await?;
    agent.settle(LIMIT).await?;
    assert_eq!(
        count_printed(RAW_QUEUE, text.as_bytes()),
        1,
        "the duplicate did not print"
    );
    let status = server.client_status(&client_id).await?;
    assert_eq!(status.map(|s| s["connected"].clone()), Some(json!(true)));
    Ok(())
}
