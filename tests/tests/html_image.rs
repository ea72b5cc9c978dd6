//! HTML and image jobs through the real agent binary, Chromium and CUPS: what the raw
//! test queue received (the agent's PDF, byte for byte) is read back with poppler and
//! zbar. The pages are tests/fixtures/html.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use printrelay_e2e::fixtures::{b64, invoice_html, label_html, png};
use printrelay_e2e::{
    poppler, unique_marker, wait_for_job_output, wait_until_listed, Agent, AgentHome, Hub,
    OriginalServer, RAW_QUEUE,
};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(90);
/// A raw queue whose default paper is Letter (scripts/setup.sh).
const LETTER_QUEUE: &str = "PrintRelayLetter";

/// An agent on the raw queue (which keeps the agent's PDF as it is) and a server.
struct Rig {
    server: OriginalServer,
    agent: Agent,
    client_id: String,
    queue: &'static str,
    _home: AgentHome,
}

impl Rig {
    async fn start(tag: &str, flags: &[&str]) -> Result<Rig> {
        Self::start_on(tag, RAW_QUEUE, flags).await
    }

    async fn start_on(tag: &str, queue: &'static str, flags: &[&str]) -> Result<Rig> {
        let server = OriginalServer::start(10_000, 5_000).await?;
        let client_id = unique_marker(tag);
        let home = AgentHome::new()?;
        // Inherited by every process the agent starts: its renderers can be told apart.
        let mark = [(MARK, std::ffi::OsStr::new(&client_id))];
        let mut agent =
            Agent::start_in_env(&home, &server.url(), &client_id, queue, flags, &mark).await?;
        agent.wait_for_state("connected", LIMIT).await?;
        wait_until_listed(&server.url(), &client_id, LIMIT).await?;
        Ok(Rig {
            server,
            agent,
            client_id,
            queue,
            _home: home,
        })
    }

    fn job_id(&self, name: &str) -> String {
        format!("{}-{name}", self.client_id)
    }

    /// Sends `(name, contentType, content, options)` jobs and waits until each ended;
    /// the statuses of each, by name.
    async fn print(
        &self,
        jobs: &[(&str, &str, String, Value)],
    ) -> Result<HashMap<String, Vec<Value>>> {
        let payloads: Vec<Value> = jobs
            .iter()
            .map(|(name, kind, content, options)| {
                json!({"jobId": self.job_id(name), "contentType": kind, "content": content, "options": options})
            })
            .collect();
        self.server.emit_jobs(&self.client_id, &payloads, 1).await?;
        let by_job = |statuses: &[Value]| {
            jobs.iter()
                .map(|(name, ..)| {
                    let of_job: Vec<Value> = statuses
                        .iter()
                        .filter(|s| s["jobId"] == self.job_id(name) && s["duplicate"] != true)
                        .cloned()
                        .collect();
                    ((*name).to_owned(), of_job)
                })
                .collect::<HashMap<_, _>>()
        };
        let statuses = self
            .server
            .wait_for_statuses(&self.client_id, LIMIT, |s| {
                by_job(s).values().all(|of_job| {
                    of_job.last().is_some_and(|st| {
                        matches!(
                            st["state"].as_str(),
                            Some("completed" | "failed" | "rejected")
                        )
                    })
                })
            })
            .await?;
        Ok(by_job(&statuses))
    }

    /// The PDF the queue received for job `name`, written to a file for poppler.
    async fn output(&self, name: &str, dir: &Path) -> Result<PathBuf> {
        let bytes = wait_for_job_output(self.queue, &self.job_id(name), LIMIT).await?;
        ensure!(bytes.starts_with(b"%PDF-"), "{name}: the queue got no PDF");
        let path = dir.join(format!("{name}.pdf"));
        std::fs::write(&path, bytes)?;
        Ok(path)
    }
}

fn states(statuses: &[Value]) -> Vec<&str> {
    statuses
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect()
}

/// Page sizes in millimetres, from `pdfinfo -f 1 -l N`.
fn page_sizes_mm(pdf: &Path) -> Result<Vec<(f64, f64)>> {
    let info = poppler("pdfinfo", &["-f", "1", "-l", "999"], pdf)?;
    Ok(info
        .lines()
        .filter(|line| line.starts_with("Page") && line.contains(" size:"))
        .filter_map(|line| {
            let numbers: Vec<f64> = line
                .split_once("size:")?
                .1
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            (numbers.len() == 2).then(|| (numbers[0] / 72.0 * 25.4, numbers[1] / 72.0 * 25.4))
        })
        .collect())
}

