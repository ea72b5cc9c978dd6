//! The job pipeline end to end: v1 jobs from a server, real CUPS queues, the agent's
//! statuses as the server receives them, duplicates, bad input and a crash mid-burst.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{ensure, Result};
use base64::Engine as _;
use printrelay_e2e::{
    count_printed, cups, peak_rss_kib, unique_marker, wait_for_printed, wait_until_listed, Agent,
    AgentHome, OriginalServer, PausedQueue, SpoolWatch, RAW_QUEUE,
};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(30);
/// A second raw queue, for tests that pause it.
const PAUSABLE_QUEUE: &str = "PrintRelayRaw2";
/// A queue only the memory test uses and stops: a printer that is off.
const HELD_QUEUE: &str = "PrintRelayHeld";
/// A queue whose device always fails; CUPS aborts its jobs (scripts/setup.sh).
const FAILING_QUEUE: &str = "PrintRelayFail";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn raw_job(job_id: &str, bytes: &[u8]) -> Value {
    json!({"jobId": job_id, "contentType": "raw_base64", "content": b64(bytes), "title": job_id})
}

async fn connected_agent(queue: &str, tag: &str) -> Result<(OriginalServer, Agent, String)> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker(tag);
    let mut agent = Agent::start(&server.url(), &client_id, queue).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    Ok((server, agent, client_id))
}

/// Waits until the server has seen `job_id` reach `state` (its last non-duplicate status).
async fn until_job_state(
    server: &OriginalServer,
    client_id: &str,
    job_id: &str,
    state: &str,
) -> Result<Vec<Value>> {
    server
        .wait_for_statuses(client_id, LIMIT, |s| {
            final_states(s).get(job_id).is_some_and(|st| st == state)
        })
        .await
}

/// The `state` of each status, in order.
fn states_of(statuses: &[Value]) -> Vec<&str> {
    statuses
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect()
}

fn final_states(statuses: &[Value]) -> HashMap<String, String> {
    let mut last = HashMap::new();
    for status in statuses.iter().filter(|s| s["duplicate"] != true) {
        if let (Some(id), Some(state)) = (status["jobId"].as_str(), status["state"].as_str()) {
            last.insert(id.to_owned(), state.to_owned());
        }
    }
    last
}

#[tokio::test]
async fn raw_bytes_come_out_byte_exact_and_copies_are_honoured() -> Result<()> {
    let (server, _agent, client_id) = connected_agent(RAW_QUEUE, "raw").await?;
    let marker = unique_marker("ZPL");
    let mut bytes: Vec<u8> = format!("^XA^FD{marker}^FS^XZ").into_bytes();
    bytes.extend(0u8..=255);
    let mut three = raw_job(&unique_marker("copies"), &bytes);
    three["copies"] = json!(3);
    let job_id = three["jobId"].as_str().unwrap_or_default().to_owned();
    server.emit_jobs(&client_id, &[three], 1).await?;

    let statuses = until_job_state(&server, &client_id, &job_id, "completed").await?;
    let states = states_of(&statuses);
    assert_eq!(states, ["received", "spooled", "completed"]);
    assert!(statuses[1]["spoolerJobId"].is_u64(), "{}", statuses[1]);
    assert_eq!(statuses[2]["printer"], RAW_QUEUE);
    let printed = wait_for_printed(RAW_QUEUE, marker.as_bytes(), LIMIT).await?;
    assert_eq!(printed, bytes.repeat(3), "three byte-exact copies");
    Ok(())
}

