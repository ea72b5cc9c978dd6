//! PrintRelay's hub with the real headless agent and CUPS: the JSON API, the original
//! endpoints, queueing for offline agents, and a hub restart with jobs waiting.

use std::time::Duration;

use anyhow::Result;
use base64::Engine as _;
use printrelay_e2e::raw_client::RawClient;
use printrelay_e2e::{
    count_printed, http_client, http_get, unique_marker, wait_for_printed, wait_until_listed,
    Agent, EventStream, Hub, PausedQueue, RAW_QUEUE, START_PRINT_ACCEPTED, START_PRINT_UNKNOWN,
};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(30);

fn raw_job(client_id: &str, job_id: &str, text: &str) -> Value {
    json!({
        "clientId": client_id, "jobId": job_id, "contentType": "raw_base64",
        "content": base64::engine::general_purpose::STANDARD.encode(text),
    })
}

#[tokio::test]
async fn a_submitted_job_is_printed_and_completed_is_visible_to_the_sender() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("hubpc");
    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;

    let job_id = unique_marker("inv");
    let marker = unique_marker("hub job");
    let (status, body) = hub.submit(&raw_job(&client_id, &job_id, &marker)).await?;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["jobId"], job_id.as_str());
    // Idempotent: the same id again is the same job.
    let (again, _) = hub.submit(&raw_job(&client_id, &job_id, &marker)).await?;
    assert_eq!(again, 202);

    let job = hub.wait_for_job_state(&job_id, "completed", LIMIT).await?;
    let states: Vec<&str> = job["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["state"].as_str())
        .collect();
    assert_eq!(states, ["received", "spooled", "completed"], "{job}");
    wait_for_printed(RAW_QUEUE, marker.as_bytes(), LIMIT).await?;
    agent.settle(LIMIT).await?;
    assert_eq!(count_printed(RAW_QUEUE, marker.as_bytes()), 1);

    // The agent's heartbeat is acked by the hub: RTT shows up.
    agent
        .wait_for(LIMIT, "an RTT", |e| {
            e["type"] == "heartbeat" && e["payload"]["rttMs"].is_u64()
        })
        .await?;
    let client: Value = http_get(format!("{}/api/v1/clients/{client_id}", hub.url()))
        .await?
        .json()
        .await?;
    assert_eq!(client["connected"], true, "{client}");
    assert!(
        client["info"]["printers"].is_array(),
        "client_info stored: {client}"
    );
    Ok(())
}

#[tokio::test]
async fn job_states_and_client_changes_arrive_as_server_sent_events_and_in_json_logs() -> Result<()>
{
    let db = tempfile::tempdir()?;
    let json_logs = ["--log-format", "json"];
    let hub = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &json_logs).await?;
    let client_id = unique_marker("ssepc");
    let mut events = EventStream::open(&hub.url(), &format!("clientId={client_id}")).await?;
    // Another client's events are filtered out of this subscription.
    let mut other = EventStream::open(&hub.url(), "clientId=nobody").await?;

    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    let online = events
        .wait_for(LIMIT, "client", |c| c["connected"] == true)
        .await?;
    assert_eq!(online["clientId"], client_id.as_str(), "{online}");
    assert!(online["at"].is_u64(), "{online}");

    let job_id = unique_marker("ssejob");
    let marker = unique_marker("sse job");
    let mut one_job = EventStream::open(&hub.url(), &format!("jobId={job_id}")).await?;
    let (status, _) = hub.submit(&raw_job(&client_id, &job_id, &marker)).await?;
    assert_eq!(status, 202);
    let completed = events
        .wait_for(LIMIT, "job", |j| {
            j["jobId"] == job_id.as_str() && j["state"] == "completed"
        })
        .await?;
    assert_eq!(completed["clientId"], client_id.as_str());
    let states: Vec<Value> = events
        .seen
        .iter()
        .filter(|(name, data)| name == "job" && data["jobId"] == job_id.as_str())
        .map(|(_, data)| data["state"].clone())
        .collect();
    assert_eq!(
        states,
        ["queued", "delivered", "received", "spooled", "completed"],
        "each state once, in order"
    );
    one_job
        .wait_for(LIMIT, "job", |j| j["state"] == "completed")
        .await?;
    assert!(
        one_job
            .seen
            .iter()
            .all(|(name, data)| name == "job" && data["jobId"] == job_id.as_str()),
        "{:?}",
        one_job.seen
    );
    wait_for_printed(RAW_QUEUE, marker.as_bytes(), LIMIT).await?;
    assert_eq!(count_printed(RAW_QUEUE, marker.as_bytes()), 1);

    agent.process.child.kill().await?;
    events
        .wait_for(LIMIT, "client", |c| c["connected"] == false)
        .await?;
    // The same changes, one JSON log line each (logged before they are streamed).
    let logs = hub.json_logs()?;
    let job_lines: Vec<&Value> = logs
        .iter()
        .filter(|l| l["message"] == "job state" && l["job"] == job_id.as_str())
        .collect();
    assert_eq!(job_lines.len(), 5, "{job_lines:#?}");
    assert!(job_lines.iter().all(|l| l["client"] == client_id.as_str()
        && l["level"] == "INFO"
        && l["timestamp"].is_string()));
    assert_eq!(job_lines[4]["state"], "completed");
    for (connected, message) in [(true, "client online"), (false, "client offline")] {
        assert!(
            logs.iter().any(|l| l["message"] == message
                && l["client"] == client_id.as_str()
                && l["connected"] == connected
                && l["socketId"].is_string()),
            "no '{message}' line in {logs:#?}"
        );
    }

    // A marker for the other stream: everything it saw so far belonged to `nobody`.
    let nobody = unique_marker("nobody-job");
    hub.submit(&raw_job("nobody", &nobody, "x")).await?;
    let queued = other
        .wait_for(LIMIT, "job", |j| j["jobId"] == nobody.as_str())
        .await?;
    assert_eq!(queued["state"], "queued");
    assert_eq!(other.seen.len(), 1, "{:?}", other.seen);
    Ok(())
}

