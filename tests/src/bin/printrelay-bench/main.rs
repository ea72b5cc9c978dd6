//! `printrelay-bench`: how fast, how small and how far PrintRelay scales, each figure
//! beside its reference measured in the same run (`lp`, the Node reference server,
//! Chromium). Starts the real parts: hub, headless agent, CUPS queue `PrintRelayRaw`,
//! the desktop app under Xvfb, `printrelay-loadgen`.
//!
//! Prints one JSON line per figure on stdout, the same for people on stderr, and a
//! summary at the end (also in `artifacts/bench-<mode>.{jsonl,txt}`). Missed targets are
//! reported, never a failure; the exit code is non-zero only when the bench itself broke.
//! `--short` is the CI mode (small counts, about two minutes on 2 cores).

mod cluster;
mod html;
mod jobs;
mod memory;
mod memory_wine;
mod postgres;
mod reconnect;
mod scale;
mod stats;

use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use printrelay_e2e::artifacts_dir;

use stats::Report;

#[derive(Debug, Parser)]
#[command(
    about = "PrintRelay benchmarks: latency, throughput, reconnect, memory, hub scale, cluster"
)]
struct Args {
    /// Small counts and short idle periods (CI).
    #[arg(long)]
    short: bool,
    /// Only these sections (comma list of latency, burst, html, reconnect, memory, scale,
    /// cluster).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Measure the Chromium reference in short mode too (full mode always does).
    #[arg(long)]
    chromium: bool,
    /// Idle period for CPU, in seconds (default: 600 full, 20 short).
    #[arg(long)]
    idle_secs: Option<u64>,
    /// Simulated agents per hub-scale step (default: 1000,5000,10000 full, 200 short).
    #[arg(long, value_delimiter = ',')]
    scale_counts: Vec<usize>,
    /// Simulated agents in each cluster setup (default: 3000 full, 300 short).
    #[arg(long)]
    cluster_agents: Option<usize>,
    /// Repetitions of every measurement (default: 5 full, 3 short).
    #[arg(long)]
    reps: Option<usize>,
}

/// The counts of one mode.
#[derive(Debug, Clone)]
pub struct Plan {
    pub short: bool,
    /// Repetitions of every measurement (figures are medians over them).
    pub reps: usize,
    /// Jobs per latency repetition (and `lp` calls beside them).
    pub latency_jobs: usize,
    /// Jobs in one burst.
    pub burst_jobs: usize,
    /// Ping interval and timeout of the hub in the frozen-server measurement, ms.
    pub frozen_ping: (u64, u64),
    /// Simulated agents reconnecting at once.
    pub mass_agents: usize,
    /// Idle period for CPU, and in how many windows it is cut.
    pub idle: Duration,
    pub idle_windows: usize,
    pub chromium: bool,
    /// Simulated agents per hub-scale step.
    pub scale_counts: Vec<usize>,
    /// Simulated agents in each cluster setup (1 hub on SQLite, 1 and 3 on PostgreSQL).
    pub cluster_agents: usize,
}

impl Plan {
    fn new(args: &Args) -> Self {
        let idle = |default| Duration::from_secs(args.idle_secs.unwrap_or(default));
        let scale_counts = |default: &[usize]| {
            if args.scale_counts.is_empty() {
                default.to_vec()
            } else {
                args.scale_counts.clone()
            }
        };
        if args.short {
            Self {
                short: true,
                reps: args.reps.unwrap_or(3),
                latency_jobs: 15,
                burst_jobs: 30,
                frozen_ping: (1_000, 500),
                mass_agents: 100,
                idle: idle(20),
                idle_windows: 4,
                chromium: args.chromium,
                scale_counts: scale_counts(&[200]),
                cluster_agents: args.cluster_agents.unwrap_or(300),
            }
        } else {
            Self {
                short: false,
                reps: args.reps.unwrap_or(5),
                latency_jobs: 200,
                burst_jobs: 1_000,
                frozen_ping: (10_000, 5_000),
                mass_agents: 500,
                idle: idle(600),
                idle_windows: 5,
                chromium: true,
                scale_counts: scale_counts(&[1_000, 5_000, 10_000]),
                cluster_agents: args.cluster_agents.unwrap_or(3_000),
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let plan = Plan::new(&args);
    let wanted = |section: &str| args.only.is_empty() || args.only.iter().any(|s| s == section);
    let mode = if plan.short { "short" } else { "full" };
    let mut report = Report::default();
    report.note(format!(
        "mode {mode}, {} build, {} repetitions, {} CPUs",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        plan.reps,
        std::thread::available_parallelism().map_or(0, usize::from)
    ));
    let started = std::time::Instant::now();
    if wanted("latency") {
        jobs::latency(&plan, &mut report).await?;
    }
    if wanted("burst") {
        jobs::burst(&plan, &mut report).await?;
    }
    if wanted("html") {
        html::run(&plan, &mut report).await?;
    }
    if wanted("reconnect") {
        reconnect::run(&plan, &mut report).await?;
    }
    if wanted("memory") {
        memory::run(&plan, &mut report).await?;
    }
    if wanted("scale") {
        scale::run(&plan, &mut report).await?;
    }
    if wanted("cluster") {
        cluster::run(&plan, &mut report).await?;
    }
    report.note(format!(
        "bench took {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    let summary = report.summary();
    eprintln!("\n== summary ({mode})\n{summary}");
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir)?;
    let lines: Vec<String> = report
        .figures
        .iter()
        .map(|f| f.json().to_string())
        .collect();
    std::fs::write(
        dir.join(format!("bench-{mode}.jsonl")),
        lines.join("\n") + "\n",
    )?;
    std::fs::write(dir.join(format!("bench-{mode}.txt")), summary + "\n")?;
    Ok(())
}
