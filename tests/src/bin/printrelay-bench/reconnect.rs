//! Reconnect: a restarted hub (the agent's chosen backoff subtracted), a frozen hub
//! (SIGSTOP; detection against pingInterval + pingTimeout), and many simulated agents
//! reconnecting at once after a hub restart, beside the Node reference server.
//!
//! Clock: wall-clock milliseconds since the epoch, which the agent stamps in its events
//! (`retryAt`, `since`, `lastPingAt`) and the bench reads from the same system clock.

use std::time::Duration;

use anyhow::{Context, Result};
use printrelay_e2e::{wall_ms, Hub, LoadGen, OriginalServer};
use serde_json::{json, Value};

use crate::jobs::{next_event, Rig};
use crate::stats::{Figure, Report};
use crate::Plan;

const LIMIT: Duration = Duration::from_secs(60);

/// Stops the hub with SIGTERM (what a service manager does) and waits until it is gone.
async fn stop(hub: &mut Hub) -> Result<()> {
    hub.process.signal("TERM")?;
    tokio::time::timeout(LIMIT, hub.process.child.wait())
        .await
        .context("the hub did not stop within 60 s")??;
    Ok(())
}

/// All sections of this module.
pub async fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    restart(plan, report).await?;
    frozen(plan, report).await?;
    mass(plan, report).await
}

async fn restart(plan: &Plan, report: &mut Report) -> Result<()> {
    let mut rig = Rig::start((10_000, 5_000), &["--reconnect-attempts", "50"]).await?;
    let db = rig.db_path();
    let port = rig.hub.port;
    let (mut beyond_backoff, mut total, mut backoff) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..plan.reps {
        let stopped_at = wall_ms();
        stop(&mut rig.hub).await?;
        rig.hub = Hub::start_at(port, &db, 10_000, 5_000, &[]).await?;
        let ready_at = wall_ms();
        let mut last_retry_at = None;
        let connected = loop {
            let event = next_event(&mut rig.events, "connected again", |e| {
                e["type"] == "connection"
            })
            .await?;
            let payload = &event.event["payload"];
            match payload["state"].as_str() {
                Some("reconnecting") => last_retry_at = payload["retryAt"].as_u64(),
                Some("connected") => break payload["since"].as_u64().unwrap_or(event.wall_ms),
                _ => {}
            }
        };
        let retry_at = last_retry_at.unwrap_or(ready_at).max(ready_at);
        beyond_backoff.push(connected.saturating_sub(retry_at) as f64);
        total.push(connected.saturating_sub(stopped_at) as f64);
        backoff.push(retry_at.saturating_sub(stopped_at) as f64);
        printrelay_e2e::wait_until_listed(&rig.hub.url(), &rig.client_id, LIMIT).await?;
    }
    report.add(
        Figure::new("reconnect.hubRestart.beyondBackoff", "ms", &beyond_backoff).detail(json!({
            "what": "connected and registered again, minus the wait the agent chose (its last retryAt, or the hub's restart if later)",
            "stopToConnectedMs": crate::stats::Spread::of(&total).median,
            "backoffMs": crate::stats::Spread::of(&backoff).median,
        })),
    );
    Ok(())
}

async fn frozen(plan: &Plan, report: &mut Report) -> Result<()> {
    let (interval, timeout) = plan.frozen_ping;
    let mut rig = Rig::start(plan.frozen_ping, &["--reconnect-attempts", "50"]).await?;
    let mut detected = Vec::new();
    for _ in 0..plan.reps {
        let ping = next_event(&mut rig.events, "heartbeat", |e| {
            e["type"] == "heartbeat" && e["payload"]["lastPingAt"].is_u64()
        })
        .await?;
        let mut last_ping = ping.event["payload"]["lastPingAt"]
            .as_u64()
            .unwrap_or(ping.wall_ms);
        rig.hub.process.signal("STOP")?;
        let lost = loop {
            let event = next_event(&mut rig.events, "dead detected", |e| {
                e["type"] == "heartbeat" || e["type"] == "connection"
            })
            .await?;
            let payload = &event.event["payload"];
            if let Some(at) = payload["lastPingAt"].as_u64() {
                last_ping = last_ping.max(at);
            }
            if payload["state"] == "reconnecting" {
                break event.wall_ms;
            }
        };
        detected.push(lost.saturating_sub(last_ping) as f64);
        rig.hub.process.signal("CONT")?;
        next_event(&mut rig.events, "connected after thaw", |e| {
            e["type"] == "connection" && e["payload"]["state"] == "connected"
        })
        .await?;
    }
    let bound = (interval + timeout) as f64;
    report.add(
        Figure::new("reconnect.frozenHub.deadDetected", "ms", &detected)
            .reference("pingInterval + pingTimeout", &[bound])
            .target("within pingInterval + pingTimeout + 1 s", move |v, _| {
                v <= bound + 1000.0
            })
            .detail(json!({"pingIntervalMs": interval, "pingTimeoutMs": timeout})),
    );
    Ok(())
}