#[tokio::test]
async fn the_original_endpoints_work_against_the_hub() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("orig");
    let unknown: Value = http_get(format!(
        "{}/startPrint?clientId={client_id}&printData=x",
        hub.url()
    ))
    .await?
    .json()
    .await?;
    assert_eq!(unknown, json!({"message": START_PRINT_UNKNOWN}));

    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    // The hub handles `register` on its own task: poll its status page, as a sender would.
    wait_until_listed(&hub.url(), &client_id, LIMIT).await?;

    let text = unique_marker("start print 打印");
    let url = reqwest::Url::parse_with_params(
        &format!("{}/startPrint", hub.url()),
        [
            ("clientId", client_id.as_str()),
            ("printData", text.as_str()),
        ],
    )?;
    let sent: Value = http_get(url).await?.json().await?;
    assert_eq!(sent["message"], START_PRINT_ACCEPTED, "{sent}");
    let job_id = sent["jobId"].as_str().unwrap_or_default().to_owned();
    hub.wait_for_job_state(&job_id, "completed", LIMIT).await?;
    let printed = wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    assert_eq!(printed, text.as_bytes());
    Ok(())
}

/// The original web client (socket.io-client 4 in node, long-polling then websocket)
/// registers with the hub and gets `/startPrint` jobs in the original `{printData}` shape.
#[tokio::test]
async fn an_original_browser_client_is_listed_and_gets_start_print_jobs() -> Result<()> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("browser");
    let script = printrelay_e2e::repo_root().join("tests/node/browser-client.js");
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .args(["--url", &hub.url(), "--client-id", &client_id])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut prints = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
    )
    .lines();
    let listed = wait_until_listed(&hub.url(), &client_id, LIMIT).await?;
    assert!(listed["socketId"].is_string(), "{listed}");

    for text in [unique_marker("browser print"), "第二张 second".to_owned()] {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/startPrint", hub.url()),
            [
                ("clientId", client_id.as_str()),
                ("printData", text.as_str()),
            ],
        )?;
        let sent: Value = http_get(url).await?.json().await?;
        assert_eq!(sent["message"], START_PRINT_ACCEPTED, "{sent}");
        let line = tokio::time::timeout(LIMIT, prints.next_line())
            .await??
            .ok_or_else(|| anyhow::anyhow!("the browser client exited"))?;
        let payload: Value = serde_json::from_str(&line)?;
        assert_eq!(payload["printData"], text.as_str(), "{payload}");
        // It never reports back: the hub shows the job as delivered.
        let job = hub.job(sent["jobId"].as_str().unwrap_or_default()).await?;
        assert_eq!(job.map(|j| j["state"].clone()), Some(json!("delivered")));
    }
    Ok(())
}

#[tokio::test]
async fn jobs_for_an_offline_agent_wait_and_survive_a_hub_restart() -> Result<()> {
    let db = tempfile::tempdir()?;
    offline_jobs_survive_a_restart(&db.path().join("hub.db")).await
}

/// The same with the hub's store in PostgreSQL (`--db postgres://...`).
#[tokio::test]
async fn on_postgresql_jobs_for_an_offline_agent_wait_and_survive_a_hub_restart() -> Result<()> {
    let Some(url) = printrelay_e2e::postgres::fresh_database("hub-restart")? else {
        return Ok(());
    };
    offline_jobs_survive_a_restart(std::path::Path::new(&url)).await
}