#[tokio::test]
async fn the_same_job_delivered_ten_times_prints_once() -> Result<()> {
    let (server, mut agent, client_id) = connected_agent(RAW_QUEUE, "dup").await?;
    let marker = unique_marker("duplicate");
    let job = raw_job(&marker, marker.as_bytes());
    server.emit_jobs(&client_id, &[job], 10).await?;

    let statuses = server
        .wait_for_statuses(&client_id, LIMIT, |s| {
            final_states(s)
                .get(&marker)
                .is_some_and(|st| st == "completed")
                && s.iter().filter(|x| x["duplicate"] == true).count() == 9
        })
        .await?;
    let received = statuses
        .iter()
        .filter(|s| s["state"] == "received" && s["duplicate"] != true)
        .count();
    assert_eq!(received, 1);
    wait_for_printed(RAW_QUEUE, marker.as_bytes(), LIMIT).await?;
    agent.settle(LIMIT).await?;
    assert_eq!(count_printed(RAW_QUEUE, marker.as_bytes()), 1);
    Ok(())
}

#[tokio::test]
async fn a_job_the_spooler_aborts_is_reported_failed_not_completed() -> Result<()> {
    let (server, _agent, client_id) = connected_agent(FAILING_QUEUE, "abort").await?;
    let job_id = unique_marker("aborted");
    server
        .emit_jobs(&client_id, &[raw_job(&job_id, b"never printed")], 1)
        .await?;
    let statuses = until_job_state(&server, &client_id, &job_id, "failed").await?;
    let states = states_of(&statuses);
    assert_eq!(states, ["received", "spooled", "failed"]);
    assert_eq!(
        statuses[2]["error"]["code"], "print_failed",
        "{}",
        statuses[2]
    );
    Ok(())
}

