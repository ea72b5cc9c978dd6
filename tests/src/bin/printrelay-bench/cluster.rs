//! Hub cluster: the same loadgen and counts against (a) one hub on SQLite, the reference,
//! (b) one hub on PostgreSQL, (c) three hubs on one PostgreSQL database talking through
//! `NOTIFY` (docs/decisions/0008) and (d) the same three talking through Redis
//! (`--cluster`), all on this machine. Three nodes on 2 cores are not faster: the
//! figures show what the cluster path costs, and the single-node ones size a node.
//!
//! PostgreSQL is a throwaway cluster (`tests/postgres/start.sh` in a temp dir on a free
//! port, stopped at the end) with a fresh database per measurement; fresh hubs and
//! loadgens per measurement too. Without PostgreSQL's server binaries the section is
//! skipped with a note.
//!
//! Per setup: agents held (all listed connected by `/getStatus`, none failed); fan-out
//! (one job to each of K agents, 64 `POST /api/v1/jobs` in flight, until the loadgens
//! counted K `print`s; with 3 nodes, jobs go to the nodes round-robin in an order where
//! 2 of 3 reach an agent held by another node); hub memory per agent (RSS/PSS with K
//! agents minus just after start, summed over the nodes, over K); PostgreSQL's memory
//! (RSS/PSS summed over the postmaster and its children); Redis's (a server of the bench's
//! own, started once, skipped with a note without redis-server). With N nodes the K agents are
//! N loadgens of K/N each, one per node, 200/N handshakes in flight each (200 in all, as
//! with one node).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, ensure, Result};
use futures_util::StreamExt;
use printrelay_e2e::procs;
use printrelay_e2e::redis::OwnRedis;
use printrelay_e2e::{http_client, unique_marker, wall_ms, Hub, LoadGen};
use serde_json::{json, Value};

use crate::postgres::Postgres;
use crate::stats::{Figure, Report, Spread};
use crate::Plan;

/// One configuration of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Sqlite,
    Postgres1,
    Postgres3,
    Redis3,
}

impl Setup {
    const ALL: [Setup; 4] = [
        Setup::Sqlite,
        Setup::Postgres1,
        Setup::Postgres3,
        Setup::Redis3,
    ];

    fn name(self) -> &'static str {
        match self {
            Setup::Sqlite => "sqlite1",
            Setup::Postgres1 => "postgres1",
            Setup::Postgres3 => "postgres3",
            Setup::Redis3 => "postgres3redis",
        }
    }

    fn nodes(self) -> usize {
        match self {
            Setup::Postgres3 | Setup::Redis3 => 3,
            _ => 1,
        }
    }
}

#[derive(Debug, Default)]
struct Samples {
    held: Vec<f64>,
    registered: Vec<f64>,
    listed_s: Vec<f64>,
    fanout: Vec<f64>,
    per_agent_kib: Vec<f64>,
    per_agent_pss_kib: Vec<f64>,
    /// PostgreSQL PSS/RSS in MiB: before the hubs, hubs idle, agents held, after fan-out.
    pg_pss_mib: [Vec<f64>; 4],
    pg_rss_mib: [Vec<f64>; 4],
    pg_processes: Vec<f64>,
    /// Redis's PSS/RSS in MiB after fan-out (the Redis setup).
    redis_pss_mib: Vec<f64>,
    redis_rss_mib: Vec<f64>,
}