/// Jobs for an offline PC wait, are listed, survive the hub's restart on database `db`
/// (a file, or a PostgreSQL URL), and print once each when the PC comes.
async fn offline_jobs_survive_a_restart(db_path: &std::path::Path) -> Result<()> {
    let hub = Hub::start(db_path, 2_000, 1_000).await?;
    let client_id = unique_marker("offline");
    let markers: Vec<String> = (0..3)
        .map(|i| unique_marker(&format!("queued-{i}")))
        .collect();
    for (i, marker) in markers.iter().enumerate() {
        let (status, body) = hub
            .submit(&raw_job(&client_id, &format!("{client_id}-{i}"), marker))
            .await?;
        assert_eq!((status, body["state"].clone()), (202, json!("queued")));
    }
    // The sender can list what waits for this PC.
    let url = format!(
        "{}/api/v1/jobs?clientId={client_id}&state=queued",
        hub.url()
    );
    let listed: Value = http_get(url).await?.json().await?;
    assert_eq!(listed["jobs"].as_array().map(Vec::len), Some(3), "{listed}");
    assert_eq!(
        listed["jobs"][0]["jobId"],
        format!("{client_id}-2"),
        "newest first"
    );
    let url = format!(
        "{}/api/v1/jobs?clientId={client_id}&limit=1&offset=1",
        hub.url()
    );
    let page: Value = http_get(url).await?.json().await?;
    assert_eq!(page["jobs"][0]["jobId"], format!("{client_id}-1"), "{page}");

    // The hub goes down and comes back with the same database.
    let mut process = hub.process;
    process.child.kill().await?;
    let hub = Hub::start(db_path, 2_000, 1_000).await?;
    assert_eq!(
        hub.job(&format!("{client_id}-0"))
            .await?
            .map(|j| j["state"].clone()),
        Some(json!("queued"))
    );

    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    each_completed_and_printed_once(&hub, &client_id, &markers).await
}

/// SIGTERM: the hub stops accepting, finishes a request whose body is still arriving,
/// ends event streams, closes agents' sockets, and exits 0; restarted on the same
/// database it delivers every queued job, each printed exactly once.
#[tokio::test]
async fn sigterm_finishes_requests_and_loses_no_queued_job() -> Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    let db = tempfile::tempdir()?;
    let db_path = db.path().join("hub.db");
    let mut hub = Hub::start(&db_path, 2_000, 1_000).await?;
    let offline_id = unique_marker("sigterm");
    let markers: Vec<String> = (0..4)
        .map(|i| unique_marker(&format!("term-{i}")))
        .collect();
    for (i, marker) in markers.iter().enumerate().take(3) {
        let (status, _) = hub
            .submit(&raw_job(&offline_id, &format!("{offline_id}-{i}"), marker))
            .await?;
        assert_eq!(status, 202);
    }
    // An online agent and an event subscriber: shutdown must not wait for either.
    let mut events = EventStream::open(&hub.url(), "").await?;
    let online_id = unique_marker("online");
    let mut online = Agent::start(&hub.url(), &online_id, RAW_QUEUE).await?;
    events
        .wait_for(LIMIT, "client", |c| c["clientId"] == online_id.as_str())
        .await?;

    // The fourth job is in flight: its head is read (the hub asked for the body with
    // 100 Continue) but its body has not been sent when the signal arrives.
    let body = raw_job(&offline_id, &format!("{offline_id}-3"), &markers[3]).to_string();
    let mut connection = tokio::net::TcpStream::connect(("127.0.0.1", hub.port)).await?;
    let head = format!(
        "POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        hub.port,
        body.len()
    );
    connection.write_all(head.as_bytes()).await?;
    let mut reader = BufReader::new(connection);
    let mut line = String::new();
    tokio::time::timeout(LIMIT, reader.read_line(&mut line)).await??;
    assert!(line.starts_with("HTTP/1.1 100"), "{line}");
    let mut blank = String::new();
    reader.read_line(&mut blank).await?;

    hub.process.signal("TERM")?;
    wait_for_log(&hub, "shutting down").await?;
    reader.get_mut().write_all(body.as_bytes()).await?;
    let mut answer = String::new();
    tokio::time::timeout(LIMIT, reader.read_to_string(&mut answer)).await??;
    assert!(
        answer.starts_with("HTTP/1.1 202"),
        "in-flight request finished: {answer}"
    );

    let exit = tokio::time::timeout(LIMIT, hub.process.child.wait()).await??;
    assert_eq!(exit.code(), Some(0), "clean exit");
    assert!(std::fs::read_to_string(&hub.log)?.contains("hub stopped"));
    // The stream ends (after what was sent before the signal, e.g. `client_info`).
    while let Some(event) = tokio::time::timeout(LIMIT, events.next()).await?? {
        assert_eq!(
            event.0, "client_info",
            "only what came before the signal: {event:?}"
        );
    }
    online.wait_for_state("reconnecting", LIMIT).await?;
    // New connections are refused once it stopped.
    assert!(http_get(format!("{}/healthz", hub.url())).await.is_err());

    let hub = Hub::start(&db_path, 2_000, 1_000).await?;
    let mut agent = Agent::start(&hub.url(), &offline_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    each_completed_and_printed_once(&hub, &offline_id, &markers).await
}

