//! Job latency (hub API accept -> agent `spooled` / `completed`, one job at a time) and
//! burst throughput (many jobs at once -> all completed, each printed exactly once), on
//! the raw CUPS queue, beside `lp` to the same queue.
//!
//! Clock: the bench's monotonic clock for both sides. A job's time starts just before its
//! `POST /api/v1/jobs` is sent and ends when the agent's `--events json` line for the
//! state is read (a reader task stamps lines as they arrive); an `lp` call is timed from
//! spawn to exit.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use futures_util::StreamExt;
use printrelay_e2e::{unique_marker, Agent, Hub, SpoolWatch, TimedEvent, RAW_QUEUE};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use crate::stats::{percentile, Figure, Report};
use crate::Plan;

const LIMIT: Duration = Duration::from_secs(60);
/// Jobs sent first and not counted: the first job pays for connections and caches.
const WARMUP: usize = 3;

/// A fresh hub with its own database, and a headless agent registered on it.
pub struct Rig {
    pub hub: Hub,
    pub _agent: printrelay_e2e::Process,
    pub events: UnboundedReceiver<Result<TimedEvent>>,
    pub client_id: String,
    _db: tempfile::TempDir,
}

impl Rig {
    /// Starts both and waits until the agent is connected and listed by the hub.
    pub async fn start(ping: (u64, u64), agent_flags: &[&str]) -> Result<Self> {
        let db = tempfile::tempdir()?;
        let hub = Hub::start(&db.path().join("hub.db"), ping.0, ping.1).await?;
        let client_id = unique_marker("bench");
        let agent = Agent::start_with(&hub.url(), &client_id, RAW_QUEUE, agent_flags).await?;
        let (agent, mut events) = agent.timed_events();
        next_event(&mut events, "connected", |e| {
            e["type"] == "connection" && e["payload"]["state"] == "connected"
        })
        .await?;
        printrelay_e2e::wait_until_listed(&hub.url(), &client_id, LIMIT).await?;
        Ok(Self {
            hub,
            _agent: agent,
            events,
            client_id,
            _db: db,
        })
    }

    /// The hub's database, for a restart on it.
    pub fn db_path(&self) -> PathBuf {
        self._db.path().join("hub.db")
    }

    /// A text job for this rig's agent (raw queue: the bytes arrive as they are).
    fn job(&self, job_id: &str, content: &str) -> Value {
        json!({"clientId": self.client_id, "jobId": job_id, "contentType": "text", "content": content})
    }
}

/// Reads agent events until one matches; fails after [`LIMIT`] or on a failed job.
pub async fn next_event(
    events: &mut UnboundedReceiver<Result<TimedEvent>>,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Result<TimedEvent> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .with_context(|| format!("no agent event '{what}' within {LIMIT:?}"))?
            .with_context(|| format!("the agent exited before '{what}'"))??;
        if event.event["type"] == "job"
            && ["failed", "rejected", "expired"]
                .contains(&event.event["payload"]["state"].as_str().unwrap_or_default())
        {
            bail!("a job failed: {}", event.event);
        }
        if wanted(&event.event) {
            return Ok(event);
        }
    }
}