fn near(got: (f64, f64), want: (f64, f64), tolerance: f64) -> bool {
    (got.0 - want.0).abs() <= tolerance && (got.1 - want.1).abs() <= tolerance
}

#[tokio::test]
async fn an_a5_invoice_prints_two_a5_pages_with_its_header_repeated_and_every_cell_in_order(
) -> Result<()> {
    let rig = Rig::start("html-invoice", &[]).await?;
    let by_job = rig
        .print(&[("invoice", "html", invoice_html()?, json!({}))])
        .await?;
    assert_eq!(
        states(&by_job["invoice"]),
        ["received", "spooled", "completed"],
        "{by_job:#?}"
    );
    let dir = tempfile::tempdir()?;
    let pdf = rig.output("invoice", dir.path()).await?;
    let sizes = page_sizes_mm(&pdf)?;
    assert_eq!(sizes.len(), 2, "two pages: {sizes:?}");
    for size in &sizes {
        assert!(
            near(*size, (148.0, 210.0), 0.5),
            "A5 from CSS @page: {sizes:?}"
        );
    }
    let pages: Vec<String> = (1..=2)
        .map(|n| {
            poppler(
                "pdftotext",
                &["-layout", "-f", &n.to_string(), "-l", &n.to_string()],
                &pdf,
            )
        })
        .collect::<Result<_>>()?;
    for (n, page) in pages.iter().enumerate() {
        assert!(
            page.contains("品名 Item") && page.contains("金额 Amount"),
            "page {}: no header:\n{page}",
            n + 1
        );
    }
    let text = pages.concat();
    let mut from = 0;
    for row in 1..=40 {
        let cell = format!("R{row:02}");
        let at = text[from..].find(&cell).map(|i| i + from);
        assert!(at.is_some(), "{cell} missing or out of order in:\n{text}");
        from = at.unwrap_or(from);
    }
    assert!(
        text.contains("合计 Total: 2870.00") && text.contains("上海示例有限公司"),
        "{text}"
    );
    Ok(())
}

/// Without `pageSize` an HTML job follows its CSS `@page` size, then the printer's
/// default paper: this queue's is Letter (scripts/setup.sh); the agent's fallback is A4.
#[tokio::test]
async fn a_page_without_a_size_follows_its_css_then_the_printers_default_paper() -> Result<()> {
    let rig = Rig::start_on("html-paper", LETTER_QUEUE, &[]).await?;
    let plain = "<p>no size anywhere</p>".to_owned();
    let css = "<style>@page { size: A5 landscape }</style><p>A5 across</p>".to_owned();
    let by_job = rig
        .print(&[
            ("plain", "html", plain, json!({})),
            ("css", "html", css, json!({})),
        ])
        .await?;
    for name in ["plain", "css"] {
        assert_eq!(
            states(&by_job[name]),
            ["received", "spooled", "completed"],
            "{by_job:#?}"
        );
    }
    let dir = tempfile::tempdir()?;
    let letter = page_sizes_mm(&rig.output("plain", dir.path()).await?)?;
    assert!(
        near(letter[0], (215.9, 279.4), 0.5),
        "the queue's Letter: {letter:?}"
    );
    let a5 = page_sizes_mm(&rig.output("css", dir.path()).await?)?;
    assert!(near(a5[0], (210.0, 148.0), 0.5), "the page's CSS: {a5:?}");
    Ok(())
}

#[tokio::test]
async fn a_label_prints_one_100_by_150_page_whose_script_drawn_barcode_decodes() -> Result<()> {
    let rig = Rig::start("html-label", &[]).await?;
    let options = json!({"pageSize": {"widthMm": 100, "heightMm": 150}, "margins": 0});
    let by_job = rig
        .print(&[("label", "html", label_html()?, options)])
        .await?;
    assert_eq!(
        states(&by_job["label"]),
        ["received", "spooled", "completed"],
        "{by_job:#?}"
    );
    let dir = tempfile::tempdir()?;
    let pdf = rig.output("label", dir.path()).await?;
    let sizes = page_sizes_mm(&pdf)?;
    assert!(
        sizes.len() == 1 && near(sizes[0], (100.0, 150.0), 0.5),
        "{sizes:?}"
    );
    let prefix = dir.path().join("label");
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(&pdf)
        .arg(&prefix)
        .status()?;
    ensure!(status.success(), "pdftoppm failed");
    let decoded = std::process::Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(prefix.with_extension("png"))
        .output()
        .context("zbarimg (Debian's zbar-tools)")?;
    assert_eq!(
        String::from_utf8_lossy(&decoded.stdout).trim(),
        "PR-2026-0042"
    );
    Ok(())
}