/// The three setups side by side, `plan.cluster_agents` agents each.
pub async fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let Some(bin) = Postgres::server_binaries() else {
        report.note("cluster skipped: no PostgreSQL server binaries (set PG_BIN, or apt-get install postgresql)");
        return Ok(());
    };
    let postgres = match Postgres::start(bin).await {
        Ok(postgres) => postgres,
        Err(error) => {
            report.note(format!(
                "cluster skipped: PostgreSQL did not start: {error:#}"
            ));
            return Ok(());
        }
    };
    let redis = match OwnRedis::start().await {
        Ok(Some(redis)) => Some(redis),
        Ok(None) => None,
        Err(error) => {
            report.note(format!("cluster over Redis skipped: {error:#}"));
            None
        }
    };
    let setups: Vec<Setup> = Setup::ALL
        .into_iter()
        .filter(|s| *s != Setup::Redis3 || redis.is_some())
        .collect();
    let count = plan.cluster_agents;
    let mut samples: [Samples; 4] = Default::default();
    for _ in 0..plan.reps.min(3) {
        for (index, setup) in setups.iter().copied().enumerate() {
            measure(setup, count, &postgres, redis.as_ref(), &mut samples[index]).await?;
        }
    }
    drop(postgres);
    drop(redis);

    let reference = "1 hub on SQLite (same run)";
    let [sqlite, ..] = &samples;
    for (setup, s) in setups.into_iter().zip(&samples) {
        let name = setup.name();
        let nodes = setup.nodes();
        let median = |v: &[f64]| Spread::of(v).median;
        report.add(
            Figure::new(&format!("cluster.{name}.agentsHeld"), "agents", &s.held).detail(json!({
                "agents": count, "nodes": nodes, "registeredAcks": median(&s.registered),
                "allListedS": median(&s.listed_s),
            })),
        );
        let mut fanout = Figure::new(&format!("cluster.{name}.fanout"), "jobs/s", &s.fanout);
        let mut memory = Figure::new(
            &format!("cluster.{name}.memoryPerAgent"),
            "KiB RSS",
            &s.per_agent_kib,
        );
        if setup != Setup::Sqlite {
            fanout = fanout.reference(reference, &sqlite.fanout);
            memory = memory.reference(reference, &sqlite.per_agent_kib);
        }
        let routing = if nodes > 1 {
            "round-robin over the nodes; 2 of 3 jobs reach an agent held by another node"
        } else {
            "all to the one hub"
        };
        report.add(fanout.detail(json!({
            "agents": count, "nodes": nodes, "inFlight": 64, "submitted": routing,
        })));
        report.add(memory.detail(json!({
            "agents": count, "nodes": nodes, "pssKiB": median(&s.per_agent_pss_kib),
            "what": "summed over the nodes",
        })));
        if setup != Setup::Sqlite {
            let stages = ["beforeHubs", "hubsIdle", "agentsHeld", "afterFanout"];
            let detail: serde_json::Map<String, Value> = stages
                .iter()
                .enumerate()
                .map(|(i, stage)| {
                    (
                        (*stage).to_owned(),
                        json!({"pssMiB": median(&s.pg_pss_mib[i]), "rssMiB": median(&s.pg_rss_mib[i])}),
                    )
                })
                .collect();
            report.add(
                Figure::new(
                    &format!("cluster.{name}.postgresMemory"),
                    "MiB PSS",
                    &s.pg_pss_mib[3],
                )
                .detail(json!({
                    "agents": count, "nodes": nodes, "processes": median(&s.pg_processes),
                    "what": "postmaster and children, after fan-out", "stages": detail,
                })),
            );
        }
        if setup == Setup::Redis3 {
            report.add(
                Figure::new(
                    &format!("cluster.{name}.redisMemory"),
                    "MiB PSS",
                    &s.redis_pss_mib,
                )
                .detail(json!({
                    "agents": count, "nodes": nodes, "rssMiB": median(&s.redis_rss_mib),
                    "what": "redis-server, after fan-out",
                })),
            );
        }
    }
    Ok(())
}

