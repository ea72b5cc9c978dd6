//! Memory and idle CPU of the agent: the headless agent, and the desktop app in the tray
//! (fresh, window open, after the window closed), totals over every process of the app;
//! beside the same UI in a Chromium app window under the same Xvfb; and the tray process
//! of the Windows build under Wine (`memory_wine`).
//!
//! Memory is read once the process has settled (a fixed pause after it is ready: a
//! measurement window, not a synchronization). CPU is utime + stime from /proc over idle
//! windows, in percent of one CPU.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use printrelay_e2e::desktop::{is_web_engine, session_bus, wait_for_tree, window_process, Launch};
use printrelay_e2e::procs::{self, ProcessMemory};
use printrelay_e2e::{repo_root, unique_marker, Agent, Hub, Process, VirtualDisplay, RAW_QUEUE};
use serde_json::json;

use crate::jobs::next_event;
use crate::stats::{Figure, Report};
use crate::Plan;

const LIMIT: Duration = Duration::from_secs(60);

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Lets a process that just became ready finish what it does at start before it is
/// measured.
async fn settle(seconds: u64) {
    tokio::time::sleep(Duration::from_secs(seconds)).await;
}

/// RSS and PSS totals of a process tree, in MiB, and how many processes.
fn totals(tree: &[ProcessMemory]) -> (f64, f64, usize) {
    let (rss, pss) = procs::totals(tree);
    (mib(rss), mib(pss), tree.len())
}

/// Three situations of the desktop app, per repetition: RSS, PSS, processes.
#[derive(Debug, Default)]
struct Desktop {
    fresh: Vec<(f64, f64, usize)>,
    open: Vec<(f64, f64, usize)>,
    closed: Vec<(f64, f64, usize)>,
}

