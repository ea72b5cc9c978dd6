//! The hub keeps its promise under load and against odd peers: a backlog and a burst are
//! delivered in full, a status cut off on the way is sent again, presence is always true,
//! waiting jobs expire on time, a full database refuses new jobs but delivers the rest, an
//! agent killed mid-burst gets every job again and prints each once, a socket message over
//! 1 MiB closes only its own connection, and a slow event subscriber is told what it missed.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{ensure, Result};
use base64::Engine as _;
use futures_util::StreamExt;
use printrelay_e2e::cutting_proxy::CuttingProxy;
use printrelay_e2e::raw_client::RawClient;
use printrelay_e2e::sse::SlowReader;
use printrelay_e2e::{
    http_get, unique_marker, Agent, AgentHome, EventStream, Hub, SpoolWatch, RAW_QUEUE,
};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(30);
/// The bulk tests fail when no job completes for this long (a stall), however long the
/// whole takes on a loaded machine.
const STALL_LIMIT: Duration = Duration::from_secs(60);

/// The bulk tests take turns: thousands of CUPS jobs at once would measure the spooler.
static BULK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn raw_job(client_id: &str, job_id: &str, text: &str) -> Value {
    json!({
        "clientId": client_id, "jobId": job_id, "contentType": "raw_base64",
        "content": base64::engine::general_purpose::STANDARD.encode(text),
    })
}

/// Submits `jobs`, `in_flight` at a time; each must be answered 202 `queued`.
async fn submit_all_queued(
    hub: &Hub,
    jobs: impl Iterator<Item = Value>,
    in_flight: usize,
) -> Result<()> {
    let answers: Vec<Result<(u16, Value)>> = futures_util::stream::iter(jobs)
        .map(|job| async move { hub.submit(&job).await })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    for answer in answers {
        let (status, body) = answer?;
        ensure!(
            status == 202 && body["state"] == "queued",
            "{status} {body}"
        );
    }
    Ok(())
}

/// Every job of `client_id` at the hub, oldest first (the hub's delivery order).
async fn jobs_of(hub: &Hub, client_id: &str) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    loop {
        let page: Value = hub
            .request(
                reqwest::Method::GET,
                &format!(
                    "/api/v1/jobs?clientId={client_id}&limit=1000&offset={}",
                    all.len()
                ),
            )
            .send()
            .await?
            .json()
            .await?;
        let jobs = page["jobs"].as_array().cloned().unwrap_or_default();
        if jobs.is_empty() {
            break;
        }
        all.extend(jobs);
    }
    all.reverse();
    Ok(all)
}

