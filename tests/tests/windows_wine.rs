//! The agent's Windows build (`x86_64-pc-windows-gnu`) under Wine, end to end: Wine's
//! winspool and GDI hand its jobs to the real CUPS queues, whose output is read back.
//! Without Wine (scripts/setup.sh test installs it) each test fails under CI and prints
//! a `SKIPPED:` line elsewhere (printrelay_e2e::skip).

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Result};
use base64::Engine as _;
use printrelay_e2e::wine::Wine;
use printrelay_e2e::{
    cups_pdf_output, page_count, poppler, unique_marker, wait_for_job_output, wait_until_listed,
    Agent, AgentHome, ConnectProxy, OriginalServer, RAW_QUEUE,
};
use serde_json::{json, Value};

/// The cups-pdf queue whose PDFs tests read back.
const PDF_QUEUE: &str = "PrintRelayPDF";

/// Wine starts slowly the first time (it loads its DLLs into the page cache).
const LIMIT: Duration = Duration::from_secs(60);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Queues CUPS has, from `lpstat -e`.
fn cups_queues() -> Result<Vec<String>> {
    let out = std::process::Command::new("lpstat").arg("-e").output()?;
    ensure!(out.status.success(), "lpstat -e failed");
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The Node reference server and the Windows agent under Wine, registered.
async fn connected_wine_agent(
    wine: &Wine,
    home: Option<&AgentHome>,
    printer: &str,
    tag: &str,
) -> Result<(OriginalServer, Agent, String)> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let client_id = unique_marker(tag);
    let mut agent = wine
        .start_agent(home, &server.url(), &client_id, printer)
        .await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    Ok((server, agent, client_id))
}

/// The states the server has seen for `job_id`, in order (duplicates left out).
fn states_of(statuses: &[Value], job_id: &str) -> Vec<String> {
    statuses
        .iter()
        .filter(|s| s["jobId"] == job_id && s["duplicate"] != true)
        .filter_map(|s| s["state"].as_str().map(str::to_owned))
        .collect()
}

/// The CUPS default queue, from `lpstat -d`.
fn cups_default() -> Result<String> {
    let out = std::process::Command::new("lpstat").arg("-d").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(':')
        .nth(1)
        .map(|name| name.trim().to_owned())
        .ok_or_else(|| anyhow::anyhow!("no CUPS default: {text}"))
}

/// Waits until the server has `job_id` spooled; fails at once with the agent's error
/// if the job failed instead.
async fn until_spooled(server: &OriginalServer, client_id: &str, job_id: &str) -> Result<()> {
    let statuses = server
        .wait_for_statuses(client_id, LIMIT, |s| {
            states_of(s, job_id)
                .iter()
                .any(|st| st == "spooled" || st == "failed")
        })
        .await?;
    let failed = statuses
        .iter()
        .find(|s| s["jobId"] == job_id && s["state"] == "failed");
    ensure!(failed.is_none(), "the job failed: {failed:?}");
    Ok(())
}

/// A Windows PC whose way out is the proxy in its Internet Settings (as group policy
/// sets it): the agent reads it from the registry and tunnels to a server whose name
/// only the proxy resolves.
#[tokio::test]
async fn the_windows_build_goes_through_the_proxy_of_its_internet_settings() -> Result<()> {
    let Some(wine) = Wine::prepare()? else {
        return Ok(());
    };
    let server = OriginalServer::start(10_000, 5_000).await?;
    let proxy = ConnectProxy::start().await?;
    wine.set_internet_proxy(Some(&format!("127.0.0.1:{}", proxy.port())))
        .await?;
    let client_id = unique_marker("wine-proxy");
    let url = format!("http://print-hub.test:{}", server.port);
    let connected = async {
        let mut agent = wine.start_agent(None, &url, &client_id, RAW_QUEUE).await?;
        agent.wait_for_state("connected", LIMIT).await?;
        wait_until_listed(&server.url(), &client_id, LIMIT).await
    }
    .await;
    // Off again whatever happened: the prefix outlives this test.
    wine.set_internet_proxy(None).await?;
    connected?;
    assert_eq!(
        proxy.tunnels(),
        [format!("print-hub.test:{}", server.port)],
        "the agent went through the proxy of the registry"
    );
    Ok(())
}