#[tokio::test]
async fn a_203_dpi_png_prints_at_pixels_over_dpi_with_its_own_pixels() -> Result<()> {
    let rig = Rig::start("image-dpi", &[]).await?;
    let image = png(812, 1218)?;
    let by_job = rig
        .print(&[("png", "image_base64", b64(&image), json!({"dpi": 203}))])
        .await?;
    assert_eq!(
        states(&by_job["png"]),
        ["received", "spooled", "completed"],
        "{by_job:#?}"
    );
    let dir = tempfile::tempdir()?;
    let pdf = rig.output("png", dir.path()).await?;
    let sizes = page_sizes_mm(&pdf)?;
    // 812 / 203 = 4 in = 101.6 mm; 1218 / 203 = 6 in = 152.4 mm.
    assert!(
        sizes.len() == 1 && near(sizes[0], (101.6, 152.4), 0.1),
        "{sizes:?}"
    );
    let list = poppler("pdfimages", &["-list"], &pdf)?;
    let image_row: Vec<&str> = list
        .lines()
        .nth(2)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        image_row.get(3..5),
        Some(&["812", "1218"][..]),
        "not the original pixels:\n{list}"
    );
    Ok(())
}

#[tokio::test]
async fn bad_pages_and_images_fail_with_their_codes_and_the_agent_keeps_printing() -> Result<()> {
    let rig = Rig::start("html-bad", &["--render-timeout-secs", "5"]).await?;
    let huge = format!("<p>{}</p>", "x".repeat(20 * 1024 * 1024));
    let jobs = [
        (
            "malformed",
            "html",
            "<html><body><table><tr><td>broken cell <b>bold <p>unclosed".to_owned(),
            json!({}),
        ),
        (
            "endless",
            "html",
            "<p>x</p><script>for (;;) {}</script>".to_owned(),
            json!({}),
        ),
        (
            "not-image",
            "image_base64",
            b64(b"this is not an image"),
            json!({}),
        ),
        (
            "refused",
            "html_uri",
            "http://203.0.113.9/invoice.html".to_owned(),
            json!({}),
        ),
        ("too-large", "html", huge, json!({})),
        (
            "after",
            "html",
            "<p>printed after the others</p>".to_owned(),
            json!({"pageSize": "A6"}),
        ),
    ];
    let by_job = rig.print(&jobs).await?;
    let code = |name: &str| by_job[name].last().map(|s| s["error"]["code"].clone());
    assert_eq!(
        states(&by_job["malformed"]),
        ["received", "spooled", "completed"],
        "{by_job:#?}"
    );
    assert_eq!(
        code("endless"),
        Some(json!("render_timeout")),
        "{by_job:#?}"
    );
    assert_eq!(
        code("not-image"),
        Some(json!("invalid_image")),
        "{by_job:#?}"
    );
    assert_eq!(code("refused"), Some(json!("fetch_refused")), "{by_job:#?}");
    assert_eq!(
        code("too-large"),
        Some(json!("content_too_large")),
        "{by_job:#?}"
    );
    assert_eq!(
        states(&by_job["after"]),
        ["received", "spooled", "completed"],
        "{by_job:#?}"
    );
    let dir = tempfile::tempdir()?;
    let text = poppler(
        "pdftotext",
        &[],
        &rig.output("malformed", dir.path()).await?,
    )?;
    assert!(
        text.contains("broken cell") && text.contains("unclosed"),
        "{text}"
    );
    let after = rig.output("after", dir.path()).await?;
    assert!(near(page_sizes_mm(&after)?[0], (105.0, 148.0), 0.5));
    // The endless page's browser is gone with all its processes.
    assert_eq!(
        renderer_processes(&rig.client_id),
        0,
        "a renderer outlived its job"
    );
    Ok(())
}