/// Ctrl-C stops the hub as SIGTERM does: a clean exit, its log says so.
#[tokio::test]
async fn sigint_stops_the_hub_cleanly() -> Result<()> {
    let db = tempfile::tempdir()?;
    let mut hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    hub.process.signal("INT")?;
    let exit = tokio::time::timeout(LIMIT, hub.process.child.wait()).await??;
    assert_eq!(exit.code(), Some(0), "clean exit");
    assert!(std::fs::read_to_string(&hub.log)?.contains("hub stopped"));
    Ok(())
}

/// A job that ends while the hub is down (its printer came back meanwhile): the status
/// waits in the agent's outbox and reaches the restarted hub, which shows it completed.
#[tokio::test]
async fn a_status_from_while_the_hub_was_down_arrives_once_it_is_back() -> Result<()> {
    const QUEUE: &str = "PrintRelayHeld";
    let db = tempfile::tempdir()?;
    let db_path = db.path().join("hub.db");
    let mut hub = Hub::start(&db_path, 1_000, 1_000).await?;
    let port = hub.port;
    let client_id = unique_marker("offline-status");
    let flags = [
        "--reconnect-delay-ms",
        "100",
        "--reconnect-delay-max-ms",
        "300",
        "--reconnect-attempts",
        "100",
    ];
    let mut agent = Agent::start_with(&hub.url(), &client_id, QUEUE, &flags).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let held = PausedQueue::pause(QUEUE)?;
    let job_id = unique_marker("while-down");
    let marker = unique_marker("printed while the hub was down");
    hub.submit(&raw_job(&client_id, &job_id, &marker)).await?;
    hub.wait_for_job_state(&job_id, "spooled", LIMIT).await?;

    hub.process.signal("KILL")?;
    hub.process.child.wait().await?;
    agent.wait_for_state("reconnecting", LIMIT).await?;
    held.resume()?;
    agent.wait_for_job("completed", LIMIT).await?;
    wait_for_printed(QUEUE, marker.as_bytes(), LIMIT).await?;

    let hub = Hub::start_at(port, &db_path, 1_000, 1_000, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let job = hub.wait_for_job_state(&job_id, "completed", LIMIT).await?;
    assert_eq!(job["state"], "completed", "{job}");
    agent.settle(LIMIT).await?;
    assert_eq!(count_printed(QUEUE, marker.as_bytes()), 1, "printed once");
    Ok(())
}

/// The status code of `GET url`.
async fn status_of(url: String) -> Result<u16> {
    Ok(http_get(url).await?.status().as_u16())
}

/// Waits until job `<client_id>-<i>` is completed and `markers[i]` printed, and checks
/// that each was printed exactly once.
async fn each_completed_and_printed_once(
    hub: &Hub,
    client_id: &str,
    markers: &[String],
) -> Result<()> {
    for (i, marker) in markers.iter().enumerate() {
        hub.wait_for_job_state(&format!("{client_id}-{i}"), "completed", LIMIT)
            .await?;
        wait_for_printed(RAW_QUEUE, marker.as_bytes(), LIMIT).await?;
        assert_eq!(
            count_printed(RAW_QUEUE, marker.as_bytes()),
            1,
            "{marker} printed once"
        );
    }
    Ok(())
}

/// Connects as a bare Socket.IO client (auth `{clientId, token}`) and emits one event.
async fn raw_socket_io_emit(hub: &Hub, client_id: &str, token: &str, event: &Value) -> Result<()> {
    let auth = json!({"clientId": client_id, "token": token});
    printrelay_e2e::socket_io_emit(hub.port, &auth, event).await
}

/// Waits until the hub's log has a line containing `text`.
async fn wait_for_log(hub: &Hub, text: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !std::fs::read_to_string(&hub.log)?.contains(text) {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no '{text}' in the hub's log"
        );
        // Another process writes the log; poll it.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// 500 simulated agents (printrelay-loadgen) connect at once; the hub counts each online
/// in /getStatus and /api/v1/clients, and each offline once they are gone.
#[tokio::test]
async fn five_hundred_agents_at_once_are_counted_online_then_offline() -> Result<()> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    const AGENTS: usize = 500;
    let db = tempfile::tempdir()?;
    // The original server's ping settings: with 500 sockets on a busy CI machine, a
    // 1 s ping timeout would drop slow-but-alive ones (which the loadgen reports as
    // `dropped`).
    let hub = Hub::start(&db.path().join("hub.db"), 10_000, 5_000).await?;
    let prefix = format!("{}-", unique_marker("load"));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_printrelay-loadgen"))
        .args(["--url", &hub.url(), "--prefix", &prefix])
        .args(["--count", &AGENTS.to_string(), "--hold-secs", "120"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let line = tokio::time::timeout(
        Duration::from_secs(90),
        BufReader::new(stdout).lines().next_line(),
    )
    .await??
    .ok_or_else(|| anyhow::anyhow!("loadgen exited without a report"))?;
    let report: Value = serde_json::from_str(&line)?;
    println!("loadgen: {report}");
    assert_eq!(report["connected"], AGENTS, "{report}");
    assert_eq!(
        (&report["failed"], &report["dropped"]),
        (&json!(0), &json!(0)),
        "{report}"
    );
    assert_eq!(report["listed"], AGENTS, "/getStatus lists all: {report}");

    let online = |clients: &Value| {
        clients["clients"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                c["clientId"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(&prefix))
            })
            .filter(|c| c["connected"] == true)
            .count()
    };
    let clients: Value = hub
        .request(reqwest::Method::GET, "/api/v1/clients")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(online(&clients), AGENTS);

    child.kill().await?;
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let clients: Value = hub
            .request(reqwest::Method::GET, "/api/v1/clients")
            .send()
            .await?
            .json()
            .await?;
        let left = online(&clients);
        if left == 0 {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{left} still online"
        );
        // The hub learns of each close on its own; poll its view.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status: Value = http_get(format!("{}/getStatus", hub.url()))
        .await?
        .json()
        .await?;
    let listed = status["data"].as_array().map_or(0, Vec::len);
    assert!(
        listed >= AGENTS,
        "known clients stay listed (offline): {listed}"
    );
    Ok(())
}

#[tokio::test]
async fn tokens_guard_agents_and_the_api() -> Result<()> {
    let db = tempfile::tempdir()?;
    let flags = ["--agent-token", "agent-secret", "--api-token", "api-secret"];
    let hub = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &flags).await?;
    let client_id = unique_marker("tok");

    let wrong: Vec<&str> = GIVE_UP_FAST
        .iter()
        .copied()
        .chain(["--token", "guess"])
        .collect();
    let mut refused = Agent::start_with(&hub.url(), &client_id, RAW_QUEUE, &wrong).await?;
    let gave_up = refused.wait_for_state("gaveUp", LIMIT).await?;
    assert!(
        gave_up["payload"]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("invalid token")),
        "{gave_up}"
    );

    let right: Vec<&str> = GIVE_UP_FAST
        .iter()
        .copied()
        .chain(["--token", "agent-secret"])
        .collect();
    let mut agent = Agent::start_with(&hub.url(), &client_id, RAW_QUEUE, &right).await?;
    agent.wait_for_state("connected", LIMIT).await?;

    let client = http_client();
    let job = raw_job(&client_id, &unique_marker("tokjob"), "x");
    let anonymous = client
        .post(format!("{}/api/v1/jobs", hub.url()))
        .json(&job)
        .send()
        .await?;
    assert_eq!(anonymous.status().as_u16(), 401);
    let body: Value = anonymous.json().await?;
    assert_eq!(body["error"]["code"], "unauthorized");
    let allowed = client
        .post(format!("{}/api/v1/jobs", hub.url()))
        .bearer_auth("api-secret")
        .json(&job)
        .send()
        .await?;
    assert_eq!(allowed.status().as_u16(), 202);
    assert_eq!(status_of(format!("{}/getStatus", hub.url())).await?, 401);
    assert_eq!(
        status_of(format!("{}/getStatus?token=api-secret", hub.url())).await?,
        200
    );
    assert_eq!(status_of(format!("{}/healthz", hub.url())).await?, 200);
    Ok(())
}