#[tokio::test]
async fn printers_lists_the_cups_queues_with_the_os_default() -> Result<()> {
    let Some(wine) = Wine::prepare()? else {
        return Ok(());
    };
    let out = wine.run_agent(&["printers"]).await?;
    ensure!(
        out.status.success(),
        "printers failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.get(2..)?.split_whitespace().next())
        .collect();
    for queue in cups_queues()? {
        assert!(
            names.contains(&queue.as_str()),
            "{queue} missing:\n{listed}"
        );
    }
    // Every test queue starts with "P": the printers crate's first-character
    // comparison would mark them all as the default.
    let defaults: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with('*'))
        .filter_map(|l| l.get(2..)?.split_whitespace().next())
        .collect();
    assert_eq!(defaults, [cups_default()?], "{listed}");
    Ok(())
}

#[tokio::test]
async fn a_raw_job_reaches_cups_byte_exact_stays_spooled_and_is_kept_in_appdata() -> Result<()> {
    let Some(wine) = Wine::prepare()? else {
        return Ok(());
    };
    let _turn = wine.printing_turn().await;
    // This test alone uses the Windows user folders (the others pass their own).
    let (roaming, local) = wine.user_folders()?;
    for dir in [roaming.join("PrintRelay"), local.join("PrintRelay")] {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    let (server, _agent, client_id) =
        connected_wine_agent(&wine, None, RAW_QUEUE, "wine-raw").await?;
    let job_id = unique_marker("wine-raw-job");
    let mut bytes = format!("^XA^FD{job_id}^FS^XZ").into_bytes();
    bytes.extend(0u8..=255);
    let job =
        json!({"jobId": job_id, "contentType": "raw_base64", "content": b64(&bytes), "copies": 2});
    server.emit_jobs(&client_id, &[job], 1).await?;

    let printed = wait_for_job_output(RAW_QUEUE, &job_id, LIMIT).await?;
    assert_eq!(
        printed,
        bytes.repeat(2),
        "two byte-exact copies through winspool"
    );

    // Wine's spooler lists no jobs (EnumJobsW/GetJobW know nothing once CUPS has the
    // job): the agent cannot see completion and must leave the job `spooled`. Its
    // watcher says so in the log when it stops; then the statuses are final.
    let log = printrelay_e2e::artifacts_dir()
        .join("logs")
        .join(format!("agent-{client_id}.log"));
    wait_for_file_text(&log, "the spooler lost track of the job").await?;
    let statuses = server.statuses(&client_id).await?;
    assert_eq!(states_of(&statuses, &job_id), ["received", "spooled"]);
    let spooled = statuses
        .iter()
        .find(|s| s["jobId"] == job_id.as_str() && s["state"] == "spooled");
    assert!(
        spooled.is_some_and(|s| s["spoolerJobId"].is_u64()),
        "{statuses:#?}"
    );

    // Settings in %APPDATA%, history and logs in %LOCALAPPDATA%, through the same
    // path logic as elsewhere; the history command reads them back from there.
    assert!(roaming.join("PrintRelay/config/settings.json").is_file());
    assert!(local.join("PrintRelay/data/agent.db").is_file());
    assert!(local.join("PrintRelay/data/logs").is_dir());
    let out = wine
        .run_agent(&["jobs", "--search", &job_id, "--json"])
        .await?;
    let page: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["jobs"][0]["state"], "spooled", "{page}");
    Ok(())
}

