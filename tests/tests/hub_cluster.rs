//! Several hub nodes on one PostgreSQL database (a cluster): a job posted on one node is
//! printed once through the node that holds its agent; presence and events are the same
//! on every node; an agent whose node is killed fails over and loses or doubles nothing,
//! and that node's other clients go offline on the survivors; a burst spread over the
//! nodes is delivered once per job; a client id registering on another node closes its
//! older socket. Each test runs twice: nodes talking through PostgreSQL `NOTIFY` (the
//! default) and through Redis (`--cluster`). They need PRINTRELAY_TEST_POSTGRES and
//! PRINTRELAY_TEST_REDIS.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use base64::Engine as _;
use futures_util::StreamExt;
use printrelay_e2e::raw_client::RawClient;
use printrelay_e2e::{http_get, unique_marker, Agent, EventStream, Hub, SpoolWatch, RAW_QUEUE};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(30);
/// The presence bound: a killed node's clients show offline within this.
const OFFLINE_LIMIT: Duration = Duration::from_secs(20);

fn raw_job(client_id: &str, job_id: &str, text: &str) -> Value {
    json!({
        "clientId": client_id, "jobId": job_id, "contentType": "raw_base64",
        "content": base64::engine::general_purpose::STANDARD.encode(text),
    })
}

/// How the nodes tell each other.
#[derive(Debug, Clone, Copy)]
enum Bus {
    Notify,
    Redis,
}

/// Each test, once per [`Bus`].
macro_rules! on_both_buses {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn over_postgres_notify() -> anyhow::Result<()> {
                super::$test(super::Bus::Notify).await
            }
            #[tokio::test]
            async fn over_redis() -> anyhow::Result<()> {
                super::$test(super::Bus::Redis).await
            }
        }
    )*};
}

on_both_buses!(
    a_job_posted_on_one_node_prints_once_through_the_node_holding_its_agent,
    an_event_stream_on_one_node_sees_a_job_of_another_complete,
    an_agent_whose_node_is_killed_fails_over_and_prints_each_job_once,
    a_burst_over_three_nodes_is_delivered_once_per_job,
    a_client_id_registering_on_another_node_closes_its_older_socket,
);

/// Three hub nodes on a fresh database talking over `bus`; `None` when no PostgreSQL
/// (or Redis) is configured.
async fn three_nodes(tag: &str, bus: Bus) -> Result<Option<Vec<Hub>>> {
    let Some(url) = printrelay_e2e::postgres::fresh_database(tag)? else {
        return Ok(None);
    };
    let flags = match bus {
        Bus::Notify => Vec::new(),
        Bus::Redis => match printrelay_e2e::redis::server()? {
            Some(redis) => vec!["--cluster".to_owned(), redis],
            None => return Ok(None),
        },
    };
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut hubs = Vec::new();
    for _ in 0..3 {
        hubs.push(Hub::start_with(Path::new(&url), 2_000, 1_000, &flags).await?);
    }
    if let [_, redis] = &flags[..] {
        on_redis_only(&url, redis)?;
    }
    Ok(Some(hubs))
}

/// The three nodes on `database` (a URL) subscribed to its channel on `redis` and none
/// `LISTEN`s on PostgreSQL: the messages go through Redis.
fn on_redis_only(database: &str, redis: &str) -> Result<()> {
    let name = database.rsplit('/').next().unwrap_or_default();
    let output = std::process::Command::new("redis-cli")
        .args([
            "-u",
            redis,
            "PUBSUB",
            "NUMSUB",
            &format!("printrelay:{name}"),
        ])
        .output()?;
    let numsub = String::from_utf8_lossy(&output.stdout);
    ensure!(
        numsub.lines().nth(1) == Some("3"),
        "subscribers on Redis: {numsub}"
    );
    let output = std::process::Command::new("psql")
        .arg(database)
        .args(["-tA", "-c"])
        .arg("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'printrelay-hub-listen' AND datname = current_database()")
        .output()?;
    let listening = String::from_utf8_lossy(&output.stdout);
    ensure!(
        listening.trim() == "0",
        "listening on PostgreSQL: {listening}"
    );
    Ok(())
}

/// `clientId` → `connected` as `/getStatus` on `hub` lists them.
async fn status(hub: &Hub) -> Result<HashMap<String, bool>> {
    let body: Value = http_get(format!("{}/getStatus", hub.url()))
        .await?
        .json()
        .await?;
    Ok(body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["clientId"].as_str().unwrap_or_default().to_owned(),
                c["connected"] == true,
            )
        })
        .collect())
}