/// Agent flags that give up after two quick refusals.
const GIVE_UP_FAST: [&str; 6] = [
    "--reconnect-attempts",
    "2",
    "--reconnect-delay-ms",
    "100",
    "--reconnect-delay-max-ms",
    "200",
];

#[tokio::test]
async fn per_client_agent_tokens_open_only_their_own_client() -> Result<()> {
    let db = tempfile::tempdir()?;
    let own_id = unique_marker("own");
    let own_token = format!("{own_id}=token-of-own");
    let flags = [
        "--agent-token",
        "shared-secret",
        "--client-token",
        &own_token,
    ];
    let hub = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &flags).await?;
    let other_id = unique_marker("other");
    let with_token = |token: &'static str| -> Vec<&'static str> {
        GIVE_UP_FAST
            .iter()
            .copied()
            .chain(["--token", token])
            .collect()
    };

    // Refused: the shared token for a client that has its own, and one client's token
    // for another client.
    for (client, token) in [(&own_id, "shared-secret"), (&other_id, "token-of-own")] {
        let mut refused =
            Agent::start_with(&hub.url(), client, RAW_QUEUE, &with_token(token)).await?;
        let gave_up = refused.wait_for_state("gaveUp", LIMIT).await?;
        assert!(
            gave_up["payload"]["lastError"]
                .as_str()
                .is_some_and(|e| e.contains("invalid token")),
            "{client} with {token}: {gave_up}"
        );
    }
    // Accepted: each with the token meant for it, and both can print.
    let mut own =
        Agent::start_with(&hub.url(), &own_id, RAW_QUEUE, &with_token("token-of-own")).await?;
    own.wait_for_state("connected", LIMIT).await?;
    let mut other = Agent::start_with(
        &hub.url(),
        &other_id,
        RAW_QUEUE,
        &with_token("shared-secret"),
    )
    .await?;
    other.wait_for_state("connected", LIMIT).await?;
    for client in [&own_id, &other_id] {
        let job_id = unique_marker("tokjob");
        let marker = unique_marker(client);
        hub.submit(&raw_job(client, &job_id, &marker)).await?;
        hub.wait_for_job_state(&job_id, "completed", LIMIT).await?;
        wait_for_printed(RAW_QUEUE, marker.as_bytes(), LIMIT).await?;
        assert_eq!(count_printed(RAW_QUEUE, marker.as_bytes()), 1);
    }

    // A socket admitted with the shared token cannot report on (or describe) the client
    // that has its own token: a forged `completed` for its queued job is refused.
    own.process.child.kill().await?;
    let queued_id = unique_marker("forged");
    hub.submit(&raw_job(&own_id, &queued_id, "x")).await?;
    let forged = json!(["job_status", {"jobId": queued_id, "state": "completed"}]);
    raw_socket_io_emit(&hub, "intruder", "shared-secret", &forged).await?;
    wait_for_log(&hub, "status refused").await?;
    let job = hub.job(&queued_id).await?.expect("job");
    assert_eq!(job["state"], "queued", "{job}");
    assert_eq!(job["events"], json!([]), "{job}");
    Ok(())
}