#[tokio::test]
async fn text_is_drawn_through_gdi_and_reads_back_from_the_pdf_printer() -> Result<()> {
    let Some(wine) = Wine::prepare()? else {
        return Ok(());
    };
    let _turn = wine.printing_turn().await;
    let home = AgentHome::new()?;
    let (server, _agent, client_id) =
        connected_wine_agent(&wine, Some(&home), PDF_QUEUE, "wine-text").await?;
    let job_id = unique_marker("wine-text-job");
    let lines = [
        "PrintRelay invoice 42",
        "打印测试：发票编号 42",
        "Total 合计 ¥128.00",
    ];
    let long_line = "wrap ".repeat(60);
    // A form feed starts the second page.
    let text = format!(
        "{}\n{long_line}\n\u{c}second page 第二页\n",
        lines.join("\n")
    );
    let job = json!({"jobId": job_id, "contentType": "text", "content": text});
    server.emit_jobs(&client_id, &[job], 1).await?;

    until_spooled(&server, &client_id, &job_id).await?;
    let pdf = cups_pdf_output(PDF_QUEUE, &job_id).await?;
    assert_eq!(page_count(&pdf)?, 2);
    let extracted = poppler("pdftotext", &["-layout"], &pdf)?;
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    for line in lines.iter().chain(&["second page 第二页"]) {
        assert!(
            squeeze(&extracted).contains(&squeeze(line)),
            "{line:?} not in the PDF text:\n{extracted}"
        );
    }
    let wrapped = extracted.lines().filter(|l| l.contains("wrap")).count();
    assert!(wrapped >= 2, "the long line was not wrapped:\n{extracted}");
    // Margins: nothing closer than ~40 pt to the left edge (48 pt asked, 72 pt/in).
    let bbox = poppler("pdftotext", &["-bbox"], &pdf)?;
    let lefts: Vec<f32> = bbox
        .lines()
        .filter_map(|l| l.split("xMin=\"").nth(1)?.split('"').next()?.parse().ok())
        .collect();
    assert!(!lefts.is_empty(), "{bbox}");
    assert!(lefts.iter().all(|x| *x >= 40.0), "{lefts:?}");
    Ok(())
}

#[tokio::test]
async fn text_on_windows_is_never_raw_and_copies_paper_and_orientation_reach_the_driver(
) -> Result<()> {
    let Some(wine) = Wine::prepare()? else {
        return Ok(());
    };
    let _turn = wine.printing_turn().await;
    let home = AgentHome::new()?;
    let (server, _agent, client_id) =
        connected_wine_agent(&wine, Some(&home), RAW_QUEUE, "wine-devmode").await?;
    let job_id = unique_marker("wine-devmode-job");
    let job = json!({
        "jobId": job_id, "contentType": "text", "content": "landscape letter 横向",
        "copies": 2, "options": {"media": "Letter", "orientation": "landscape"}
    });
    server.emit_jobs(&client_id, &[job], 1).await?;

    // The raw test queue keeps what Wine's PostScript driver made of the GDI pages.
    until_spooled(&server, &client_id, &job_id).await?;
    let output = wait_for_job_output(RAW_QUEUE, &job_id, LIMIT).await?;
    let postscript = String::from_utf8_lossy(&output);
    assert!(
        postscript.starts_with("%!PS-Adobe"),
        "not rendered: {:?}",
        &postscript[..postscript.len().min(80)]
    );
    assert!(
        !postscript.contains("landscape letter"),
        "the text went RAW"
    );
    assert!(postscript.contains("%%Orientation: Landscape"));
    assert!(postscript.contains("*PageSize Letter"));
    // The device mode's two copies reach CUPS, whose test backend repeats the job.
    assert_eq!(postscript.matches("%%EOF").count(), 2);
    Ok(())
}

