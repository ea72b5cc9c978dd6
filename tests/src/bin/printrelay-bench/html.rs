//! HTML jobs: time from the hub accepting the job to the agent's `spooled` (rendered by
//! the agent's Chromium, then spooled on the raw queue), and the peak memory (PSS) of the
//! render's processes, for the A5 invoice and the barcode label; beside Debian's
//! `chromium --headless --print-to-pdf` on the same files in the same run, timed from
//! spawn to exit, its process tree sampled the same way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use printrelay_e2e::fixtures::{invoice_html, label_html};
use printrelay_e2e::procs;
use serde_json::json;
use tokio::time::Instant;

use crate::jobs::{next_event, Rig};
use crate::stats::{percentile, Figure, Report};
use crate::Plan;

/// How often the render's processes are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// The largest PSS, in KiB, that `root`'s descendants (`root` itself left out when
/// `descendants_only`) reach while sampled; stops when dropped.
struct PeakMemory {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl PeakMemory {
    fn watch(root: u32, descendants_only: bool) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&peak);
        let task = tokio::spawn(async move {
            loop {
                if let Ok(tree) = procs::tree(root) {
                    let counted: Vec<_> = tree
                        .into_iter()
                        .filter(|p| !(descendants_only && p.pid == root))
                        .collect();
                    seen.fetch_max(procs::totals(&counted).1, Ordering::Relaxed);
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        });
        Self { peak, task }
    }

    fn stop(self) -> f64 {
        self.task.abort();
        self.peak.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// Both documents, each `plan.reps` times (plus one warm-up) through the agent and
/// through the Chromium command line.
pub async fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let documents = [
        ("invoice", invoice_html()?, json!({})),
        (
            "label",
            label_html()?,
            json!({"pageSize": {"widthMm": 100, "heightMm": 150}, "margins": 0}),
        ),
    ];
    let mut rig = Rig::start((10_000, 5_000), &[]).await?;
    let agent = rig._agent.pid()?;
    let dir = tempfile::tempdir()?;
    let runs = if plan.short { plan.reps } else { 20 };
    for (name, html, options) in &documents {
        let (mut ours, mut ours_peak) = (Vec::new(), Vec::new());
        for i in 0..=runs {
            let job_id = format!("{}-{name}-{i}", rig.client_id);
            let job = json!({"clientId": rig.client_id, "jobId": job_id, "contentType": "html",
                "content": html, "options": options});
            let peak = PeakMemory::watch(agent, true);
            let sent = Instant::now();
            let (status, body) = rig.hub.submit(&job).await?;
            ensure!(status == 202, "submit answered {status}: {body}");
            let spooled = next_event(&mut rig.events, "spooled", |e| {
                e["type"] == "job"
                    && e["payload"]["jobId"] == job_id
                    && e["payload"]["state"] == "spooled"
            })
            .await?;
            let peak = peak.stop();
            if i > 0 {
                ours.push((spooled.at - sent).as_secs_f64() * 1000.0);
                ours_peak.push(peak);
            }
        }
        let file = dir.path().join(format!("{name}.html"));
        std::fs::write(&file, html)?;
        let (mut reference, mut reference_peak) = (Vec::new(), Vec::new());
        for i in 0..=runs {
            let (took, peak) =
                chromium_print(&file, &dir.path().join(format!("{name}-{i}.pdf"))).await?;
            if i > 0 {
                reference.push(took);
                reference_peak.push(peak);
            }
        }
        let what = "`chromium --headless --print-to-pdf` on the same file";
        report.add(
            Figure::new(
                &format!("html.{name}.acceptToSpooled.p50"),
                "ms",
                &[percentile(&ours, 50.0)],
            )
            .reference(&format!("{what}, p50"), &[percentile(&reference, 50.0)])
            .target("no slower than Chromium", |_, r| {
                r.is_some_and(|r| r <= 1.0)
            })
            .detail(json!({"runs": runs, "samples": ours, "reference": reference})),
        );
        report.add(
            Figure::new(
                &format!("html.{name}.acceptToSpooled.p95"),
                "ms",
                &[percentile(&ours, 95.0)],
            )
            .reference(&format!("{what}, p95"), &[percentile(&reference, 95.0)]),
        );
        report.add(
            Figure::new(&format!("html.{name}.renderPeakPss"), "MiB", &ours_peak)
                .reference(
                    &format!("{what}, peak PSS of its processes"),
                    &reference_peak,
                )
                .target("at most half of Chromium's", |_, r| {
                    r.is_some_and(|r| r <= 0.5)
                }),
        );
    }
    Ok(())
}

/// One `chromium --headless --print-to-pdf` run: its time from spawn to exit, and the
/// peak PSS of its processes in MiB.
async fn chromium_print(page: &std::path::Path, pdf: &std::path::Path) -> Result<(f64, f64)> {
    let mut command = tokio::process::Command::new("chromium");
    command
        .args([
            "--headless",
            "--disable-gpu",
            "--no-pdf-header-footer",
            "--no-first-run",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()));
    if running_as_root() {
        command.arg("--no-sandbox");
    }
    command
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .context("starting chromium (Debian package `chromium`)")?;
    let peak = PeakMemory::watch(child.id().context("chromium's pid")?, false);
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .context("chromium --print-to-pdf ran for over 60 s")??;
    let took = started.elapsed().as_secs_f64() * 1000.0;
    let peak = peak.stop();
    ensure!(
        status.success() && pdf.exists(),
        "chromium --print-to-pdf failed: {status}"
    );
    Ok((took, peak))
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .is_ok_and(|meta| std::os::unix::fs::MetadataExt::uid(&meta) == 0)
}