fn hubs_memory_kib(hubs: &[Hub]) -> Result<(u64, u64)> {
    hubs.iter().try_fold((0, 0), |(rss, pss), hub| {
        let (r, p) = procs::totals(&procs::tree(hub.process.pid()?)?);
        Ok((rss + r, pss + p))
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn measure(
    setup: Setup,
    count: usize,
    postgres: &Postgres,
    redis: Option<&OwnRedis>,
    samples: &mut Samples,
) -> Result<()> {
    let nodes = setup.nodes();
    let sqlite_dir = tempfile::tempdir()?;
    let db = match setup {
        Setup::Sqlite => sqlite_dir.path().join("hub.db"),
        _ => PathBuf::from(postgres.create_database("bench_cluster").await?),
    };
    let pg_stage = |stage: usize, samples: &mut Samples| -> Result<()> {
        if setup != Setup::Sqlite {
            let (rss, pss, processes) = postgres.memory_kib()?;
            samples.pg_rss_mib[stage].push(mib(rss));
            samples.pg_pss_mib[stage].push(mib(pss));
            if stage == 3 {
                samples.pg_processes.push(processes as f64);
            }
        }
        Ok(())
    };
    // The backends of the previous measurement's hubs may still be exiting.
    postgres.wait_for_idle().await;
    pg_stage(0, samples)?;
    let redis_url = redis.map(OwnRedis::url).unwrap_or_default();
    let flags: Vec<&str> = match setup {
        Setup::Redis3 => vec!["--cluster", &redis_url],
        _ => Vec::new(),
    };
    let hubs: Vec<Hub> = futures_util::future::try_join_all(
        (0..nodes).map(|_| Hub::start_with(&db, 10_000, 5_000, &flags)),
    )
    .await?;
    // The hubs have just started; give them the moment they need to finish starting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_before, pss_before) = hubs_memory_kib(&hubs)?;
    pg_stage(1, samples)?;

    let marker = unique_marker("cluster");
    let limit = Duration::from_secs(600);
    let concurrency = (200 / nodes).to_string();
    // Node n holds agents `{marker}-{n}-0..`: K/N each, the first K mod N one more.
    let shares: Vec<usize> = (0..nodes)
        .map(|n| count / nodes + usize::from(n < count % nodes))
        .collect();
    let mut loads = Vec::new();
    for (hub, (n, share)) in hubs.iter().zip(shares.iter().enumerate()) {
        let prefix = format!("{marker}-{n}-");
        let share = share.to_string();
        loads.push(LoadGen::start(
            &hub.url(),
            &[
                "--count",
                &share,
                "--prefix",
                &prefix,
                "--concurrency",
                &concurrency,
                "--report-prints",
                &share,
                "--hold-secs",
                "100000",
                "--timeout-secs",
                "600",
            ],
        )?);
    }
    let (mut held, mut registered, mut listed_ms) = (0, 0, 0.0_f64);
    for (load, &share) in loads.iter_mut().zip(&shares) {
        let report = load
            .wait_for(limit, "report", |l| l.get("listed").is_some())
            .await?;
        ensure!(
            report["listed"] == share && report["failed"] == 0,
            "{}: not all agents listed: {report}",
            setup.name()
        );
        held += share;
        registered += report["registeredAcks"].as_u64().unwrap_or(0);
        listed_ms = listed_ms.max(
            report["listedMs"]
                .as_f64()
                .ok_or_else(|| anyhow!("report without a numeric 'listedMs': {report}"))?,
        );
    }
    samples.held.push(held as f64);
    samples.registered.push(registered as f64);
    samples.listed_s.push(listed_ms / 1000.0);
    // Let the allocations of the connection burst settle before reading memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss, pss) = hubs_memory_kib(&hubs)?;
    samples
        .per_agent_kib
        .push(rss.saturating_sub(rss_before) as f64 / count as f64);
    samples
        .per_agent_pss_kib
        .push(pss.saturating_sub(pss_before) as f64 / count as f64);
    pg_stage(2, samples)?;

    // Node-major order, sent round-robin: with 3 nodes, job i goes to node i mod 3 and
    // its agent sits on node i / (K/3), so 2 of 3 jobs cross to another node.
    let marker = &marker;
    let targets: Vec<(String, usize)> = shares
        .iter()
        .enumerate()
        .flat_map(|(n, &share)| (0..share).map(move |j| format!("{marker}-{n}-{j}")))
        .enumerate()
        .map(|(i, client_id)| (client_id, i % nodes))
        .collect();
    let started = wall_ms();
    let hubs_ref = &hubs;
    let sent: Vec<Result<()>> = futures_util::stream::iter(targets)
        .map(|(client_id, node)| async move {
            let job = json!({"clientId": client_id, "jobId": unique_marker("fan"), "contentType": "text", "content": "x"});
            let response = http_client()
                .post(format!("{}/api/v1/jobs", hubs_ref[node].url()))
                .json(&job)
                .send()
                .await?;
            ensure!(
                response.status().is_success(),
                "send answered {}",
                response.status()
            );
            Ok(())
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for result in sent {
        result?;
    }
    let mut at = 0;
    for load in &mut loads {
        let all = load
            .wait_for(limit, "all prints", |l| l["event"] == "prints")
            .await?;
        at = at.max(
            all["at"]
                .as_u64()
                .ok_or_else(|| anyhow!("'prints' line without a numeric 'at': {all}"))?,
        );
    }
    // A stamp at or before the start is a broken clock or line, not a huge throughput.
    ensure!(
        at > started,
        "'prints' stamped {at}, not after the start {started}"
    );
    samples
        .fanout
        .push(count as f64 / ((at - started) as f64 / 1000.0));
    pg_stage(3, samples)?;
    if let (Setup::Redis3, Some(pid)) = (setup, redis.and_then(OwnRedis::pid)) {
        let (rss, pss) = procs::totals(&procs::tree(pid)?);
        samples.redis_rss_mib.push(mib(rss));
        samples.redis_pss_mib.push(mib(pss));
    }
    drop(loads);
    drop(hubs);
    Ok(())
}