#[tokio::test]
async fn bad_payloads_get_their_codes_and_good_jobs_still_print() -> Result<()> {
    let (server, mut agent, client_id) = connected_agent(RAW_QUEUE, "bad").await?;
    let id = |name: &str| format!("{client_id}-{name}");
    let cases = [
        (
            json!({"jobId": id("types"), "contentType": "text", "content": 42}),
            "missing_content",
        ),
        (
            json!({"jobId": id("b64"), "contentType": "raw_base64", "content": "@@not base64@@"}),
            "invalid_content",
        ),
        (
            json!({"jobId": id("kind"), "contentType": "docx", "content": "x"}),
            "unsupported_content_type",
        ),
        (
            json!({"jobId": id("zero"), "contentType": "text", "content": "x", "copies": 0}),
            "invalid_copies",
        ),
        (
            json!({"jobId": id("many"), "contentType": "text", "content": "x", "copies": 100000}),
            "invalid_copies",
        ),
        (
            json!({"jobId": id("printer"), "contentType": "text", "content": "x", "printer": "NoSuchQueue"}),
            "printer_not_allowed",
        ),
        (
            json!({"jobId": id("expired"), "contentType": "text", "content": "x", "expiresAt": "2001-01-01T00:00:00Z"}),
            "expired",
        ),
        (
            json!({"jobId": id("nested"), "contentType": "text", "content": {"a": [[[[{"b": null}]]]]}}),
            "missing_content",
        ),
        (
            json!({"jobId": id("huge-string"), "contentType": "text", "content": "x", "title": "t".repeat(1_000_000)}),
            "",
        ),
    ];
    let payloads: Vec<Value> = cases.iter().map(|(p, _)| p.clone()).collect();
    // Payloads without a readable id: they are rejected under a local id.
    let anonymous = [
        json!("not an object"),
        json!(12),
        json!(null),
        json!([1, {"jobId": 3}]),
        json!({"jobId": ["x"]}),
    ];
    server.emit_jobs(&client_id, &payloads, 1).await?;
    server.emit_jobs(&client_id, &anonymous, 1).await?;
    server.emit_big_job(&client_id, &id("100mb"), 100).await?;

    let good = unique_marker("still printing");
    server
        .emit_jobs(&client_id, &[raw_job(&good, good.as_bytes())], 1)
        .await?;
    wait_for_printed(RAW_QUEUE, good.as_bytes(), LIMIT).await?;

    let statuses = server
        .wait_for_statuses(&client_id, LIMIT, |s| {
            let last = final_states(s);
            last.contains_key(&id("100mb")) && last.get(&good).is_some_and(|st| st == "completed")
        })
        .await?;
    let last = final_states(&statuses);
    let codes: HashMap<&str, &str> = statuses
        .iter()
        .filter_map(|s| Some((s["jobId"].as_str()?, s["error"]["code"].as_str()?)))
        .collect();
    for (payload, code) in &cases {
        let job_id = payload["jobId"].as_str().unwrap_or_default();
        if code.is_empty() {
            // A long title is cut, not refused.
            assert_eq!(
                last.get(job_id).map(String::as_str),
                Some("completed"),
                "{job_id}"
            );
            continue;
        }
        assert_eq!(codes.get(job_id).copied(), Some(*code), "{job_id}");
    }
    assert_eq!(
        codes.get(id("100mb").as_str()).copied(),
        Some("content_too_large")
    );
    let anonymous_rejections = statuses
        .iter()
        .filter(|s| {
            s["jobId"].as_str().is_some_and(|j| j.starts_with("local-")) && s["state"] == "rejected"
        })
        .count();
    assert_eq!(anonymous_rejections, anonymous.len());
    assert!(
        agent.process.child.try_wait()?.is_none(),
        "the agent is still running"
    );
    // The connection held through all of it: read the agent's events up to the good
    // job's completion, and no connection event may follow the first `connected`.
    agent
        .wait_for(LIMIT, "the good job completed", |e| {
            e["type"] == "job"
                && e["payload"]["jobId"] == good
                && e["payload"]["state"] == "completed"
        })
        .await?;
    let connection: Vec<&Value> = agent
        .seen
        .iter()
        .filter(|e| e["type"] == "connection")
        .map(|e| &e["payload"]["state"])
        .collect();
    let connected_at = connection
        .iter()
        .position(|s| *s == "connected")
        .ok_or_else(|| anyhow::anyhow!("never connected: {connection:?}"))?;
    assert_eq!(
        connection.len(),
        connected_at + 1,
        "the connection changed after the bad payloads: {connection:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_paused_queue_keeps_the_job_spooled_until_resumed() -> Result<()> {
    let (server, _agent, client_id) = connected_agent(PAUSABLE_QUEUE, "paused").await?;
    let paused = PausedQueue::pause(PAUSABLE_QUEUE)?;
    let marker = unique_marker("paused");
    server
        .emit_jobs(&client_id, &[raw_job(&marker, marker.as_bytes())], 1)
        .await?;
    until_job_state(&server, &client_id, &marker, "spooled").await?;
    // Held by the spooler: nothing may come out, and the state must not move on.
    let early = wait_for_printed(PAUSABLE_QUEUE, marker.as_bytes(), Duration::from_secs(2)).await;
    let still = final_states(&server.statuses(&client_id).await?);
    paused.resume()?;
    assert!(early.is_err(), "printed while the queue was paused");
    assert_eq!(still.get(&marker).map(String::as_str), Some("spooled"));

    until_job_state(&server, &client_id, &marker, "completed").await?;
    wait_for_printed(PAUSABLE_QUEUE, marker.as_bytes(), LIMIT).await?;
    Ok(())
}

/// A disabled CUPS queue, enabled again when dropped, so that a test failing midway
/// does not leave the queue paused for every later test.
/// A server's `cancel_job` reaches a job the spooler holds (its printer is off): CUPS
/// cancels it, the agent reports `cancelled`, and nothing of it comes out once the printer
/// is back. A `cancel_job` for a job that already printed changes nothing.
#[tokio::test]
async fn a_server_cancels_a_job_the_spooler_holds_and_not_one_that_printed() -> Result<()> {
    const QUEUE: &str = "PrintRelayCancel";
    cups(&["cancel", "-a", QUEUE])?;
    let (server, _agent, client_id) = connected_agent(QUEUE, "cancel").await?;
    let printed = unique_marker("printed before");
    server
        .emit_jobs(&client_id, &[raw_job(&printed, printed.as_bytes())], 1)
        .await?;
    until_job_state(&server, &client_id, &printed, "completed").await?;

    let held = PausedQueue::pause(QUEUE)?;
    let doomed = unique_marker("cancel me");
    server
        .emit_jobs(&client_id, &[raw_job(&doomed, doomed.as_bytes())], 1)
        .await?;
    until_job_state(&server, &client_id, &doomed, "spooled").await?;
    server
        .emit_event(&client_id, "cancel_job", json!({"jobId": doomed}))
        .await?;
    server
        .emit_event(&client_id, "cancel_job", json!({"jobId": printed}))
        .await?;
    until_job_state(&server, &client_id, &doomed, "cancelled").await?;
    held.resume()?;

    // CUPS prints in order: once a later job is out, the cancelled one would be too.
    let after = unique_marker("after the cancel");
    server
        .emit_jobs(&client_id, &[raw_job(&after, after.as_bytes())], 1)
        .await?;
    let statuses = until_job_state(&server, &client_id, &after, "completed").await?;
    wait_for_printed(QUEUE, after.as_bytes(), LIMIT).await?;
    assert_eq!(
        count_printed(QUEUE, doomed.as_bytes()),
        0,
        "the cancelled job printed"
    );
    assert_eq!(
        final_states(&statuses).get(&printed).map(String::as_str),
        Some("completed"),
        "a finished job stays as it is"
    );
    Ok(())
}

/// The history keeps the newest `historyLimit` finished jobs: older ones, and their
/// documents, are gone after the next start.
#[tokio::test]
async fn the_history_keeps_the_newest_finished_jobs() -> Result<()> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker("history");
    let home = AgentHome::new()?;
    std::fs::create_dir_all(home.path().join("config"))?;
    std::fs::write(
        home.path().join("config").join("settings.json"),
        serde_json::to_vec(&json!({"clientId": client_id, "historyLimit": 3}))?,
    )?;
    let mut agent = Agent::start_in(&home, &server.url(), &client_id, RAW_QUEUE, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let ids: Vec<String> = (0..5)
        .map(|i| unique_marker(&format!("history-{i}")))
        .collect();
    for id in &ids {
        server
            .emit_jobs(&client_id, &[raw_job(id, id.as_bytes())], 1)
            .await?;
        until_job_state(&server, &client_id, id, "completed").await?;
    }
    drop(agent);

    let mut agent = Agent::start_in(&home, &server.url(), &client_id, RAW_QUEUE, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let db = rusqlite::Connection::open(home.database())?;
    let kept: Vec<String> = db
        .prepare("SELECT job_id FROM jobs ORDER BY received_at, rowid")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    assert_eq!(kept, ids[2..], "the newest three");
    let documents: i64 = db.query_row("SELECT count(*) FROM documents", [], |row| row.get(0))?;
    assert_eq!(documents, 3, "their documents only");
    Ok(())
}

/// `refresh_printers` from the server: the agent sends its printers again.
#[tokio::test]
async fn refresh_printers_sends_the_printer_list_again() -> Result<()> {
    let (server, _agent, client_id) = connected_agent(RAW_QUEUE, "refresh").await?;
    let infos = |count: usize| {
        let (server, client_id) = (&server, &client_id);
        async move {
            let deadline = tokio::time::Instant::now() + LIMIT;
            loop {
                let infos = server.client_infos(client_id).await?;
                if infos.len() >= count {
                    return Ok::<_, anyhow::Error>(infos);
                }
                ensure!(
                    tokio::time::Instant::now() < deadline,
                    "{} client_info, not {count}",
                    infos.len()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let before = infos(1).await?.len();
    server
        .emit_event(&client_id, "refresh_printers", Value::Null)
        .await?;
    let after = infos(before + 1).await?;
    let latest = &after[before];
    assert_eq!(latest["selectedPrinter"], RAW_QUEUE, "{latest}");
    assert!(
        latest["printers"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["systemName"] == RAW_QUEUE)),
        "{latest}"
    );
    Ok(())
}

const MIB: u64 = 1024 * 1024;

/// Memory stays bounded whatever the server sends: a job whose frame is at the cap the
/// agent takes (documents of `maxJobBytes`, 64 MiB) peaks the agent under three times
/// that frame, and 1,000 jobs of 1 MiB sent at once behind a printer that is off wait on
/// disk with the agent under 100 MiB. (Before: a 50 MB frame took the agent to 855 MB.)
#[tokio::test]
async fn big_jobs_and_backlogs_stay_in_bounded_memory() -> Result<()> {
    cups(&["cancel", "-a", HELD_QUEUE])?;
    let held = PausedQueue::pause(HELD_QUEUE)?;
    let frame_cap =
        printrelay_agent::connection::frame_cap(printrelay_agent::protocol::DEFAULT_MAX_JOB_BYTES);

    // 85 MiB of base64 in one frame: a document of 63.75 MiB, just under the cap.
    let (server, agent, client_id) = connected_agent(HELD_QUEUE, "at-cap").await?;
    let at_cap = unique_marker("at-cap");
    server.emit_big_job(&client_id, &at_cap, 85).await?;
    until_job_state(&server, &client_id, &at_cap, "spooled").await?;
    let peak = peak_rss_kib(agent.process.pid()?)? * 1024;
    eprintln!(
        "a job at the cap: frame 85.0 MiB (cap {:.1} MiB), agent peak RSS {:.1} MiB (bound {:.1} MiB)",
        frame_cap as f64 / MIB as f64,
        peak as f64 / MIB as f64,
        (3 * frame_cap) as f64 / MIB as f64
    );
    ensure!(
        peak < 3 * frame_cap,
        "the agent peaked at {peak} bytes for a frame at the cap of {frame_cap}"
    );
    drop(agent);

    // The server queues 1 GiB on the socket at once, its pings behind it: with the usual
    // ping timeout it would drop the agent before the agent could read that far.
    let server = OriginalServer::start(600_000, 600_000).await?;
    let client_id = unique_marker("backlog");
    let mut agent = Agent::start(&server.url(), &client_id, HELD_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let prefix = unique_marker("backlog");
    let started = std::time::Instant::now();
    server.emit_many(&client_id, &prefix, 1000, 1024).await?;
    let statuses = server
        .wait_for_statuses(&client_id, Duration::from_secs(240), |s| {
            final_states(s).len() == 1000
        })
        .await?;
    let states = final_states(&statuses);
    let received = states.values().filter(|s| *s == "received").count();
    let spooled = states.values().filter(|s| *s == "spooled").count();
    let peak = peak_rss_kib(agent.process.pid()?)? * 1024;
    eprintln!(
        "a backlog of 1,000 x 1 MiB behind a stopped printer: {spooled} in the spooler, {received} waiting in the agent after {:.1} s; agent peak RSS {:.1} MiB (bound 100 MiB)",
        started.elapsed().as_secs_f64(),
        peak as f64 / MIB as f64
    );
    ensure!(
        received + spooled == 1000 && received >= 800,
        "jobs should wait in the agent: {received} received, {spooled} spooled"
    );
    ensure!(
        peak < 100 * MIB,
        "the agent peaked at {peak} bytes with the backlog"
    );
    drop(agent);
    cups(&["cancel", "-a", HELD_QUEUE])?;
    held.resume()
}

#[tokio::test]
async fn a_crash_during_a_burst_prints_every_job_exactly_once() -> Result<()> {
    const JOBS: usize = 200;
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker("crash");
    let home = AgentHome::new()?;
    let mut agent = Agent::start_in(&home, &server.url(), &client_id, RAW_QUEUE, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;

    let ids: Vec<String> = (0..JOBS).map(|i| format!("{client_id}-{i:03}")).collect();
    let jobs: Vec<Value> = ids
        .iter()
        .map(|id| raw_job(id, format!("[{id}]").as_bytes()))
        .collect();
    let seed = printrelay_e2e::test_seed()?;
    // Printed so that a failing run can be replayed with PRINTRELAY_TEST_SEED.
    println!("PRINTRELAY_TEST_SEED={seed}");
    let kill_after = 20 + (seed % 160) as usize;
    server.emit_jobs(&client_id, &jobs, 1).await?;
    let mut received = 0;
    while received < kill_after {
        agent.wait_for_job("received", LIMIT).await?;
        received += 1;
    }
    agent.process.signal("KILL")?;
    let _ = agent.process.child.wait().await;
    println!("killed the agent after {kill_after} received jobs");

    let mut agent = Agent::start_in(&home, &server.url(), &client_id, RAW_QUEUE, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    // The server delivers everything again, as a hub does for jobs it has no status of.
    server.replay(&client_id).await?;

    let statuses = server
        .wait_for_statuses(&client_id, Duration::from_secs(120), |s| {
            let last = final_states(s);
            ids.iter()
                .all(|id| last.get(id).is_some_and(|st| st == "completed"))
        })
        .await?;
    for id in &ids {
        assert_eq!(
            count_printed(RAW_QUEUE, format!("[{id}]").as_bytes()),
            1,
            "{id} printed once"
        );
    }
    println!("{} statuses for {JOBS} jobs", statuses.len());
    Ok(())
}

#[tokio::test]
async fn a_pdf_job_comes_out_of_a_pdf_printer_with_its_pages() -> Result<()> {
    let (server, _agent, client_id) = connected_agent("PrintRelayPDF", "pdf").await?;
    let job_id = unique_marker("pdf");
    let pdf = printrelay_e2e::make_pdf("PrintRelay", 3);
    let job = json!({"jobId": job_id, "contentType": "pdf_base64", "content": b64(&pdf), "title": "three pages"});
    server.emit_jobs(&client_id, &[job], 1).await?;
    until_job_state(&server, &client_id, &job_id, "completed").await?;
    // cups-pdf names its output after the job name, which carries the job id.
    let id_part = job_id.split('-').next_back().unwrap_or_default();
    let path = printrelay_e2e::wait_for_pdf("PrintRelayPDF", id_part, LIMIT).await?;
    let info = std::process::Command::new("pdfinfo").arg(&path).output()?;
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.trim_end().ends_with(" 3")),
        "{info}"
    );
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()?;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("PrintRelay page 2"), "{text}");
    Ok(())
}

#[tokio::test]
async fn chinese_and_english_text_is_laid_out_as_real_text_on_a_pdf_printer() -> Result<()> {
    const QUEUE: &str = "PrintRelayPDFOut";
    let (server, _agent, client_id) = connected_agent(QUEUE, "text").await?;
    let job_id = unique_marker("text");
    let lines = [
        "PrintRelay invoice 42",
        "打印测试：发票编号 42",
        "Total 合计 ¥128.00",
    ];
    let long_line = "wrap ".repeat(40);
    let text = format!("{}\n{long_line}\n", lines.join("\n"));
    let job = json!({"jobId": job_id, "contentType": "text", "content": text});
    server.emit_jobs(&client_id, &[job], 1).await?;
    until_job_state(&server, &client_id, &job_id, "completed").await?;
    let output = printrelay_e2e::wait_for_job_output(QUEUE, &job_id, LIMIT).await?;
    // The driver wraps the PDF in a PJL job header, as it would for a real printer.
    let start = output.windows(5).position(|w| w == b"%PDF-");
    let pdf = &output[start.ok_or_else(|| anyhow::anyhow!("the printer received no PDF"))?..];
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("out.pdf");
    std::fs::write(&path, pdf)?;
    let extracted = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()?;
    let extracted = String::from_utf8_lossy(&extracted.stdout);
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    for line in lines {
        assert!(
            squeeze(&extracted).contains(&squeeze(line)),
            "{line:?} not in the PDF text:\n{extracted}"
        );
    }
    // The long line wrapped onto more than one line of the page.
    let wrapped = extracted.lines().filter(|l| l.contains("wrap")).count();
    assert!(wrapped >= 2, "{extracted}");
    Ok(())
}

#[tokio::test]
async fn documents_by_uri_are_fetched_and_bad_ones_fail_with_their_codes() -> Result<()> {
    let (server, _agent, client_id) = connected_agent(RAW_QUEUE, "uri").await?;
    let marker = unique_marker("fetched");
    let good =
        printrelay_e2e::serve_bytes(200, format!("^XA^FD{marker}^FS^XZ").into_bytes()).await?;
    let missing = printrelay_e2e::serve_bytes(404, b"not here".to_vec()).await?;
    let not_pdf = printrelay_e2e::serve_bytes(200, b"<html>".to_vec()).await?;
    let id = |name: &str| format!("{client_id}-{name}");
    let jobs = [
        json!({"jobId": id("raw"), "contentType": "raw_uri", "content": format!("{good}/label.zpl")}),
        json!({"jobId": id("404"), "contentType": "raw_uri", "content": format!("{missing}/x")}),
        json!({"jobId": id("html"), "contentType": "pdf_uri", "content": format!("{not_pdf}/a.pdf")}),
        // The server's host (127.0.0.1) is admitted; nothing listens on port 9.
        json!({"jobId": id("closed"), "contentType": "pdf_uri", "content": "http://127.0.0.1:9/a.pdf"}),
    ];
    server.emit_jobs(&client_id, &jobs, 1).await?;
    let statuses = server
        .wait_for_statuses(&client_id, LIMIT, |s| {
            let last = final_states(s);
            last.get(&id("raw")).is_some_and(|st| st == "completed")
                && last.len() == 4
                && last.values().all(|st| st != "received" && st != "spooled")
        })
        .await?;
    let codes: HashMap<&str, &str> = statuses
        .iter()
        .filter_map(|s| Some((s["jobId"].as_str()?, s["error"]["code"].as_str()?)))
        .collect();
    assert_eq!(codes.get(id("404").as_str()).copied(), Some("fetch_failed"));
    assert_eq!(
        codes.get(id("html").as_str()).copied(),
        Some("invalid_content")
    );
    assert_eq!(
        codes.get(id("closed").as_str()).copied(),
        Some("fetch_failed")
    );
    // The server learns nothing about which ports are open: no OS error text.
    let messages: HashMap<&str, &str> = statuses
        .iter()
        .filter_map(|s| Some((s["jobId"].as_str()?, s["error"]["message"].as_str()?)))
        .collect();
    assert_eq!(
        messages.get(id("closed").as_str()).copied(),
        Some("the document could not be fetched")
    );
    assert_eq!(
        messages.get(id("404").as_str()).copied(),
        Some("the document server answered HTTP 404")
    );
    let printed = wait_for_printed(RAW_QUEUE, marker.as_bytes(), LIMIT).await?;
    assert_eq!(printed, format!("^XA^FD{marker}^FS^XZ").into_bytes());
    Ok(())
}

/// A server that emits `print` with a Buffer in it (a Socket.IO binary event): the bytes
/// print raw, byte for byte (every byte value), as `printData` and as a v1 job's
/// `content`; the server hears `completed`, and the connection goes on printing.
#[tokio::test]
async fn a_job_sent_as_binary_prints_byte_exact_and_the_connection_goes_on() -> Result<()> {
    let (server, mut agent, client_id) = connected_agent(RAW_QUEUE, "binary").await?;
    let sid = agent
        .seen
        .iter()
        .rev()
        .find_map(|e| e["payload"]["sid"].as_str().map(str::to_owned));
    let mut spool = SpoolWatch::new(RAW_QUEUE);
    let mut expected = Vec::new();
    for (suffix, content_type) in [("buffer", None), ("v1-buffer", Some("raw_base64"))] {
        let job_id = format!("{client_id}-{suffix}");
        // A marker to find the job by, then all 256 byte values, ESC/POS's NUL and ESC too.
        let mut bytes = unique_marker(suffix).into_bytes();
        bytes.extend(0..=255u8);
        server
            .emit_binary_job(&client_id, &job_id, &bytes, content_type)
            .await?;
        expected.push((job_id, bytes));
    }
    for (job_id, bytes) in &expected {
        let statuses = server
            .wait_for_statuses(&client_id, LIMIT, |s| {
                s.iter()
                    .any(|x| x["jobId"] == job_id.as_str() && x["state"] == "completed")
            })
            .await?;
        ensure!(
            !statuses
                .iter()
                .any(|x| x["jobId"] == job_id.as_str() && x["state"] == "rejected"),
            "{statuses:?}"
        );
        let deadline = tokio::time::Instant::now() + LIMIT;
        while !spool.outputs.contains(bytes) {
            ensure!(
                tokio::time::Instant::now() < deadline,
                "{job_id} did not come out byte for byte"
            );
            spool.poll();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let good = unique_marker("after the buffer");
    server
        .emit_jobs(&client_id, &[raw_job(&good, good.as_bytes())], 1)
        .await?;
    wait_for_printed(RAW_QUEUE, good.as_bytes(), LIMIT).await?;
    // Reads the agent's events until it is quiet: every connection state is in `seen`.
    agent.settle(LIMIT).await?;
    let reconnected = agent
        .seen
        .iter()
        .filter(|e| e["type"] == "connection" && e["payload"]["state"] == "connected")
        .filter_map(|e| e["payload"]["sid"].as_str())
        .any(|s| Some(s) != sid.as_deref());
    assert!(!reconnected, "the connection was kept");
    Ok(())
}

/// The agent died inside a submission, between CUPS' Create-Job and Send-Document: CUPS
/// holds a job of that name with no document (`job-incoming`), which would never print.
/// The restarted agent, finding it, cancels it and prints the job: once, and completed.
#[tokio::test]
async fn a_submission_cut_off_by_a_crash_is_printed_again_once() -> Result<()> {
    let home = AgentHome::new()?;
    let job_id = unique_marker("cut-off");
    let marker = unique_marker("cut off submission");
    // What the killed agent left in its store: the job, marked as being submitted.
    {
        let mut store = printrelay_agent::store::Store::open(&home.path().join("data/agent.db"))?;
        let job = printrelay_agent::protocol::parse_print(
            raw_job(&job_id, marker.as_bytes()),
            printrelay_agent::protocol::Limits::default(),
        )
        .map_err(|rejected| anyhow::anyhow!("{rejected:?}"))?;
        store.insert_all(&[(job, None)], 1)?;
        store.mark_submit_started(&job_id, RAW_QUEUE, 2)?;
    }
    // ... and what CUPS kept of the submission: a job of its name without a document.
    let test = std::env::temp_dir().join(format!("{job_id}.test"));
    std::fs::write(
        &test,
        format!(
            "{{\n NAME \"Create-Job only\"\n OPERATION create-job\n GROUP operation\n ATTR charset attributes-charset utf-8\n ATTR language attributes-natural-language en\n ATTR uri printer-uri $uri\n ATTR name requesting-user-name $user\n ATTR name job-name printrelay:{job_id}\n STATUS successful-ok\n}}\n"
        ),
    )?;
    let created = std::process::Command::new("ipptool")
        .arg(format!("ipp://localhost/printers/{RAW_QUEUE}"))
        .arg(&test)
        .status()?;
    std::fs::remove_file(&test)?;
    ensure!(created.success(), "ipptool create-job: {created}");

    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker("cut-off-pc");
    let mut agent = Agent::start_in(&home, &server.url(), &client_id, RAW_QUEUE, &[]).await?;
    let completed = agent.wait_for(LIMIT, "completed", |e| {
        e["type"] == "job"
            && e["payload"]["jobId"] == job_id.as_str()
            && e["payload"]["state"] == "completed"
    });
    completed.await?;
    agent.settle(LIMIT).await?;
    assert_eq!(
        count_printed(RAW_QUEUE, marker.as_bytes()),
        1,
        "printed once"
    );
    Ok(())
}