#[tokio::test]
async fn cors_answers_preflights_only_for_configured_origins() -> Result<()> {
    use reqwest::Method;
    let preflight = |hub: &Hub, origin: &str| {
        http_client()
            .request(Method::OPTIONS, format!("{}/api/v1/jobs", hub.url()))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_lowercase)
    };
    let db = tempfile::tempdir()?;
    let flags = [
        "--cors-origin",
        "https://erp.example",
        "--api-token",
        "api-secret",
    ];
    let hub = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &flags).await?;

    let allowed = preflight(&hub, "https://erp.example").await?;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some("https://erp.example")
    );
    let methods = header(&allowed, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("post"), "{methods}");
    let headers = header(&allowed, "access-control-allow-headers").unwrap_or_default();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    // The real request from that page carries the header too.
    let listed = hub
        .request(Method::GET, "/api/v1/clients")
        .header("origin", "https://erp.example")
        .send()
        .await?;
    assert_eq!(
        header(&listed, "access-control-allow-origin").as_deref(),
        Some("https://erp.example")
    );

    let other = preflight(&hub, "https://evil.example").await?;
    assert_eq!(header(&other, "access-control-allow-origin"), None);

    // Default with API tokens: same-origin only, no CORS headers at all. (Without
    // tokens the default is any origin, as the original: tests/tests/hub_browser.rs.)
    let db = tempfile::tempdir()?;
    let guarded = ["--api-token", "api-secret"];
    let plain = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &guarded).await?;
    let refused = preflight(&plain, "https://erp.example").await?;
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    Ok(())
}

#[tokio::test]
async fn oversized_and_malformed_bodies_get_json_errors() -> Result<()> {
    let db = tempfile::tempdir()?;
    let limit = ["--max-body-bytes", "1048576"];
    let hub = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &limit).await?;
    let client = http_client();
    let url = format!("{}/api/v1/jobs", hub.url());
    // Just over the limit, so the refused remainder fits in the socket buffers.
    let huge = vec![b'a'; 1024 * 1024 + 100];
    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 413);
    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["code"], "invalid_json");
    let (status, body) = hub.submit(&json!({"jobId": "x"})).await?;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("invalid_client_id"))
    );
    Ok(())
}