#[tokio::test]
async fn pdf_pages_are_rasterized_onto_gdi_pages() -> Result<()> {
    let Some(wine) = Wine::prepare()? else {
        return Ok(());
    };
    let _turn = wine.printing_turn().await;
    let home = AgentHome::new()?;
    let (server, mut agent, client_id) =
        connected_wine_agent(&wine, Some(&home), PDF_QUEUE, "wine-pdf").await?;
    let pdf = printrelay_e2e::make_pdf("PrintRelay", 3);
    // Chinese text in a PDF with an embedded CJK font (what the agent makes on Linux).
    let chinese = chinese_pdf("发票 Invoice 42\n打印测试：发票编号 42\nTotal 合计 ¥128.00")?
        .ok_or_else(|| anyhow::anyhow!("no CJK font (scripts/setup.sh test installs one)"))?;
    let [whole, cjk, range, broken] =
        ["whole", "cjk", "range", "broken"].map(|tag| unique_marker(&format!("wine-pdf-{tag}")));
    let jobs = [
        json!({"jobId": whole, "contentType": "pdf_base64", "content": b64(&pdf)}),
        json!({"jobId": cjk, "contentType": "pdf_base64", "content": b64(&chinese)}),
        // Page ranges pick pages before they are drawn.
        json!({"jobId": range, "contentType": "pdf_base64", "content": b64(&pdf),
            "options": {"pageRanges": "2-3"}}),
        // A PDF that cannot be read fails with a code; the agent goes on.
        json!({"jobId": broken, "contentType": "pdf_base64",
            "content": b64(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n%%EOF")}),
    ];
    server.emit_jobs(&client_id, &jobs, 1).await?;
    let statuses = server
        .wait_for_statuses(&client_id, LIMIT, |s| {
            states_of(s, &broken).iter().any(|st| st == "failed")
        })
        .await?;
    for job_id in [&whole, &cjk, &range] {
        assert_eq!(states_of(&statuses, job_id), ["received", "spooled"]);
    }
    let failed = statuses
        .iter()
        .find(|s| s["jobId"] == broken.as_str() && s["state"] == "failed");
    assert_eq!(
        failed.map(|s| &s["error"]["code"]),
        Some(&json!("print_failed"))
    );
    assert!(
        agent.process.child.try_wait()?.is_none(),
        "the agent is still running"
    );

    let out = cups_pdf_output(PDF_QUEUE, &whole).await?;
    assert_eq!(page_count(&out)?, 3);
    assert_eq!(page_count(&cups_pdf_output(PDF_QUEUE, &range).await?)?, 2);
    // One picture per page (the rasterized page), no text: it went through GDI, not RAW.
    let images = poppler("pdfimages", &["-list"], &out)?;
    let pages_with_images: std::collections::BTreeSet<&str> = images
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(pages_with_images.len(), 3, "{images}");
    assert!(poppler("pdftotext", &[], &out)?.trim().is_empty());
    // Each page looks like its original, at its actual size and place, in order.
    let dir = tempfile::tempdir()?;
    let original = dir.path().join("original.pdf");
    std::fs::write(&original, &pdf)?;
    for page in 1..=3 {
        let like = likeness(&original, &out, page, page)?;
        assert!(
            like > 0.9,
            "page {page} differs from the original: {like:.2}"
        );
        for other in (1..=3).filter(|&o| o != page) {
            let unlike = likeness(&original, &out, other, page)?;
            assert!(like > unlike, "page {page} is like page {other}");
        }
    }
    let original = dir.path().join("chinese.pdf");
    std::fs::write(&original, &chinese)?;
    let like = likeness(&original, &cups_pdf_output(PDF_QUEUE, &cjk).await?, 1, 1)?;
    assert!(like > 0.9, "the Chinese page differs: {like:.2}");
    Ok(())
}

/// Which pixels of one page are ink (darker than mid-grey), rendered at 72 dpi by
/// poppler: (width, height, mask).
fn ink(pdf: &Path, page: usize) -> Result<(usize, usize, Vec<bool>)> {
    let page = page.to_string();
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "72", "-gray", "-f", &page, "-l", &page])
        .arg(pdf)
        .output()?;
    ensure!(out.status.success(), "pdftoppm failed");
    // A binary PGM: "P5\n<w> <h>\n255\n" then one byte per pixel.
    let text = String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(40)]).into_owned();
    let mut fields = text.split_whitespace().skip(1);
    let mut number = || -> Result<usize> {
        Ok(fields
            .next()
            .ok_or_else(|| anyhow::anyhow!("not a PGM"))?
            .parse()?)
    };
    let (width, height) = (number()?, number()?);
    let pixels = &out.stdout[out.stdout.len() - width * height..];
    Ok((width, height, pixels.iter().map(|p| *p < 128).collect()))
}