/// All sections of this module.
pub async fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 10_000, 5_000).await?;
    let display = VirtualDisplay::start().await?;

    // Headless agent: a fresh start per repetition; the last one stays for the idle CPU.
    let mut headless = Vec::new();
    let mut idle_agent = None;
    for _ in 0..plan.reps {
        let agent = Agent::start(&hub.url(), &unique_marker("bench-mem"), RAW_QUEUE).await?;
        let (agent, mut events) = agent.timed_events();
        next_event(&mut events, "connected", |e| {
            e["payload"]["state"] == "connected"
        })
        .await?;
        settle(2).await;
        headless.push(totals(&procs::tree(agent.pid()?)?));
        idle_agent = Some(agent);
    }

    let (_bus, bus) = session_bus().await?;
    let mut desktop = Desktop::default();
    let mut idle_app: Option<(Process, tempfile::TempDir)> = None;
    for rep in 0..plan.reps.min(3) {
        // One instance per session bus: a running app would take the next launch over.
        if let Some((mut app, _home)) = idle_app.take() {
            let _ = app.child.kill().await;
        }
        let (app, home) = desktop_cycle(&hub, &display.display, &bus, rep, &mut desktop).await?;
        idle_app = Some((app, home));
    }

    let wine_tray = crate::memory_wine::tray_rss(&hub, plan.reps.min(3)).await;

    // Idle CPU: both stay connected to the hub (heartbeats every 10 s) and do nothing else.
    let agent_pid = idle_agent
        .as_ref()
        .ok_or_else(|| anyhow!("no agent"))?
        .pid()?;
    let app_pid = idle_app
        .as_ref()
        .ok_or_else(|| anyhow!("no app"))?
        .0
        .pid()?;
    let window = plan.idle / plan.idle_windows as u32;
    let ticks = procs::cpu_ticks_per_second() as f64;
    let (mut agent_cpu, mut app_cpu) = (Vec::new(), Vec::new());
    for _ in 0..plan.idle_windows {
        let before = (tree_ticks(agent_pid)?, tree_ticks(app_pid)?);
        let started = std::time::Instant::now();
        tokio::time::sleep(window).await;
        let seconds = started.elapsed().as_secs_f64();
        let after = (tree_ticks(agent_pid)?, tree_ticks(app_pid)?);
        agent_cpu.push((after.0 - before.0) as f64 / ticks / seconds * 100.0);
        app_cpu.push((after.1 - before.1) as f64 / ticks / seconds * 100.0);
    }
    drop(idle_app);
    drop(idle_agent);

    let chromium = if plan.chromium {
        match chromium_reference(&display.display, plan.reps.min(3)).await {
            Ok(samples) => Some(samples),
            Err(error) => {
                report.note(format!("Chromium reference not measured: {error:#}"));
                None
            }
        }
    } else {
        report.note("Chromium reference skipped in short mode (pass --chromium); ratios to it are not computed");
        None
    };

    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    report.add(
        Figure::new("memory.headless.rss", "MiB", &rss(&headless))
            .target("< 15 MB RSS", |v, _| v * 1.048_576 < 15.0)
            .detail(
                json!({"build": build, "pssMiB": crate::stats::Spread::of(&pss(&headless)).median}),
            ),
    );
    let situations = [
        ("memory.tray.fresh", &desktop.fresh, Some(0.1)),
        ("memory.tray.afterWindowClosed", &desktop.closed, Some(0.1)),
        ("memory.windowOpen", &desktop.open, Some(0.5)),
    ];
    for (name, samples, share) in situations {
        for (kind, pick, reference) in [
            ("rss", rss(samples), chromium.as_deref().map(rss)),
            ("pss", pss(samples), chromium.as_deref().map(pss)),
        ] {
            let mut figure = Figure::new(&format!("{name}.{kind}"), "MiB", &pick)
                .detail(json!({"build": build, "processes": processes(samples)}));
            let judged = reference.is_some();
            if let Some(reference) = reference {
                figure = figure.reference(
                    &format!(
                        "Chromium --app on the same UI ({} processes)",
                        chromium.as_deref().map_or(0, processes)
                    ),
                    &reference,
                );
            }
            // Without the reference there is nothing to judge the share against.
            if let (Some(share), "rss", true) = (share, kind, judged) {
                figure = figure.target(&format!("<= {share} of Chromium's RSS"), move |_, r| {
                    r.is_some_and(|r| r <= share)
                });
            }
            report.add(figure);
        }
    }
    match wine_tray {
        Ok(Some(samples)) => report.add(
            Figure::new("memory.tray.wine.rss", "MiB", &samples)
                .reference(
                    "the Linux tray process (memory.tray.fresh.rss), same run",
                    &rss(&desktop.fresh),
                )
                .detail(json!({"build": "debug", "state": "tray process under Wine 8, idle, connected"})),
        ),
        Ok(None) => report.note("Wine is not installed: memory.tray.wine not measured"),
        Err(error) => report.note(format!("memory.tray.wine not measured: {error:#}")),
    }
    let idle_what = format!("{} windows of {} s", plan.idle_windows, window.as_secs());
    report.add(
        Figure::new("cpu.idle.headless", "%", &agent_cpu)
            .target("< 0.1 %", |v, _| v < 0.1)
            .detail(json!({"over": idle_what})),
    );
    report.add(
        Figure::new("cpu.idle.tray", "%", &app_cpu)
            .target("< 0.1 %", |v, _| v < 0.1)
            .detail(
                json!({"over": idle_what, "state": "tray after the window was opened and closed"}),
            ),
    );
    Ok(())
}

type Sample = (f64, f64, usize);

fn rss(samples: &[Sample]) -> Vec<f64> {
    samples.iter().map(|s| s.0).collect()
}

fn pss(samples: &[Sample]) -> Vec<f64> {
    samples.iter().map(|s| s.1).collect()
}

fn processes(samples: &[Sample]) -> usize {
    samples.iter().map(|s| s.2).max().unwrap_or(0)
}

/// CPU ticks of a process tree; a tree that cannot be read is an error, not an idle 0.
fn tree_ticks(root: u32) -> Result<u64> {
    Ok(procs::tree(root)?.iter().map(|p| p.cpu_ticks).sum())
}