#[test]
fn a_hub_on_a_public_address_refuses_to_start_without_tokens() -> Result<()> {
    let out = hub_command()?
        .args([
            "--listen",
            "0.0.0.0:0",
            "--db",
            "/nonexistent/never-created.db",
        ])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --agent-token"));
    Ok(())
}

fn hub_command() -> Result<std::process::Command> {
    let mut command =
        std::process::Command::new(printrelay_e2e::workspace_binary("printrelay-hub")?);
    printrelay_e2e::without_hub_env(&mut command);
    Ok(command)
}

#[tokio::test]
async fn a_config_file_sets_tokens_and_the_default_expiry_and_flags_override_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        "api_tokens = [\"file-token\"]\ndefault_expiry = \"90m\"\nmax_body_bytes = 1000\n",
    )?;
    let config_flag = config.to_string_lossy().into_owned();
    // The flag wins over the file's body limit; the file's token and expiry apply.
    let flags = ["--config", &config_flag, "--max-body-bytes", "100000"];
    let hub = Hub::start_with(&dir.path().join("hub.db"), 2_000, 1_000, &flags).await?;
    let anonymous = http_get(format!("{}/api/v1/clients", hub.url())).await?;
    assert_eq!(
        anonymous.status().as_u16(),
        401,
        "the file's api_tokens apply"
    );
    let hub = Hub {
        api_token: Some("file-token".into()),
        ..hub
    };
    let job_id = unique_marker("cfgjob");
    let (status, body) = hub
        .submit(&raw_job(
            &unique_marker("cfgpc"),
            &job_id,
            &"x".repeat(2_000),
        ))
        .await?;
    assert_eq!(
        status, 202,
        "the flag's body limit beats the file's: {body}"
    );
    let job = hub.job(&job_id).await?.expect("job stored");
    let waits = job["expiresAt"].as_u64().unwrap_or(0) - job["createdAt"].as_u64().unwrap_or(0);
    assert_eq!(waits, 90 * 60 * 1000, "{job}");

    // A job with its own expiresAt keeps it.
    let mut own = raw_job("cfgpc", &unique_marker("cfgown"), "x");
    own["expiresAt"] = json!("2099-01-01T00:00:00Z");
    let (_, accepted) = hub.submit(&own).await?;
    let stored = hub
        .job(accepted["jobId"].as_str().unwrap_or_default())
        .await?
        .expect("job");
    assert_eq!(stored["expiresAt"], 4_070_908_800_000u64);

    // A config file with an unknown key stops the hub with a message naming it.
    std::fs::write(&config, "listne = \"127.0.0.1:0\"\n")?;
    let out = hub_command()?.args(["--config", &config_flag]).output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listne"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Walks every operation of the hub's OpenAPI document and provokes each documented