#[tokio::test]
async fn fifty_html_jobs_print_once_each_and_the_agent_stays_as_small() -> Result<()> {
    let rig = Rig::start("html-fifty", &[]).await?;
    let page = |n: usize| format!("<h1>Job {n}</h1><p>printed once</p>");
    rig.print(&[("warm-up", "html", page(0), json!({}))])
        .await?;
    let (before, _) = rig.agent.rss_kib_and_threads()?;
    let jobs: Vec<(String, String)> = (1..=50).map(|n| (format!("job{n:02}"), page(n))).collect();
    let batch: Vec<(&str, &str, String, Value)> = jobs
        .iter()
        .map(|(name, html)| (name.as_str(), "html", html.clone(), json!({})))
        .collect();
    let by_job = rig.print(&batch).await?;
    for (name, _) in &jobs {
        assert_eq!(
            states(&by_job[name]),
            ["received", "spooled", "completed"],
            "{name}: {by_job:#?}"
        );
    }
    let dir = tempfile::tempdir()?;
    for (n, (name, _)) in jobs.iter().enumerate() {
        let text = poppler("pdftotext", &[], &rig.output(name, dir.path()).await?)?;
        assert!(text.contains(&format!("Job {}", n + 1)), "{name}: {text}");
    }
    let (after, _) = rig.agent.rss_kib_and_threads()?;
    println!("agent RSS before {before} KiB, after 50 HTML jobs {after} KiB");
    assert!(
        after <= before + 10 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    assert_eq!(
        renderer_processes(&rig.client_id),
        0,
        "a renderer outlived its job"
    );
    Ok(())
}

/// The README's two payloads through our hub's JSON API: taken (202), printed, and the
/// hub refuses what the agent would (422 with the agent's code).
#[tokio::test]
async fn the_hub_takes_html_and_image_jobs_and_refuses_bad_ones_as_the_agent_would() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("hub-html");
    let mut agent = Agent::start(&hub.url(), &client_id, RAW_QUEUE).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    let html = json!({"clientId": client_id, "jobId": format!("{client_id}-label"), "contentType": "html",
        "content": "<h1>Parcel 1/1</h1><p>收件人 Wang Xiaoming</p>",
        "options": {"pageSize": {"widthMm": 100, "heightMm": 150}, "margins": 0}});
    let image = json!({"clientId": client_id, "jobId": format!("{client_id}-png"), "contentType": "image_base64",
        "content": b64(&png(406, 609)?), "options": {"dpi": 203}});
    for job in [&html, &image] {
        let (status, body) = hub.submit(job).await?;
        assert_eq!(status, 202, "{body}");
    }
    let dir = tempfile::tempdir()?;
    for (job, size) in [(&html, (100.0, 150.0)), (&image, (50.8, 76.2))] {
        let job_id = job["jobId"].as_str().unwrap_or_default();
        hub.wait_for_job_state(job_id, "completed", LIMIT).await?;
        let bytes = wait_for_job_output(RAW_QUEUE, job_id, LIMIT).await?;
        let path = dir.path().join("out.pdf");
        std::fs::write(&path, bytes)?;
        let sizes = page_sizes_mm(&path)?;
        assert!(
            sizes.len() == 1 && near(sizes[0], size, 0.5),
            "{job_id}: {sizes:?}"
        );
    }
    let bad = [
        (
            json!({"contentType": "image_base64", "content": b64(b"GIF00 not an image")}),
            "invalid_image",
        ),
        (
            json!({"contentType": "html", "content": "<p>x</p>", "options": {"pageSize": "B5"}}),
            "invalid_options",
        ),
        (
            json!({"contentType": "html", "content": "<p>x</p>", "options": {"scale": 0.5, "fit": "page"}}),
            "invalid_options",
        ),
    ];
    for (n, (fields, code)) in bad.into_iter().enumerate() {
        let mut job = json!({"clientId": client_id, "jobId": format!("{client_id}-bad{n}")});
        for (name, value) in fields.as_object().into_iter().flatten() {
            job[name] = value.clone();
        }
        let (status, body) = hub.submit(&job).await?;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some(code)),
            "{body}"
        );
    }
    Ok(())
}

/// The environment variable that marks the processes a test's agent started.
const MARK: &str = "PRINTRELAY_TEST_MARK";

/// Live processes (zombies aside) started by the agent marked `mark`: its renderers.
fn renderer_processes(mark: &str) -> usize {
    let wanted = format!("{MARK}={mark}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| {
            let path = entry.path();
            let alive = std::fs::read_to_string(path.join("stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit_once(')')
                        .map(|(_, rest)| rest.trim_start().starts_with(|c| c != 'Z'))
                })
                .unwrap_or(false);
            let renderer =
                std::fs::read_to_string(path.join("cmdline")).is_ok_and(|c| c.contains("chrom"));
            alive
                && renderer
                && std::fs::read(path.join("environ"))
                    .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == wanted.as_bytes()))
        })
        .count()
}