/// One life of the desktop app: started hidden, window opened by a second launch, window
/// closed. Returns the app (still in the tray) and its home folder.
async fn desktop_cycle(
    hub: &Hub,
    display: &str,
    bus: &str,
    rep: usize,
    desktop: &mut Desktop,
) -> Result<(Process, tempfile::TempDir)> {
    let home = tempfile::tempdir()?;
    let client_id = unique_marker("bench-desk");
    let server = hub.url();
    let launch = Launch {
        bus,
        display,
        home: home.path(),
        server: &server,
        client_id: &client_id,
    };
    let app = launch
        .command(&["--hidden"], &format!("bench-desktop-{rep}.log"))?
        .spawn()
        .context("starting the desktop app")?;
    let app = Process::new(app);
    let root = app.pid()?;
    printrelay_e2e::wait_until_listed(&server, &client_id, LIMIT).await?;
    settle(3).await;
    desktop.fresh.push(totals(&procs::tree(root)?));

    let second = launch
        .command(&[], &format!("bench-desktop-{rep}-second.log"))?
        .status();
    tokio::time::timeout(LIMIT, second).await??;
    wait_for_tree(root, "window with its web engine", |tree| {
        tree.iter().any(is_web_engine) && window_process(tree).is_some()
    })
    .await?;
    // The page loads and paints in the web process after it appears.
    settle(5).await;
    let open = procs::tree(root)?;
    desktop.open.push(totals(&open));

    let window = window_process(&open).ok_or_else(|| anyhow!("no window process"))?;
    std::process::Command::new("kill")
        .arg(window.to_string())
        .status()?;
    wait_for_tree(root, "web engine gone", |tree| {
        !tree.iter().any(is_web_engine) && window_process(tree).is_none()
    })
    .await?;
    settle(2).await;
    desktop.closed.push(totals(&procs::tree(root)?));
    Ok((app, home))
}

/// The same UI (ui/, served over loopback HTTP so its modules load) in `chromium --app`,
/// a fresh profile per repetition: RSS, PSS and processes of the whole browser tree.
async fn chromium_reference(display: &str, reps: usize) -> Result<Vec<(f64, f64, usize)>> {
    let url = serve_folder(repo_root().join("ui")).await?;
    let mut samples = Vec::new();
    for _ in 0..reps {
        let profile = tempfile::tempdir()?;
        let mut command = tokio::process::Command::new("chromium");
        command
            .arg(format!("--app={url}/index.html"))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            // Root cannot use Chromium's sandbox; these benches run as root in CI.
            .args([
                "--no-sandbox",
                "--no-first-run",
                "--no-default-browser-check",
            ])
            .env("DISPLAY", display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        let browser = Process::group_leader(
            command
                .spawn()
                .context("starting chromium (Debian package `chromium`)")?,
        );
        let root = browser.pid()?;
        wait_for_tree(root, "a Chromium renderer", |tree| {
            tree.iter().any(|p| {
                std::fs::read(format!("/proc/{}/cmdline", p.pid))
                    .is_ok_and(|c| c.windows(15).any(|w| w == b"--type=renderer"))
            })
        })
        .await?;
        // As for the desktop window: the page loads and paints after the renderer starts.
        settle(5).await;
        samples.push(totals(&procs::tree(root)?));
    }
    Ok(samples)
}

/// Serves the files of `folder` on a loopback port until the program ends; returns the
/// base URL.
async fn serve_folder(folder: PathBuf) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let folder = folder.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 8192];
                let read = socket.read(&mut request).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..read]);
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                let path = path
                    .split('?')
                    .next()
                    .unwrap_or("/")
                    .trim_start_matches('/');
                let file = folder.join(if path.is_empty() { "index.html" } else { path });
                let (status, body) = match safe_read(&folder, &file) {
                    Some(body) => ("200 OK", body),
                    None => ("404 Not Found", Vec::new()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: {}\r\nConnection: close\r\n\r\n",
                    body.len(),
                    content_type(&file)
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok(url)
}

/// The file's bytes if it lies inside `folder`.
fn safe_read(folder: &Path, file: &Path) -> Option<Vec<u8>> {
    let file = file.canonicalize().ok()?;
    file.starts_with(folder.canonicalize().ok()?)
        .then(|| std::fs::read(file).ok())
        .flatten()
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
