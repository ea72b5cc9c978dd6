//! Hub scale: memory per connected agent and job fan-out (one job to each of K simulated
//! agents, until every one received its `print`) at each count, beside the Node
//! reference server at the same count. A fresh server and loadgen per repetition.
//!
//! Memory: the server process's RSS/PSS with K agents registered minus the same just after
//! it started, over K. Fan-out: from the first submission (`POST /api/v1/jobs` to the hub,
//! `GET /startPrint` to the Node server, 64 requests in flight for both) to the loadgen's
//! line saying K prints arrived (wall clock ms on this machine).

use std::time::Duration;

use anyhow::{ensure, Result};
use futures_util::StreamExt;
use printrelay_e2e::procs;
use printrelay_e2e::{http_client, unique_marker, wall_ms, Hub, LoadGen, OriginalServer, Process};
use serde_json::json;

use crate::stats::{Figure, Report};
use crate::Plan;

/// A server under load: our hub or the Node reference.
struct Server {
    process: Process,
    url: String,
    hub: bool,
    _db: Option<tempfile::TempDir>,
}

impl Server {
    async fn start(hub: bool) -> Result<Self> {
        Ok(if hub {
            let db = tempfile::tempdir()?;
            let hub = Hub::start(&db.path().join("hub.db"), 10_000, 5_000).await?;
            Self {
                url: hub.url(),
                process: hub.process,
                hub: true,
                _db: Some(db),
            }
        } else {
            let node = OriginalServer::start(10_000, 5_000).await?;
            Self {
                url: node.url(),
                process: node.process,
                hub: false,
                _db: None,
            }
        })
    }

    fn memory_kib(&self) -> Result<(u64, u64)> {
        Ok(procs::totals(&procs::tree(self.process.pid()?)?))
    }

    /// One text job to `client_id`.
    async fn send(&self, client_id: &str) -> Result<()> {
        let response = if self.hub {
            let job = json!({"clientId": client_id, "jobId": unique_marker("fan"), "contentType": "text", "content": "x"});
            http_client()
                .post(format!("{}/api/v1/jobs", self.url))
                .json(&job)
                .send()
                .await?
        } else {
            let url = reqwest::Url::parse_with_params(
                &format!("{}/startPrint", self.url),
                [("clientId", client_id), ("printData", "x")],
            )?;
            http_client().get(url).send().await?
        };
        ensure!(
            response.status().is_success(),
            "send answered {}",
            response.status()
        );
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Samples {
    per_agent_kib: Vec<f64>,
    per_agent_pss_kib: Vec<f64>,
    fanout: Vec<f64>,
    connect_s: Vec<f64>,
}

/// Every count of the plan, hub and Node side by side.
pub async fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    for &count in &plan.scale_counts {
        let mut sides = [Samples::default(), Samples::default()];
        for _ in 0..plan.reps.min(3) {
            for (side, hub) in [(0, true), (1, false)] {
                measure(hub, count, &mut sides[side]).await?;
            }
        }
        let [hub, node] = &sides;
        let node_what = "the Node reference server (socket.io 4)";
        report.add(
            Figure::new(&format!("scale.{count}.memoryPerAgent"), "KiB RSS", &hub.per_agent_kib)
                .reference(node_what, &node.per_agent_kib)
                .target("at least 2x smaller than Node", |_, r| r.is_some_and(|r| r <= 0.5))
                .detail(json!({"agents": count, "pssKiB": {"hub": crate::stats::Spread::of(&hub.per_agent_pss_kib).median, "node": crate::stats::Spread::of(&node.per_agent_pss_kib).median}})),
        );
        report.add(
            Figure::new(&format!("scale.{count}.fanout"), "jobs/s", &hub.fanout)
                .reference(node_what, &node.fanout)
                .target("at least 2x the Node rate", |_, r| {
                    r.is_some_and(|r| r >= 2.0)
                })
                .detail(json!({"agents": count, "inFlight": 64})),
        );
        report.add(
            Figure::new(&format!("scale.{count}.allListed"), "s", &hub.connect_s)
                .reference(node_what, &node.connect_s)
                .detail(json!({"agents": count, "what": "loadgen start to all listed connected in /getStatus, 200 handshakes in flight"})),
        );
    }
    Ok(())
}

async fn measure(hub: bool, count: usize, samples: &mut Samples) -> Result<()> {
    let server = Server::start(hub).await?;
    // The server has just started; give it the moment it needs to finish starting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_before, pss_before) = server.memory_kib()?;
    let prefix = format!("{}-", unique_marker("scale"));
    let count_arg = count.to_string();
    let mut load = LoadGen::start(
        &server.url,
        &[
            "--count",
            &count_arg,
            "--prefix",
            &prefix,
            "--report-prints",
            &count_arg,
            "--hold-secs",
            "100000",
            "--timeout-secs",
            "600",
        ],
    )?;
    let limit = Duration::from_secs(600);
    let listed = load
        .wait_for(limit, "report", |l| l.get("listed").is_some())
        .await?;
    ensure!(
        listed["listed"] == count && listed["failed"] == 0,
        "not all agents listed: {listed}"
    );
    samples.connect_s.push(
        listed["listedMs"]
            .as_f64()
            .ok_or_else(|| anyhow::anyhow!("report without a numeric 'listedMs': {listed}"))?
            / 1000.0,
    );
    // Let the allocations of the connection burst settle before reading memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss, pss) = server.memory_kib()?;
    samples
        .per_agent_kib
        .push(rss.saturating_sub(rss_before) as f64 / count as f64);
    samples
        .per_agent_pss_kib
        .push(pss.saturating_sub(pss_before) as f64 / count as f64);

    let started = wall_ms();
    let server_ref = &server;
    let sent: Vec<Result<()>> = futures_util::stream::iter(0..count)
        .map(|i| {
            let client_id = format!("{prefix}{i}");
            async move { server_ref.send(&client_id).await }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for result in sent {
        result?;
    }
    let all = load
        .wait_for(limit, "all prints", |l| l["event"] == "prints")
        .await?;
    let at = all["at"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("'prints' line without a numeric 'at': {all}"))?;
    // A stamp at or before the start is a broken clock or line, not a huge throughput.
    ensure!(
        at > started,
        "'prints' stamped {at}, not after the start {started}: {all}"
    );
    let seconds = (at - started) as f64 / 1000.0;
    samples.fanout.push(count as f64 / seconds);
    Ok(())
}