fn job_in(state: &'static str, job_id: String) -> impl Fn(&Value) -> bool {
    move |e| e["type"] == "job" && e["payload"]["jobId"] == job_id && e["payload"]["state"] == state
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A file per content in a fresh folder, for `lp`.
fn files(dir: &std::path::Path, contents: &[String]) -> Result<Vec<PathBuf>> {
    contents
        .iter()
        .enumerate()
        .map(|(i, content)| {
            let path = dir.join(format!("job-{i}.txt"));
            std::fs::write(&path, content)?;
            Ok(path)
        })
        .collect()
}

/// One `lp -d PrintRelayRaw -o raw` call, timed from spawn to exit.
async fn lp(file: &std::path::Path) -> Result<Duration> {
    let started = Instant::now();
    let out = tokio::process::Command::new("lp")
        .args(["-d", RAW_QUEUE, "-o", "raw", "-t", "printrelay-bench"])
        .arg(file)
        .output()
        .await
        .context("running lp (cups-client)")?;
    ensure!(
        out.status.success(),
        "lp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(started.elapsed())
}

/// Latency: per repetition a fresh hub and agent, jobs one at a time, then as many `lp`
/// calls; figures are the medians over repetitions of each repetition's percentile.
pub async fn latency(plan: &Plan, report: &mut Report) -> Result<()> {
    let mut per_rep: Vec<[Vec<f64>; 3]> = Vec::new();
    let (mut all_spooled, mut all_completed, mut all_lp) = (Vec::new(), Vec::new(), Vec::new());
    let mut spooled_by_hub_clock = Vec::new();
    for _ in 0..plan.reps {
        let mut rig = Rig::start((10_000, 5_000), &[]).await?;
        let (mut spooled, mut completed) = (Vec::new(), Vec::new());
        for i in 0..WARMUP + plan.latency_jobs {
            let job_id = format!("{}-{i}", rig.client_id);
            let job = rig.job(&job_id, &format!("{job_id}\n"));
            let sent = Instant::now();
            let (status, body) = rig.hub.submit(&job).await?;
            ensure!(status == 202, "submit answered {status}: {body}");
            let s = next_event(
                &mut rig.events,
                "spooled",
                job_in("spooled", job_id.clone()),
            )
            .await?;
            let c = next_event(
                &mut rig.events,
                "completed",
                job_in("completed", job_id.clone()),
            )
            .await?;
            if i >= WARMUP {
                spooled.push(ms(s.at - sent));
                completed.push(ms(c.at - sent));
                // The same span on the wall clock both processes stamp (ms resolution):
                // the hub's `createdAt` to the agent's `updatedAt` of `spooled`.
                if let Some(created) = rig
                    .hub
                    .job(&job_id)
                    .await?
                    .and_then(|j| j["createdAt"].as_u64())
                {
                    if let Some(at) = s.event["payload"]["updatedAt"].as_u64() {
                        spooled_by_hub_clock.push(at.saturating_sub(created) as f64);
                    }
                }
            }
        }
        let dir = tempfile::tempdir()?;
        let contents: Vec<String> = (0..WARMUP + plan.latency_jobs)
            .map(|i| format!("{}\n", unique_marker(&format!("lp-{i}"))))
            .collect();
        let mut calls = Vec::new();
        for (i, file) in files(dir.path(), &contents)?.iter().enumerate() {
            let took = lp(file).await?;
            if i >= WARMUP {
                calls.push(ms(took));
            }
        }
        all_spooled.extend(&spooled);
        all_completed.extend(&completed);
        all_lp.extend(&calls);
        per_rep.push([spooled, completed, calls]);
    }
    let pick = |which: usize, p: f64| -> Vec<f64> {
        per_rep
            .iter()
            .map(|rep| percentile(&rep[which], p))
            .collect()
    };
    let pooled = |samples: &[f64]| json!({"jobs": samples.len(), "p50": percentile(samples, 50.0), "p95": percentile(samples, 95.0), "p99": percentile(samples, 99.0)});
    let detail = json!({
        "jobsPerRep": plan.latency_jobs,
        "pooled": {"acceptToSpooled": pooled(&all_spooled), "acceptToCompleted": pooled(&all_completed), "lp": pooled(&all_lp),
                   "acceptToSpooledByWallClock": pooled(&spooled_by_hub_clock)},
    });
    let lp_what = "one `lp -d PrintRelayRaw -o raw` call";
    report.add(
        Figure::new("latency.acceptToSpooled.p50", "ms", &pick(0, 50.0))
            .reference(&format!("{lp_what}, p50"), &pick(2, 50.0))
            .target("p50 within 2x of one lp call", |_, r| {
                r.is_some_and(|r| r <= 2.0)
            })
            .detail(detail.clone()),
    );
    report.add(
        Figure::new("latency.acceptToSpooled.p95", "ms", &pick(0, 95.0))
            .reference(&format!("{lp_what}, p95"), &pick(2, 95.0)),
    );
    report.add(
        Figure::new("latency.acceptToSpooled.p99", "ms", &pick(0, 99.0))
            .reference(&format!("{lp_what}, p99"), &pick(2, 99.0))
            .target("p99 < 50 ms on loopback", |v, _| v < 50.0),
    );
    for (p, name) in [(50.0, "p50"), (95.0, "p95"), (99.0, "p99")] {
        report.add(Figure::new(
            &format!("latency.acceptToCompleted.{name}"),
            "ms",
            &pick(1, p),
        ));
    }
    Ok(())
}

/// Burst: per repetition `burst_jobs` jobs posted at once to a fresh hub and agent, until
/// all are `completed` and each marker came out of the queue exactly once; then the same
/// count through a shell loop of `lp`, until all its files came out.
pub async fn burst(plan: &Plan, report: &mut Report) -> Result<()> {
    let n = plan.burst_jobs;
    let (mut ours, mut reference, mut lp_submit) = (Vec::new(), Vec::new(), Vec::new());
    let mut exactly_once = true;
    for _ in 0..plan.reps {
        let mut rig = Rig::start((10_000, 5_000), &[]).await?;
        let markers: Vec<String> = (0..n)
            .map(|i| unique_marker(&format!("burst-{i}")))
            .collect();
        let mut spool = SpoolWatch::new(RAW_QUEUE);
        let jobs: Vec<Value> = markers
            .iter()
            .map(|m| rig.job(m, &format!("{m}\n")))
            .collect();
        let started = Instant::now();
        let hub = &rig.hub;
        let answers: Vec<Result<(u16, Value)>> = futures_util::stream::iter(jobs.iter())
            .map(|job| hub.submit(job))
            .buffer_unordered(64)
            .collect()
            .await;
        for answer in answers {
            let (status, body) = answer?;
            ensure!(status == 202, "submit answered {status}: {body}");
        }
        let mut done = std::collections::HashSet::new();
        while done.len() < n {
            let event = next_event(&mut rig.events, "completed", |e| {
                e["type"] == "job" && e["payload"]["state"] == "completed"
            })
            .await?;
            let job_id = event.event["payload"]["jobId"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("job event without a jobId: {}", event.event))?;
            done.insert(job_id.to_owned());
        }
        ours.push(n as f64 / started.elapsed().as_secs_f64());
        spool.wait_for_markers(&markers, LIMIT).await?;
        exactly_once &= spool.counts(&markers).iter().all(|&c| c == 1);

        let dir = tempfile::tempdir()?;
        let markers: Vec<String> = (0..n)
            .map(|i| unique_marker(&format!("lp-burst-{i}")))
            .collect();
        let contents: Vec<String> = markers.iter().map(|m| format!("{m}\n")).collect();
        let paths = files(dir.path(), &contents)?;
        let mut spool = SpoolWatch::new(RAW_QUEUE);
        let started = Instant::now();
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "for f in \"$@\"; do lp -d {RAW_QUEUE} -o raw -t printrelay-bench \"$f\" >/dev/null || exit 1; done"
            ))
            .arg("sh")
            .args(&paths)
            .status()
            .await?;
        ensure!(status.success(), "the lp loop failed");
        lp_submit.push(n as f64 / started.elapsed().as_secs_f64());
        spool.wait_for_markers(&markers, LIMIT).await?;
        reference.push(n as f64 / started.elapsed().as_secs_f64());
    }
    report.add(
        Figure::new("burst.allCompleted", "jobs/s", &ours)
            .reference("a shell loop of lp, until all printed", &reference)
            .target("at least the lp loop's rate, each job printed once", |_, r| {
                exactly_once && r.is_some_and(|r| r >= 1.0)
            })
            .detail(json!({"jobs": n, "exactlyOnce": exactly_once, "lpLoopSubmitRate": crate::stats::Spread::of(&lp_submit).median})),
    );
    Ok(())
}