/// A server the simulated agents reconnect to: our hub or the Node reference.
enum Server {
    Hub(Hub, tempfile::TempDir),
    Node(OriginalServer),
}

impl Server {
    async fn start(node: bool, port: u16, db: Option<tempfile::TempDir>) -> Result<Self> {
        Ok(if node {
            Self::Node(OriginalServer::start_with(port, 10_000, 5_000, &[]).await?)
        } else {
            let db = match db {
                Some(db) => db,
                None => tempfile::tempdir()?,
            };
            let hub = Hub::start_at(port, &db.path().join("hub.db"), 10_000, 5_000, &[]).await?;
            Self::Hub(hub, db)
        })
    }

    fn port(&self) -> u16 {
        match self {
            Self::Hub(hub, _) => hub.port,
            Self::Node(node) => node.port,
        }
    }

    /// Stops it with SIGTERM; returns the hub's database folder for the restart.
    async fn stop(self) -> Result<Option<tempfile::TempDir>> {
        let mut process = match self {
            Self::Hub(mut hub, db) => {
                stop(&mut hub).await?;
                return Ok(Some(db));
            }
            Self::Node(node) => node.process,
        };
        process.signal("TERM")?;
        tokio::time::timeout(LIMIT, process.child.wait()).await??;
        Ok(None)
    }
}

async fn mass(plan: &Plan, report: &mut Report) -> Result<()> {
    let count = plan.mass_agents;
    let mut results: Vec<Vec<f64>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for (node, name) in [(false, "hub"), (true, "node")] {
        let mut server = Server::start(node, 0, None).await?;
        let url = format!("http://127.0.0.1:{}", server.port());
        let prefix = format!("{}-", printrelay_e2e::unique_marker("mass"));
        let count_arg = count.to_string();
        let mut load = LoadGen::start(
            &url,
            &[
                "--count",
                &count_arg,
                "--prefix",
                &prefix,
                "--reconnect",
                "--retry-ms",
                "200",
                "--hold-secs",
                "100000",
            ],
        )?;
        let first: Value = load
            .wait_for(LIMIT, "report", |l| l.get("listed").is_some())
            .await?;
        anyhow::ensure!(
            first["listed"] == count,
            "{name}: not all agents listed: {first}"
        );
        for rep in 0..plan.reps {
            let port = server.port();
            let db = server.stop().await?;
            server = Server::start(node, port, db).await?;
            let ready_at = wall_ms();
            let round = rep + 2;
            let all = load
                .wait_for(LIMIT, "all connected again", |l| {
                    l["event"] == "allConnected" && l["round"] == round
                })
                .await?;
            results[usize::from(node) * 2].push(elapsed_ms(&all, ready_at)?);
            if !node {
                let all = load
                    .wait_for(LIMIT, "all registered again", |l| {
                        l["event"] == "allRegistered" && l["round"] == round
                    })
                    .await?;
                results[1].push(elapsed_ms(&all, ready_at)?);
            }
        }
        drop(load);
        server.stop().await?;
    }
    let [connected, registered, node] = [&results[0], &results[1], &results[2]];
    report.add(
        Figure::new(&format!("reconnect.mass{count}.allConnected"), "ms", connected)
            .reference("the Node reference server, same loadgen", node)
            .detail(json!({"agents": count, "retryMs": "100..200 after each failed attempt", "from": "restarted server listening"})),
    );
    report.add(
        Figure::new(&format!("reconnect.mass{count}.allRegistered"), "ms", registered)
            .detail(json!({"agents": count, "what": "every agent has the hub's `registered` answer (the Node server sends none)"})),
    );
    Ok(())
}

/// Milliseconds from `since` to the line's `at` stamp; a line without one is an error,
/// not a figure of 0.
fn elapsed_ms(line: &Value, since: u64) -> Result<f64> {
    let at = line["at"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("loadgen line without a numeric 'at': {line}"))?;
    Ok(at.saturating_sub(since) as f64)
}