/// How closely a printed page matches an original page's ink: the smaller of the two
/// shares of ink pixels that have ink in the other page within one pixel (1 pt),
/// so anti-aliasing does not count but a missing glyph or a misplaced page does.
fn likeness(original: &Path, printed: &Path, page: usize, printed_page: usize) -> Result<f64> {
    let (w1, h1, a) = ink(original, page)?;
    let (w2, h2, b) = ink(printed, printed_page)?;
    ensure!(
        (w1, h1) == (w2, h2),
        "page sizes differ: {w1}x{h1} and {w2}x{h2}"
    );
    let near = |mask: &[bool], i: usize| {
        let (x, y) = (i % w1, i / w1);
        (y.saturating_sub(1)..(y + 2).min(h1))
            .any(|yy| (x.saturating_sub(1)..(x + 2).min(w1)).any(|xx| mask[yy * w1 + xx]))
    };
    let covered = |from: &[bool], by: &[bool]| -> Result<f64> {
        let ink: Vec<usize> = (0..from.len()).filter(|&i| from[i]).collect();
        ensure!(ink.len() > 20, "page {page} is blank");
        Ok(ink.iter().filter(|&&i| near(by, i)).count() as f64 / ink.len() as f64)
    };
    Ok(covered(&a, &b)?.min(covered(&b, &a)?))
}

/// A PDF of Chinese and English text as the agent lays it out on Linux (krilla, the
/// machine's CJK font embedded); `None` without a CJK font.
fn chinese_pdf(text: &str) -> Result<Option<Vec<u8>>> {
    let out = std::process::Command::new("fc-match")
        .args(["-f", "%{file}\n%{index}", "sans-serif:lang=zh-cn"])
        .output()?;
    let found = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = found.lines();
    let (Some(path), Some(index)) = (lines.next(), lines.next()) else {
        return Ok(None);
    };
    let font = std::fs::read(path)?;
    Ok(Some(printrelay_agent::printing::text_pdf::render(
        text,
        font,
        index.trim().parse()?,
    )?))
}

/// Waits until `path` contains `needle` (a log line the agent writes).
async fn wait_for_file_text(path: &Path, needle: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{needle:?} never appeared in {}",
            path.display()
        );
        // Another process writes the log; there is nothing to await but the file.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a failed connection says, without the OS's error number: `cannot reach the
/// server: connection refused (os error 10061)` -> `cannot reach the server: connection
/// refused`.
fn error_words(event: &Value) -> String {
    let text = event["payload"]["lastError"].as_str().unwrap_or_default();
    match text.rsplit_once(" (os error ") {
        Some((words, _)) => words.to_owned(),
        None => text.to_owned(),
    }
}

/// Windows' socket errors (10061 refused, 11001 host not found) read like Linux's:
/// the same words and problem code from both builds, each keeping its OS's number.
#[tokio::test]
async fn connection_errors_read_the_same_from_the_windows_build_as_from_linux() -> Result<()> {
    let Some(wine) = Wine::prepare()? else {
        return Ok(());
    };
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let cases = [
        (
            format!("http://127.0.0.1:{closed}"),
            "server_unreachable",
            "connection refused",
        ),
        (
            "http://printrelay-test.invalid".to_owned(),
            "name_not_found",
            "host not found",
        ),
    ];
    for (server, problem, words) in cases {
        let mut linux = Agent::start(&server, &unique_marker("err-linux"), RAW_QUEUE).await?;
        let linux = linux.wait_for_state("reconnecting", LIMIT).await?;
        let home = AgentHome::new()?;
        let mut windows = wine
            .start_agent(Some(&home), &server, &unique_marker("err-win"), RAW_QUEUE)
            .await?;
        let windows = windows.wait_for_state("reconnecting", LIMIT).await?;
        for event in [&linux, &windows] {
            assert_eq!(event["payload"]["problem"], problem, "{event}");
            assert!(error_words(event).ends_with(words), "{event}");
        }
        assert_eq!(error_words(&windows), error_words(&linux));
        let windows_text = windows["payload"]["lastError"].as_str().unwrap_or_default();
        assert!(
            windows_text.contains("(os error 100") || windows_text.contains("(os error 110"),
            "Windows' own number is kept: {windows_text}"
        );
    }
    Ok(())
}