/// Waits until every node lists each of `ids` with `connected` as given.
async fn presence_everywhere(
    hubs: &[&Hub],
    ids: &[String],
    connected: bool,
    limit: Duration,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let mut wrong = Vec::new();
        for (n, hub) in hubs.iter().enumerate() {
            let listed = status(hub).await?;
            for id in ids {
                if listed.get(id) != Some(&connected) {
                    wrong.push((n, id.clone(), listed.get(id).copied()));
                }
            }
        }
        if wrong.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("not connected={connected} within {limit:?} (node, client, listed): {wrong:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_job_posted_on_one_node_prints_once_through_the_node_holding_its_agent(
    bus: Bus,
) -> Result<()> {
    let Some(hubs) = three_nodes("cluster-spread", bus).await? else {
        return Ok(());
    };
    let ids: Vec<String> = (0..3)
        .map(|i| unique_marker(&format!("spread-{i}")))
        .collect();
    let mut agents = Vec::new();
    for (hub, id) in hubs.iter().zip(&ids) {
        let mut agent = Agent::start(&hub.url(), id, RAW_QUEUE).await?;
        agent.wait_for_state("connected", LIMIT).await?;
        agents.push(agent);
    }
    let all: Vec<&Hub> = hubs.iter().collect();
    presence_everywhere(&all, &ids, true, LIMIT).await?;

    let marker = unique_marker("spread-job");
    let job_id = format!("{marker}-job");
    let mut watch = SpoolWatch::new(RAW_QUEUE);
    let (code, _) = hubs[0].submit(&raw_job(&ids[2], &job_id, &marker)).await?;
    ensure!(code == 202, "{code}");
    hubs[0]
        .wait_for_job_state(&job_id, "completed", LIMIT)
        .await?;
    watch
        .wait_for_markers(std::slice::from_ref(&marker), LIMIT)
        .await?;
    // Nothing more comes out later.
    tokio::time::sleep(Duration::from_secs(1)).await;
    watch.poll();
    watch.ensure_each_once(&[marker])
}

async fn an_event_stream_on_one_node_sees_a_job_of_another_complete(bus: Bus) -> Result<()> {
    let Some(hubs) = three_nodes("cluster-events", bus).await? else {
        return Ok(());
    };
    let id = unique_marker("events");
    let mut agent = Agent::start(&hubs[2].url(), &id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let mut events = EventStream::open(&hubs[1].url(), "").await?;
    let marker = unique_marker("events-job");
    let job_id = format!("{marker}-job");
    let (code, _) = hubs[0].submit(&raw_job(&id, &job_id, &marker)).await?;
    ensure!(code == 202, "{code}");
    for state in ["queued", "delivered", "completed"] {
        events
            .wait_for(LIMIT, "job", |e| {
                e["jobId"] == job_id && e["state"] == state
            })
            .await?;
    }
    Ok(())
}

async fn an_agent_whose_node_is_killed_fails_over_and_prints_each_job_once(bus: Bus) -> Result<()> {
    let Some(mut hubs) = three_nodes("cluster-failover", bus).await? else {
        return Ok(());
    };
    let agent_id = unique_marker("failover");
    let servers = format!("{},{}", hubs[2].url(), hubs[1].url());
    let flags = [
        "--reconnect-delay-ms",
        "100",
        "--reconnect-delay-max-ms",
        "300",
    ];
    let mut agent = Agent::start_with(&servers, &agent_id, RAW_QUEUE, &flags).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    // A client of the doomed node that never reconnects.
    let raw_id = unique_marker("failover-raw");
    let mut raw = RawClient::connect(hubs[2].port, &json!({"clientId": raw_id})).await?;
    raw.emit("register", &json!(raw_id)).await?;
    raw.wait_for_event("registered", LIMIT).await?;
    let ids = [agent_id.clone(), raw_id.clone()];
    let all: Vec<&Hub> = hubs.iter().collect();
    presence_everywhere(&all, &ids, true, LIMIT).await?;

    let markers: Vec<String> = (0..30)
        .map(|i| unique_marker(&format!("failover-{i}")))
        .collect();
    let mut watch = SpoolWatch::new(RAW_QUEUE);
    for (i, marker) in markers.iter().enumerate() {
        if i == 10 {
            hubs[2].process.child.kill().await?;
        }
        let (code, _) = hubs[0]
            .submit(&raw_job(&agent_id, &format!("{marker}-job"), marker))
            .await?;
        ensure!(code == 202, "{code}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let killed = hubs.remove(2);
    drop(killed);
    watch.wait_for_markers(&markers, LIMIT * 2).await?;
    for marker in &markers {
        hubs[0]
            .wait_for_job_state(&format!("{marker}-job"), "completed", LIMIT)
            .await?;
    }
    let survivors: Vec<&Hub> = hubs.iter().collect();
    presence_everywhere(
        &survivors,
        std::slice::from_ref(&raw_id),
        false,
        OFFLINE_LIMIT,
    )
    .await?;
    presence_everywhere(&survivors, std::slice::from_ref(&agent_id), true, LIMIT).await?;
    watch.poll();
    watch.ensure_each_once(&markers)
}

/// A PrintRelay-speaking client (`protocol: 1`) that counts every `print` it is sent
/// and answers each with `received` then `completed`, as an agent would, without a
/// printer: the count is of deliveries, not prints.
async fn counting_client(
    port: u16,
    client_id: String,
    sent: std::sync::Arc<std::sync::Mutex<HashMap<String, usize>>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<()> {
    let mut socket =
        RawClient::connect(port, &json!({"clientId": client_id, "protocol": 1})).await?;
    socket.emit("register", &json!(client_id)).await?;
    socket.wait_for_event("registered", LIMIT).await?;
    loop {
        let event = tokio::select! {
            _ = &mut stop => return Ok(()),
            event = socket.next_event(LIMIT * 8) => event?,
        };
        let Some((name, data)) = event else {
            bail!("{client_id} was disconnected");
        };
        if name != "print" {
            continue;
        }
        let job_id = data["jobId"].as_str().unwrap_or_default().to_owned();
        *sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(job_id.clone())
            .or_default() += 1;
        for state in ["received", "completed"] {
            let status = json!({"jobId": job_id, "state": state, "at": 1, "printer": "P"});
            socket.emit("job_status", &status).await?;
        }
    }
}

/// 1,000 jobs posted concurrently over the 3 nodes for 20 clients spread over them:
/// every job is sent exactly once (counted by the clients that received them) and ends
/// `completed`.
async fn a_burst_over_three_nodes_is_delivered_once_per_job(bus: Bus) -> Result<()> {
    let Some(hubs) = three_nodes("cluster-burst", bus).await? else {
        return Ok(());
    };
    let ids: Vec<String> = (0..20)
        .map(|i| unique_marker(&format!("burst-{i}")))
        .collect();
    let sent = std::sync::Arc::new(std::sync::Mutex::new(HashMap::new()));
    let mut clients = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(counting_client(
            hubs[i % 3].port,
            id.clone(),
            sent.clone(),
            stopped,
        ));
        clients.push((stop, task));
    }
    let all: Vec<&Hub> = hubs.iter().collect();
    presence_everywhere(&all, &ids, true, LIMIT).await?;
    let job_ids: Vec<String> = (0..1000)
        .map(|i| unique_marker(&format!("burst-job-{i}")))
        .collect();
    let answers: Vec<Result<(u16, Value)>> = futures_util::stream::iter(job_ids.iter().enumerate())
        .map(|(i, job_id)| {
            let (hub, id) = (&hubs[i % 3], &ids[i % ids.len()]);
            async move { hub.submit(&raw_job(id, job_id, job_id)).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for answer in answers {
        let (code, body) = answer?;
        ensure!(code == 202, "{code} {body}");
    }
    // Every job ends `completed`, as any node counts them.
    let deadline = Instant::now() + LIMIT * 4;
    loop {
        let stats: Value = hubs[1]
            .request(reqwest::Method::GET, "/api/v1/stats?since=0")
            .send()
            .await?
            .json()
            .await?;
        if stats["jobs"]["completed"] == job_ids.len() && stats["jobs"]["waiting"] == 0 {
            break;
        }
        if let Some(index) = clients.iter().position(|(_, task)| task.is_finished()) {
            let (_, task) = clients.swap_remove(index);
            task.await??;
            bail!("a client stopped early");
        }
        ensure!(Instant::now() < deadline, "not all completed: {stats}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (stop, task) in clients {
        let _ = stop.send(());
        task.await??;
    }
    let sent = sent
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let not_once: Vec<(&String, usize)> = job_ids
        .iter()
        .map(|id| (id, sent.get(id).copied().unwrap_or(0)))
        .filter(|(_, n)| *n != 1)
        .collect();
    ensure!(not_once.is_empty(), "sent other than once: {not_once:?}");
    ensure!(sent.len() == job_ids.len(), "{} jobs sent", sent.len());
    Ok(())
}

async fn a_client_id_registering_on_another_node_closes_its_older_socket(bus: Bus) -> Result<()> {
    let Some(hubs) = three_nodes("cluster-replaced", bus).await? else {
        return Ok(());
    };
    let id = unique_marker("replaced");
    let auth = json!({"clientId": id});
    let mut older = RawClient::connect(hubs[0].port, &auth).await?;
    older.emit("register", &json!(id)).await?;
    older.wait_for_event("registered", LIMIT).await?;
    let mut newer = RawClient::connect(hubs[1].port, &auth).await?;
    newer.emit("register", &json!(id)).await?;
    newer.wait_for_event("registered", LIMIT).await?;
    // A raw client answers pings only while read: keep the newer one alive meanwhile.
    let newer =
        tokio::spawn(async move { while let Ok(Some(_)) = newer.next_event(LIMIT * 4).await {} });
    let replaced = older.wait_for_event("replaced", LIMIT).await?;
    ensure!(replaced["clientId"] == id.as_str(), "{replaced}");
    older.until_closed(LIMIT).await?;
    // The id lives on, on the newer socket, as every node says.
    let all: Vec<&Hub> = hubs.iter().collect();
    let listed = presence_everywhere(&all, std::slice::from_ref(&id), true, LIMIT).await;
    newer.abort();
    listed
}

/// Redis dies while a job is posted (its wake-up cannot be published) and comes back: the
/// nodes subscribe again, look for work, and the job prints once.
#[tokio::test]
async fn a_job_posted_while_redis_is_down_prints_once_it_is_back() -> Result<()> {
    let Some(mut redis) = printrelay_e2e::redis::OwnRedis::start().await? else {
        return Ok(());
    };
    let Some(url) = printrelay_e2e::postgres::fresh_database("cluster-redis-down")? else {
        return Ok(());
    };
    let flags = ["--cluster", &redis.url()];
    let a = Hub::start_with(Path::new(&url), 2_000, 1_000, &flags).await?;
    let b = Hub::start_with(Path::new(&url), 2_000, 1_000, &flags).await?;
    let id = unique_marker("redis-down");
    let mut agent = Agent::start(&b.url(), &id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    presence_everywhere(&[&a, &b], std::slice::from_ref(&id), true, LIMIT).await?;

    redis.kill().await?;
    let marker = unique_marker("redis-down-job");
    let job_id = format!("{marker}-job");
    let mut watch = SpoolWatch::new(RAW_QUEUE);
    let (code, _) = a.submit(&raw_job(&id, &job_id, &marker)).await?;
    ensure!(code == 202, "{code}");
    ensure!(
        a.job(&job_id)
            .await?
            .is_some_and(|job| job["state"] == "queued"),
        "the job waits while the nodes cannot talk"
    );
    redis.resume().await?;
    watch
        .wait_for_markers(std::slice::from_ref(&marker), LIMIT)
        .await?;
    a.wait_for_job_state(&job_id, "completed", LIMIT).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    watch.poll();
    watch.ensure_each_once(&[marker])
}

/// A node set to talk through Redis does not join live nodes that talk through
/// PostgreSQL `NOTIFY` (they would not hear each other: jobs would wait unseen); it stops
/// at start and says why, and the live node goes on.
#[tokio::test]
async fn a_node_on_another_channel_than_the_live_ones_refuses_to_start() -> Result<()> {
    let Some(url) = printrelay_e2e::postgres::fresh_database("cluster-mixed")? else {
        return Ok(());
    };
    let Some(redis) = printrelay_e2e::redis::server()? else {
        return Ok(());
    };
    let live = Hub::start(Path::new(&url), 2_000, 1_000).await?;
    let mut command =
        tokio::process::Command::new(printrelay_e2e::workspace_binary("printrelay-hub")?);
    printrelay_e2e::without_hub_env(command.as_std_mut());
    let out = command
        .args(["--listen", "127.0.0.1:0", "--db", &url, "--cluster", &redis])
        .output()
        .await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(1), "{:?} {stderr}", out.status);
    ensure!(
        stderr.contains("talks through postgres") && stderr.contains("same --cluster setting"),
        "{stderr}"
    );
    let (code, _) = live
        .submit(&raw_job(
            &unique_marker("mixed"),
            &unique_marker("mixed-job"),
            "x",
        ))
        .await?;
    ensure!(code == 202, "{code}");
    Ok(())
}