/// Waits until all `count` jobs of `client_id` are `completed` at the hub; fails when
/// none completes for [`STALL_LIMIT`].
async fn wait_all_completed(hub: &Hub, client_id: &str, count: usize) -> Result<Vec<Value>> {
    let mut progress = (0, tokio::time::Instant::now());
    loop {
        let jobs = jobs_of(hub, client_id).await?;
        let completed = jobs.iter().filter(|j| j["state"] == "completed").count();
        if jobs.len() == count && completed == count {
            return Ok(jobs);
        }
        if completed > progress.0 {
            progress = (completed, tokio::time::Instant::now());
        }
        let mut states: HashMap<String, usize> = HashMap::new();
        for job in &jobs {
            *states.entry(job["state"].to_string()).or_default() += 1;
        }
        ensure!(
            progress.1.elapsed() < STALL_LIMIT,
            "stalled: {completed} of {count} completed, none in {STALL_LIMIT:?}: {states:?}"
        );
        // The plain HTTP view of a sender; a second between looks is plenty here.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// 1,000 jobs wait for a PC that is off; it registers and gets every one: all complete,
/// each prints once, and the spooler took them in the hub's order.
#[tokio::test]
async fn a_thousand_queued_jobs_are_all_delivered_in_order_and_printed_once() -> Result<()> {
    const JOBS: usize = 1000;
    let _turn = BULK.lock().await;
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("backlog");
    let markers: Vec<String> = (0..JOBS)
        .map(|i| unique_marker(&format!("bl{i}")))
        .collect();
    let jobs = markers
        .iter()
        .enumerate()
        .map(|(i, marker)| raw_job(&client_id, &format!("{client_id}-{i}"), marker));
    submit_all_queued(&hub, jobs, 50).await?;
    let mut spool = SpoolWatch::new(RAW_QUEUE);
    let _agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    let jobs = wait_all_completed(&hub, &client_id, JOBS).await?;
    // Completed means the spooler finished each; the files are there.
    spool.wait_for_markers(&markers, LIMIT).await?;
    // Completed at the hub means the agent answered every job: no copy is on its way.
    spool.poll();
    spool.ensure_each_once(&markers)?;
    // In order: the spooler's job ids rise along the hub's order.
    let mut spooler_ids = Vec::with_capacity(JOBS);
    for job in &jobs {
        let job_id = job["jobId"].as_str().unwrap_or_default();
        let full = hub.job(job_id).await?.unwrap_or_default();
        let spooled = full["events"]
            .as_array()
            .and_then(|events| events.iter().find_map(|e| e["spoolerJobId"].as_u64()));
        spooler_ids.push(spooled.unwrap_or_default());
    }
    ensure!(
        spooler_ids.windows(2).all(|w| w[0] < w[1]),
        "spooled out of the hub's order: {spooler_ids:?}"
    );
    Ok(())
}

/// 3,000 `/startPrint` calls, 300 at a time, to one online PC: every one is accepted and
/// every one completes.
#[tokio::test]
async fn a_burst_of_three_thousand_start_print_calls_all_complete() -> Result<()> {
    const CALLS: usize = 3000;
    let _turn = BULK.lock().await;
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("burst");
    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    printrelay_e2e::wait_until_listed(&hub.url(), &client_id, LIMIT).await?;
    let base = hub.url();
    let answers: Vec<Result<Value>> = futures_util::stream::iter(0..CALLS)
        .map(|i| {
            let url = format!("{base}/startPrint?clientId={client_id}&printData=burst-{i}");
            async move { Ok(http_get(url).await?.json::<Value>().await?) }
        })
        .buffer_unordered(300)
        .collect()
        .await;
    for answer in answers {
        let answer = answer?;
        ensure!(answer["jobId"].is_string(), "not accepted: {answer}");
    }
    wait_all_completed(&hub, &client_id, CALLS).await?;
    Ok(())
}

/// The agent writes its `completed` status and the connection is cut before the hub
/// has it: the agent keeps it (no ack came) and sends it after reconnecting.
#[tokio::test]
async fn a_status_cut_off_before_the_hub_stored_it_is_sent_again() -> Result<()> {
    let db = tempfile::tempdir()?;
    // The agent names the proxy's port in Host: the hub must answer to 127.0.0.1 on any
    // port, as for any port forward.
    let forwarded = ["--public-name", "127.0.0.1"];
    let hub = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &forwarded).await?;
    let proxy = CuttingProxy::start(hub.port, &["job_status", "\"completed\""]).await?;
    let client_id = unique_marker("cutpc");
    let home = AgentHome::new()?;
    let via_proxy = format!("http://127.0.0.1:{}", proxy.port);
    let mut agent = Agent::start_in(&home, &via_proxy, &client_id, RAW_QUEUE, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let job_id = unique_marker("cutjob");
    let (status, _) = hub
        .submit(&raw_job(&client_id, &job_id, &unique_marker("cut")))
        .await?;
    ensure!(status == 202);
    tokio::time::timeout(LIMIT, proxy.cut()).await?;
    let job = hub.job(&job_id).await?.unwrap_or_default();
    ensure!(
        job["state"] == "spooled",
        "the cut status must not have arrived: {job}"
    );
    // The agent notices the cut, reconnects through the proxy and sends it again.
    let completed = hub.wait_for_job_state(&job_id, "completed", LIMIT).await?;
    let finals = completed["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["state"] == "completed")
        .count();
    ensure!(finals == 1, "{completed}");
    // Acked, so it left the agent's outbox.
    home.wait_for_empty_outbox(LIMIT).await
}

/// `connected` of `client_id` in `/getStatus`, with its socket id.
async fn presence(hub: &Hub, client_id: &str) -> Result<(bool, String)> {
    let entry = printrelay_e2e::client_status_at(&hub.url(), client_id)
        .await?
        .unwrap_or_default();
    Ok((
        entry["connected"] == true,
        entry["socketId"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// Waits until `/getStatus` says `client_id` is `connected` (or not).
async fn wait_presence(hub: &Hub, client_id: &str, connected: bool) -> Result<String> {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let (now, sid) = presence(hub, client_id).await?;
        if now == connected {
            return Ok(sid);
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{client_id} never {}",
            if connected { "connected" } else { "offline" }
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A socket holds one client id: registering a second releases the first, and closing
/// the socket leaves neither "connected".
#[tokio::test]
async fn one_socket_holds_one_client_id() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let (first, second) = (unique_marker("first"), unique_marker("second"));
    let mut socket = RawClient::connect(hub.port, &json!({"clientId": first})).await?;
    socket.emit("register", &json!(first)).await?;
    socket.wait_for_event("registered", LIMIT).await?;
    ensure!(presence(&hub, &first).await?.0);
    socket.emit("register", &json!(second)).await?;
    socket.wait_for_event("registered", LIMIT).await?;
    // Both answers are in: the registry changed before either `registered` was sent.
    ensure!(
        !presence(&hub, &first).await?.0,
        "the first id was released"
    );
    ensure!(presence(&hub, &second).await? == (true, socket.sid.clone()));
    socket.close().await?;
    wait_presence(&hub, &second, false).await?;
    ensure!(!presence(&hub, &first).await?.0);
    Ok(())
}

/// Two connections with one client id (a cloned PC, tray app and headless agent): the
/// newer takes over, the older is told why and closed, and the id stays connected until
/// the newer one closes.
#[tokio::test]
async fn a_second_registration_of_an_id_takes_over_and_the_older_socket_is_told_why() -> Result<()>
{
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("clone");
    let auth = json!({"clientId": client_id});
    let mut older = RawClient::connect(hub.port, &auth).await?;
    older.emit("register", &json!(client_id)).await?;
    older.wait_for_event("registered", LIMIT).await?;
    let mut newer = RawClient::connect(hub.port, &auth).await?;
    newer.emit("register", &json!(client_id)).await?;
    newer.wait_for_event("registered", LIMIT).await?;

    let replaced = older.wait_for_event("replaced", LIMIT).await?;
    ensure!(replaced["clientId"] == client_id.as_str(), "{replaced}");
    ensure!(replaced["reason"].is_string(), "{replaced}");
    ensure!(older.until_closed(LIMIT).await?.is_empty());
    ensure!(presence(&hub, &client_id).await? == (true, newer.sid.clone()));
    // A job now goes to the newer connection.
    let job_id = unique_marker("toclone");
    hub.submit(&raw_job(&client_id, &job_id, "x")).await?;
    let print = newer.wait_for_event("print", LIMIT).await?;
    ensure!(print["jobId"] == job_id.as_str(), "{print}");
    let newer_sid = newer.sid.clone();
    newer.close().await?;
    let last = wait_presence(&hub, &client_id, false).await?;
    ensure!(last == newer_sid, "socketId stays the last one: {last}");
    Ok(())
}

/// A job for a PC that stays off shows `expired` at the hub once its time passed, without
/// the PC coming back; when it does, the job is not printed.
#[tokio::test]
async fn a_waiting_job_expires_on_time_and_is_never_printed() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("offpc");
    let job_id = unique_marker("expiring");
    let mut events = EventStream::open(&hub.url(), &format!("jobId={job_id}")).await?;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let mut job = raw_job(&client_id, &job_id, &unique_marker("never"));
    job["expiresAt"] = json!(soon.format(&time::format_description::well_known::Rfc3339)?);
    let (status, _) = hub.submit(&job).await?;
    ensure!(status == 202);
    // The upkeep runs every 5 s.
    events
        .wait_for(Duration::from_secs(15), "job", |j| j["state"] == "expired")
        .await?;
    let mut socket = RawClient::connect(hub.port, &json!({"clientId": client_id})).await?;
    socket.emit("register", &json!(client_id)).await?;
    let registered = socket.wait_for_event("registered", LIMIT).await?;
    ensure!(registered["queued"] == 0, "{registered}");
    let stored = hub.job(&job_id).await?.unwrap_or_default();
    ensure!(stored["state"] == "expired", "{stored}");
    Ok(())
}

/// A database at its size cap: submissions answer 507 `storage_full`; a PC that registers
/// still gets every job that was accepted before.
#[tokio::test]
async fn a_full_database_refuses_new_jobs_with_507_and_delivers_the_queued_ones() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start_with(
        &db.path().join("hub.db"),
        2_000,
        1_000,
        &["--max-db-mib", "1"],
    )
    .await?;
    let client_id = unique_marker("fullpc");
    let padding = "p".repeat(40 * 1024);
    let mut accepted = Vec::new();
    let refusal = loop {
        ensure!(accepted.len() < 100, "1 MiB never filled");
        let marker = unique_marker(&format!("full{}", accepted.len()));
        let job_id = format!("{client_id}-{}", accepted.len());
        let mut job = raw_job(&client_id, &job_id, &marker);
        job["title"] = json!(padding);
        let (status, body) = hub.submit(&job).await?;
        match status {
            202 => accepted.push(marker),
            _ => break (status, body),
        }
    };
    ensure!(refusal.0 == 507, "{refusal:?}");
    ensure!(refusal.1["error"]["code"] == "storage_full", "{refusal:?}");
    ensure!(!accepted.is_empty());
    let mut spool = SpoolWatch::new(RAW_QUEUE);
    let _agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    spool.wait_for_markers(&accepted, LIMIT).await?;
    Ok(())
}

/// Two agents with one client id (a cloned PC): the newer one takes over, and the older
/// one shows `kicked` with the reason `replaced` (the window says another computer uses
/// the id); being kicked, it does not fight back by reconnecting.
#[tokio::test]
async fn an_agent_whose_id_is_taken_over_says_why() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("twin");
    let mut older = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    older.wait_for_state("connected", LIMIT).await?;
    let mut newer = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    let connected = newer.wait_for_state("connected", LIMIT).await?;
    let kicked = older.wait_for_state("kicked", LIMIT).await?;
    ensure!(kicked["payload"]["reason"] == "replaced", "{kicked}");
    let sid = connected["payload"]["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(
        presence(&hub, &client_id).await? == (true, sid),
        "the newer one holds the id"
    );
    Ok(())
}

/// The answer to a submission is a state the job really had, committed: `queued` for a
/// new job (it is marked `delivered` only once its connection took it, later), and the
/// stored state for an id that exists.
#[tokio::test]
async fn the_answer_to_a_submission_is_a_state_the_job_really_had() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("answers");
    let mut events = EventStream::open(&hub.url(), &format!("clientId={client_id}")).await?;
    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let ids: Vec<String> = (0..50).map(|i| format!("{client_id}-{i}")).collect();
    let jobs = ids
        .iter()
        .map(|id| raw_job(&client_id, id, &unique_marker("answer")));
    submit_all_queued(&hub, jobs, 25).await?;
    let completed = |seen: &[(String, Value)]| {
        seen.iter()
            .filter(|(name, data)| name == "job" && data["state"] == "completed")
            .count()
    };
    while completed(&events.seen) < ids.len() {
        tokio::time::timeout(LIMIT, events.next())
            .await??
            .ok_or_else(|| anyhow::anyhow!("the event stream ended"))?;
    }
    for id in &ids {
        let states: Vec<&str> = events
            .seen
            .iter()
            .filter(|(name, data)| name == "job" && data["jobId"] == id.as_str())
            .filter_map(|(_, data)| data["state"].as_str())
            .collect();
        ensure!(
            states == ["queued", "delivered", "received", "spooled", "completed"],
            "{id}: {states:?}"
        );
    }
    // An existing id answers with its stored state.
    let (status, again) = hub.submit(&raw_job(&client_id, &ids[0], "again")).await?;
    let stored = hub.job(&ids[0]).await?.unwrap_or_default();
    ensure!(
        status == 202 && again["state"] == stored["state"],
        "{again} vs {stored}"
    );
    ensure!(again["state"] == "completed", "{again}");
    Ok(())
}

/// A Socket.IO message over 1 MiB closes the connection that sent it, over websocket too
/// (the transport's own limit is 64 MiB); one just under it is read; the hub serves the
/// next agent as before.
#[tokio::test]
async fn a_socket_message_over_one_mebibyte_closes_its_connection_and_nothing_else() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    // Framing ("42", the event name, quotes and brackets) takes the rest of the mebibyte.
    let under = "x".repeat(1024 * 1024 - 64);
    let over = "x".repeat(1024 * 1024 + 1);
    for (text, read) in [(&under, true), (&over, false)] {
        let client_id = unique_marker("big-message");
        let mut socket = RawClient::connect(hub.port, &json!({"clientId": client_id})).await?;
        let info = json!({"printers": [], "note": text});
        // Events are handled in order: `registered` proves the connection outlived the
        // big message.
        let sent = match socket.emit("client_info", &info).await {
            Ok(()) => socket.emit("register", &json!(client_id)).await,
            Err(error) => Err(error),
        };
        let registered = match sent {
            // The hub closed the connection while the message was still being written.
            Err(_) if !read => false,
            Err(error) => return Err(error),
            Ok(()) => loop {
                match socket.next_event(LIMIT).await? {
                    None => break false,
                    Some((name, _)) if name == "registered" => break true,
                    Some(_) => {}
                }
            },
        };
        ensure!(
            registered == read,
            "a message of {} bytes: read {registered}, expected {read}",
            text.len()
        );
    }
    // Nobody else noticed: an agent connects and prints.
    let client_id = unique_marker("after-big-message");
    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let marker = unique_marker("after big message");
    let (status, _) = hub
        .submit(&raw_job(&client_id, &unique_marker("job"), &marker))
        .await?;
    ensure!(status == 202, "submit: {status}");
    printrelay_e2e::wait_for_printed(RAW_QUEUE, marker.as_bytes(), LIMIT).await?;
    Ok(())
}

/// A subscriber that stops reading `/api/v1/events` while thousands of changes happen is
/// told how many it missed (`lagged`), and its stream goes on with later changes; the
/// hub's work does not wait for it.
#[tokio::test]
async fn a_slow_event_subscriber_is_told_what_it_missed_and_the_stream_goes_on() -> Result<()> {
    // More changes than the hub keeps for a subscriber (4,096) plus what the sockets hold.
    const JOBS: usize = 7_000;
    let _turn = BULK.lock().await;
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("lagging");
    let slow = SlowReader::subscribe(hub.port, &format!("clientId={client_id}")).await?;
    let jobs = (0..JOBS).map(|i| raw_job(&client_id, &format!("{client_id}-{i}"), "x"));
    submit_all_queued(&hub, jobs, 100).await?;
    let last = format!("{client_id}-after");
    let (status, _) = hub.submit(&raw_job(&client_id, &last, "x")).await?;
    ensure!(status == 202, "submit after the burst: {status}");

    let mut events = EventStream::from_slow_reader(slow);
    let missed = events
        .wait_for(LIMIT, "lagged", |data| data["missed"].as_u64().is_some())
        .await?;
    let missed = missed["missed"].as_u64().unwrap_or_default();
    events
        .wait_for(LIMIT, "job", |data| data["jobId"] == last.as_str())
        .await?;
    let jobs_seen = events.seen.iter().filter(|(name, _)| name == "job").count() as u64;
    println!("{JOBS} jobs: {jobs_seen} job events read, {missed} reported missed");
    ensure!(
        jobs_seen + missed == JOBS as u64 + 1,
        "every change is either read or counted as missed: {jobs_seen} + {missed}"
    );
    Ok(())
}

/// The crash of `jobs::a_crash_during_a_burst_prints_every_job_exactly_once`, against our
/// hub: 200 jobs wait for a PC; it comes online and is killed (SIGKILL) after a random
/// number of them arrived; started again on the same store, it gets from the hub every
/// job the hub has no final status of, and each job prints exactly once.
#[tokio::test]
async fn an_agent_killed_during_a_burst_from_the_hub_prints_every_job_exactly_once() -> Result<()> {
    const JOBS: usize = 200;
    let _turn = BULK.lock().await;
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("hub-crash");
    let markers: Vec<String> = (0..JOBS)
        .map(|i| unique_marker(&format!("hc{i}")))
        .collect();
    let jobs = markers
        .iter()
        .enumerate()
        .map(|(i, marker)| raw_job(&client_id, &format!("{client_id}-{i}"), marker));
    submit_all_queued(&hub, jobs, 50).await?;
    let seed = printrelay_e2e::test_seed()?;
    // Printed so that a failing run can be replayed with PRINTRELAY_TEST_SEED.
    println!("PRINTRELAY_TEST_SEED={seed}");
    let kill_after = 20 + (seed % 160) as usize;

    let mut spool = SpoolWatch::new(RAW_QUEUE);
    let home = AgentHome::new()?;
    let mut agent = Agent::start_in(&home, &hub.url(), &client_id, RAW_QUEUE, &[]).await?;
    for _ in 0..kill_after {
        agent.wait_for_job("received", LIMIT).await?;
    }
    agent.process.signal("KILL")?;
    let _ = agent.process.child.wait().await;
    println!("killed the agent after {kill_after} received jobs");

    let mut agent = Agent::start_in(&home, &hub.url(), &client_id, RAW_QUEUE, &[]).await?;
    // Read as they come (an unread event output falls behind and drops events), until
    // the agent went quiet; by then the hub has every final status.
    agent.settle(STALL_LIMIT * 2).await?;
    wait_all_completed(&hub, &client_id, JOBS).await?;
    spool.wait_for_markers(&markers, LIMIT).await?;
    spool.poll();
    spool.ensure_each_once(&markers)?;
    Ok(())
}

/// `POST /api/v1/jobs/{id}/cancel`: a queued job ends at the hub (and is never sent); a
/// delivered one is asked of its agent when it is back, and never sent again; an agent
/// that answers `unknown_job` leaves the hub to end it; an ended job is 409. `reprint`
/// sends the content again under a new id, and `stats` counts it all.
#[tokio::test]
async fn jobs_are_cancelled_at_the_hub_or_through_the_agent_and_printed_again() -> Result<()> {
    let db = tempfile::tempdir()?;
    cancel_reprint_and_stats(&db.path().join("hub.db")).await
}

/// The same with the hub's store in PostgreSQL.
#[tokio::test]
async fn on_postgresql_jobs_are_cancelled_printed_again_and_counted() -> Result<()> {
    let Some(url) = printrelay_e2e::postgres::fresh_database("hub-cancel")? else {
        return Ok(());
    };
    cancel_reprint_and_stats(std::path::Path::new(&url)).await
}

async fn cancel_reprint_and_stats(db: &std::path::Path) -> Result<()> {
    let hub = Hub::start(db, 2_000, 1_000).await?;
    let client_id = unique_marker("cancelpc");
    let auth = json!({"clientId": client_id, "protocol": 1});
    let connect = || async {
        let mut socket = RawClient::connect(hub.port, &auth).await?;
        socket.emit("register", &json!(client_id)).await?;
        socket.wait_for_event("registered", LIMIT).await?;
        anyhow::Ok(socket)
    };
    let cancel = |job_id: String| {
        let request = hub.request(
            reqwest::Method::POST,
            &format!("/api/v1/jobs/{job_id}/cancel"),
        );
        async move {
            let response = request.send().await?;
            anyhow::Ok((response.status().as_u16(), response.json::<Value>().await?))
        }
    };
    let held = unique_marker("held");
    let waiting = unique_marker("waiting");
    let mut socket = connect().await?;
    hub.submit(&raw_job(&client_id, &held, "held")).await?;
    let print = socket.wait_for_event("print", LIMIT).await?;
    ensure!(print["jobId"] == held.as_str());
    socket.close().await?;
    wait_presence(&hub, &client_id, false).await?;
    hub.submit(&raw_job(&client_id, &waiting, "waiting"))
        .await?;

    let (status, body) = cancel(waiting.clone()).await?;
    ensure!(
        (status, &body["state"]) == (200, &json!("cancelled")),
        "{body}"
    );
    let stored = hub.job(&waiting).await?.unwrap_or_default();
    ensure!(stored["error"]["code"] == "cancelled", "{stored}");
    let (status, body) = cancel(held.clone()).await?;
    ensure!(status == 202 && body["cancelRequested"] == true, "{body}");
    ensure!(body["state"] == "delivered", "{body}");
    let (status, body) = cancel(unique_marker("nope")).await?;
    ensure!((status, &body["error"]["code"]) == (404, &json!("job_not_found")));

    // Back online: the held job is asked about, not sent again; the waiting one is not sent.
    let mut socket = connect().await?;
    let after = unique_marker("after");
    hub.submit(&raw_job(&client_id, &after, "after")).await?;
    let mut printed = Vec::new();
    let mut asked = None;
    while printed.last() != Some(&after) || asked.is_none() {
        let Some((name, data, ack)) = socket.next_event_with_ack(LIMIT).await? else {
            anyhow::bail!("disconnected");
        };
        match name.as_str() {
            "print" => printed.push(data["jobId"].as_str().unwrap_or_default().to_owned()),
            "cancel_job" => asked = Some((data["jobId"].clone(), ack)),
            _ => {}
        }
    }
    ensure!(printed == [after.clone()], "sent: {printed:?}");
    let (asked_for, ack) = asked.unwrap_or_default();
    ensure!(asked_for == held.as_str(), "asked to cancel {asked_for}");
    let ack = ack.ok_or_else(|| anyhow::anyhow!("cancel_job without an ack"))?;
    socket
        .ack(
            ack,
            &json!({"ok": false, "error": {"code": "unknown_job", "message": "no job"}}),
        )
        .await?;
    hub.wait_for_job_state(&held, "cancelled", LIMIT).await?;

    let status = json!({"jobId": after, "state": "completed", "at": 1, "printer": "P"});
    socket.emit("job_status", &status).await?;
    hub.wait_for_job_state(&after, "completed", LIMIT).await?;
    let (status, body) = cancel(after.clone()).await?;
    ensure!(
        (status, &body["error"]["code"]) == (409, &json!("job_finished")),
        "{body}"
    );

    let response = hub
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/jobs/{after}/reprint"),
        )
        .send()
        .await?;
    ensure!(response.status() == 202);
    let again: Value = response.json().await?;
    let print = socket.wait_for_event("print", LIMIT).await?;
    ensure!(
        print["jobId"] == again["jobId"] && print["jobId"] != after.as_str(),
        "{print}"
    );
    ensure!(print["content"] == raw_job("", "", "after")["content"]);

    let stats: Value = hub
        .request(reqwest::Method::GET, "/api/v1/stats")
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        stats["clients"] == json!({"online": 1, "total": 1}),
        "{stats}"
    );
    ensure!(
        stats["jobs"] == json!({"completed": 1, "failed": 0, "waiting": 1}),
        "{stats}"
    );
    ensure!(stats["oldestWaiting"]["jobId"] == again["jobId"], "{stats}");
    Ok(())
}

/// An agent given two hub nodes (`--server A,B`, no load balancer) connects to the
/// first; when that node is killed, the agent moves to the second, which prints its jobs.
#[tokio::test]
async fn an_agent_given_two_hub_nodes_fails_over_when_its_node_dies() -> Result<()> {
    let (db_a, db_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let node_a = Hub::start(&db_a.path().join("hub.db"), 1_000, 1_000).await?;
    let node_b = Hub::start(&db_b.path().join("hub.db"), 1_000, 1_000).await?;
    let client_id = unique_marker("failover");
    let servers = format!("{}, {}", node_a.url(), node_b.url());
    let flags = [
        "--reconnect-delay-ms",
        "100",
        "--reconnect-delay-max-ms",
        "300",
    ];
    let mut agent = Agent::start_with(&servers, &client_id, RAW_QUEUE, &flags).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_presence(&node_a, &client_id, true).await?;
    ensure!(
        !presence(&node_b, &client_id).await?.0,
        "the first node is tried first"
    );

    node_a.process.signal("KILL")?;
    wait_presence(&node_b, &client_id, true).await?;
    let job_id = unique_marker("after-failover");
    let (status, body) = node_b
        .submit(&raw_job(&client_id, &job_id, &job_id))
        .await?;
    ensure!(status == 202, "{body}");
    node_b
        .wait_for_job_state(&job_id, "completed", LIMIT)
        .await?;
    printrelay_e2e::wait_for_printed(RAW_QUEUE, job_id.as_bytes(), LIMIT).await?;
    Ok(())
}