/// response: the status code and the body's shape must be as documented, and paths
/// refuse methods the document does not list. (A unit test in the hub checks that the
/// router serves exactly the documented routes.)
#[tokio::test]
async fn the_openapi_document_is_true_for_every_operation() -> Result<()> {
    use printrelay_e2e::openapi;
    use reqwest::Method;

    let db = tempfile::tempdir()?;
    let flags = ["--api-token", "api-secret", "--max-body-bytes", "65536"];
    let hub = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &flags).await?;
    let document: Value = http_get(format!("{}/api/v1/openapi.json", hub.url()))
        .await?
        .json()
        .await?;
    let client_id = unique_marker("oapi");
    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let job_id = unique_marker("oapijob");
    hub.submit(&raw_job(&client_id, &job_id, &unique_marker("openapi")))
        .await?;
    hub.wait_for_job_state(&job_id, "completed", LIMIT).await?;
    // For the cancel route: a job its client holds (a PrintRelay client that never
    // answers), and jobs waiting at the hub for a client that is away, one per call.
    let holder = unique_marker("oapi-holder");
    let mut socket =
        RawClient::connect(hub.port, &json!({"clientId": holder, "protocol": 1})).await?;
    socket.emit("register", &json!(holder)).await?;
    socket.wait_for_event("registered", LIMIT).await?;
    let held_job = unique_marker("oapi-held");
    hub.submit(&raw_job(&holder, &held_job, "held")).await?;
    hub.wait_for_job_state(&held_job, "delivered", LIMIT)
        .await?;

    let paths = document["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete", "patch"] {
            let Some(operation) = item.get(method) else {
                let response = hub
                    .request(Method::from_bytes(method.to_uppercase().as_bytes())?, path)
                    .send()
                    .await?;
                assert_eq!(
                    response.status().as_u16(),
                    405,
                    "{method} {path} is served but not documented"
                );
                continue;
            };
            let responses = operation["responses"].as_object().expect("responses");
            for (code, response_doc) in responses {
                let what = format!("{method} {path} -> {code}");
                if code == "500" || code == "507" {
                    // Only a failing or full store answers these; the hub's unit tests
                    // (http::error) check their shape, and hub_reliability.rs a real 507.
                    continue;
                }
                let known = code != "404";
                let target = match (path.ends_with("/cancel"), code.as_str()) {
                    (_, "404") => "no-such-job".to_owned(),
                    (true, "200") => {
                        let waiting = unique_marker("oapi-waiting");
                        hub.submit(&raw_job("oapi-away", &waiting, "w")).await?;
                        waiting
                    }
                    (true, "202") => held_job.clone(),
                    _ => job_id.clone(),
                };
                let url_path = path.replace("{jobId}", &target).replace(
                    "{clientId}",
                    if known { &client_id } else { "no-such-client" },
                );
                let query: Vec<(String, String)> = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "query" && p["required"] == true)
                    .map(|p| {
                        let name = p["name"].as_str().unwrap_or_default().to_owned();
                        let value = if name == "clientId" {
                            client_id.clone()
                        } else {
                            unique_marker(&name)
                        };
                        (name, value)
                    })
                    .collect();
                let mut request = hub
                    .request(
                        Method::from_bytes(method.to_uppercase().as_bytes())?,
                        &url_path,
                    )
                    .query(&query);
                if code == "401" {
                    request = http_client()
                        .request(
                            Method::from_bytes(method.to_uppercase().as_bytes())?,
                            format!("{}{url_path}", hub.url()),
                        )
                        .query(&query);
                }
                if code == "421" {
                    request = request.header("host", "evil.example");
                }
                if let Some(body) = operation.get("requestBody") {
                    let example = &body["content"]["application/json"]["example"];
                    let mut valid = example.clone();
                    valid["clientId"] = json!(client_id);
                    valid["jobId"] = json!(unique_marker("oapi-example"));
                    request = match code.as_str() {
                        "400" => request
                            .header("content-type", "application/json")
                            .body("{not json"),
                        "413" => request.json(&json!({"pad": "a".repeat(70_000)})),
                        "415" => request.body(valid.to_string()),
                        "422" => request.json(&json!({})),
                        _ => request.json(&valid),
                    };
                } else if code == "400" {
                    // A query parameter given twice does not read as one value; a path
                    // parameter that is not UTF-8 is not text.
                    let parameter = operation["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|p| p["in"] == "query" || p["in"] == "path")
                        .unwrap_or_else(|| panic!("{what}: no parameter"));
                    let name = parameter["name"].as_str().unwrap_or_default();
                    if parameter["in"] == "query" {
                        request = request.query(&[(name, "a"), (name, "b")]);
                    } else {
                        let bad_path = path.replace(&format!("{{{name}}}"), "%FF");
                        request = hub.request(
                            Method::from_bytes(method.to_uppercase().as_bytes())?,
                            &bad_path,
                        );
                    }
                } else {
                    assert!(
                        ["200", "202", "401", "404", "409", "421"].contains(&code.as_str()),
                        "{what}: the test has no way to provoke this response"
                    );
                }
                let response = request.send().await?;
                assert_eq!(response.status().as_str(), code, "{what}");
                let response_doc = openapi::resolve(&document, response_doc)?;
                let (media, content) = response_doc["content"]
                    .as_object()
                    .and_then(|c| c.iter().next())
                    .expect("documented content");
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                assert!(
                    content_type.starts_with(media.as_str()),
                    "{what}: {content_type}"
                );
                if media == "application/json" {
                    let body: Value = response.json().await?;
                    openapi::check(&document, &content["schema"], &body, "$")
                        .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} responses checked");
    Ok(())
}

#[tokio::test]
async fn clients_show_printers_agent_version_and_the_round_trip_the_agent_measured() -> Result<()> {
    let db = tempfile::tempdir()?;
    // Fast pings: the second heartbeat carries the round trip the first one measured.
    let hub = Hub::start(&db.path().join("hub.db"), 300, 1_000).await?;
    let client_id = unique_marker("rttpc");
    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let url = format!("{}/api/v1/clients/{client_id}", hub.url());
    let deadline = tokio::time::Instant::now() + LIMIT;
    let client = loop {
        let client: Value = http_get(&url).await?.json().await?;
        if client["rttMs"].is_u64() {
            break client;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no rttMs within {LIMIT:?}: {client}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(client["connected"], true);
    assert!(
        client["lastHeartbeatAt"].as_u64().is_some_and(|at| at > 0),
        "{client}"
    );
    assert_eq!(client["info"]["app"]["version"], env!("CARGO_PKG_VERSION"));
    let printers = client["info"]["printers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        printers.iter().any(|p| p["systemName"] == RAW_QUEUE),
        "{client}"
    );
    drop(agent);
    Ok(())
}
