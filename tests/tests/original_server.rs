//! The headless agent against the reference Node server that behaves as the original one:
//! register, `/getStatus`, `/startPrint`, and the text coming out of a real CUPS queue.

use std::time::Duration;

use anyhow::Result;
use printrelay_e2e::{
    count_printed, unique_marker, wait_for_printed, Agent, OriginalServer, RAW_QUEUE,
};

const LIMIT: Duration = Duration::from_secs(20);

async fn print_through_original_server(text: &str) -> Result<()> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker("pc");
    let mut agent = Agent::start(&server.url(), &client_id, RAW_QUEUE).await?;
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
    assert_eq!(answer["message"], "print job sent", "{answer}");

    let completed = agent.wait_for_job("completed", LIMIT).await?;
    assert_eq!(completed["payload"]["printer"], RAW_QUEUE);
    let printed = wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    assert_eq!(
        printed,
        text.as_bytes(),
        "a raw queue must receive the text byte for byte"
    );
    assert_eq!(
        count_printed(RAW_QUEUE, text.as_bytes()),
        1,
        "printed exactly once"
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
async fn start_print_reports_unknown_and_offline_clients() -> Result<()> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker("pc");
    let answer = server.start_print(&client_id, "x").await?;
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("not registered")),
        "{answer}"
    );

    let mut agent = Agent::start(&server.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    agent.process.signal("TERM")?;
    agent.wait_for_state("stopped", LIMIT).await?;
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let answer = server.start_print(&client_id, "x").await?;
        if answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("offline"))
        {
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
