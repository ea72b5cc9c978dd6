//! The hub's web console in a real Chromium (chromedriver), with a real hub, real
//! headless agents and CUPS: PCs come and go live, jobs sent from the console print and
//! show `completed`, a job for an offline PC is cancelled and never prints, a job the
//! spooler holds is cancelled through its agent, sign-in with API tokens, and screenshots
//! of every view in English and Chinese under artifacts/console/.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use printrelay_e2e::chromedriver::ChromeDriver;
use printrelay_e2e::skip::skip_or_fail;
use printrelay_e2e::webdriver::Session;
use printrelay_e2e::{
    artifacts_dir, count_printed, make_pdf, unique_marker, wait_for_listing, wait_for_printed,
    wait_until_listed, Agent, AgentHome, Hub, PausedQueue,
};
use serde_json::{json, Value};
use tokio::time::Instant;

const LIMIT: Duration = Duration::from_secs(60);
/// The queue the console's jobs print on (scripts/setup.sh); raw: what arrives is what
/// the agent sent.
const QUEUE: &str = "PrintRelayConsole";
/// A queue the cancel test pauses, so the spooler holds its job.
const HELD_QUEUE: &str = "PrintRelayConsoleHeld";
/// Long enough for any listen address.
const TOKEN: &str = "console-api-token-0123456789";

/// A hub, chromedriver and a browser on the console.
struct Rig {
    hub: Hub,
    driver: ChromeDriver,
    browser: Session,
    _db: tempfile::TempDir,
}

impl Rig {
    /// `None` when chromedriver is missing (skipped; a failure on CI).
    async fn start(tag: &str, hub_flags: &[&str], language: &str) -> Result<Option<Rig>> {
        Self::start_sized(tag, hub_flags, language, (1280, 720)).await
    }

    async fn start_sized(
        tag: &str,
        hub_flags: &[&str],
        language: &str,
        size: (u32, u32),
    ) -> Result<Option<Rig>> {
        let logs = artifacts_dir().join("logs");
        std::fs::create_dir_all(&logs)?;
        let log = logs.join(format!(
            "{}.log",
            unique_marker(&format!("chromedriver-{tag}"))
        ));
        let Some(driver) = ChromeDriver::start(&log).await? else {
            skip_or_fail("chromedriver is not installed (scripts/setup.sh test installs it)")?;
            return Ok(None);
        };
        let db = tempfile::tempdir()?;
        let hub = Hub::start_with(&db.path().join("hub.db"), 2_000, 2_000, hub_flags).await?;
        let browser = driver.session(language, size).await?;
        browser.navigate(&format!("{}/", hub.url())).await?;
        Ok(Some(Rig {
            hub,
            driver,
            browser,
            _db: db,
        }))
    }

    /// Waits until `css` matches an element.
    async fn wait_for(&self, what: &str, css: &str) -> Result<()> {
        let script = format!("return document.querySelector({}) !== null", json!(css));
        self.browser.wait_until(what, &script, LIMIT).await
    }

    /// Shows view `name` (`pcs`, `jobs`, `print`) by its tab.
    async fn show(&self, name: &str) -> Result<()> {
        self.browser
            .click(&format!("[role=tab][data-view={name}]"))
            .await?;
        self.wait_for(name, &format!("#view-{name}:not([hidden])"))
            .await
    }

    async fn screenshot(&self, name: &str) -> Result<()> {
        let path = artifacts_dir().join("console").join(format!("{name}.png"));
        self.browser.screenshot(&path).await
    }

    /// The hub's job `job_id`, read with the API token when the hub has one.
    async fn job_state(&self, job_id: &str) -> Result<String> {
        let job = self.hub.job(job_id).await?.context("no such job")?;
        Ok(job["state"].as_str().unwrap_or_default().to_owned())
    }

    /// Opens the print view with `client_id` and the content type `kind` (as the
    /// console names it: `text`, `pdf`, `html`) chosen.
    async fn print_from_console(&self, client_id: &str, kind: &str) -> Result<()> {
        self.show("print").await?;
        self.wait_for(
            "the PC in the print view",
            &format!("#print-client option[value={}]", json!(client_id)),
        )
        .await?;
        self.browser
            .click(&format!("#print-client option[value={}]", json!(client_id)))
            .await?;
        self.browser
            .click(&format!("#print-type option[value={kind}]"))
            .await
    }

    /// Submits the print form and waits for the result to show a job id; that id.
    async fn submit_print(&self) -> Result<String> {
        let before = self
            .browser
            .execute(
                "return document.querySelector('#print-result').dataset.jobId || ''",
                json!([]),
            )
            .await?;
        self.browser.click("#print-submit").await?;
        let script = format!(
            "const id = document.querySelector('#print-result').dataset.jobId || ''; \
             return id !== '' && id !== {before}"
        );
        self.browser
            .wait_until("the page shows the new job", &script, LIMIT)
            .await?;
        let id = self
            .browser
            .execute(
                "return document.querySelector('#print-result').dataset.jobId",
                json!([]),
            )
            .await?;
        Ok(id.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until the print view's result shows `state`.
    async fn wait_for_result(&self, state: &str) -> Result<()> {
        self.wait_for(
            &format!("the print view shows {state}"),
            &format!("#print-result[data-state={state}]"),
        )
        .await
    }
}

/// An agent on `queue`, registered at the hub.
async fn agent_on(hub: &Hub, home: &AgentHome, client_id: &str, queue: &str) -> Result<Agent> {
    let mut agent = Agent::start_in(home, &hub.url(), client_id, queue, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&hub.url(), client_id, LIMIT).await?;
    Ok(agent)
}

/// Submits a text job `job_id` (its text is its id) for `client_id` through the API.
async fn submit_text(hub: &Hub, client_id: &str, job_id: &str) -> Result<()> {
    let job =
        json!({"clientId": client_id, "jobId": job_id, "contentType": "text", "content": job_id});
    let (status, body) = hub.submit(&job).await?;
    ensure!(status == 202, "{body}");
    Ok(())
}

/// The page's PC row of `client_id` says online (`true`) or offline.
fn pc_row(client_id: &str, online: bool) -> String {
    format!(
        "tr[data-client-id={}][data-online={online}]",
        json!(client_id)
    )
}

fn job_row(job_id: &str, state: &str) -> String {
    format!("tr[data-job-id={}][data-state={state}]", json!(job_id))
}

/// A PC that registers shows online within 2 s of the hub knowing it (figure printed);
/// one that stops shows offline. Text typed in the console and an uploaded PDF print:
/// the page shows `completed` and the queue's output holds what was sent.
#[tokio::test]
async fn pcs_come_and_go_live_and_text_and_pdf_print_from_the_console() -> Result<()> {
    let Some(rig) = Rig::start("live", &[], "en").await? else {
        return Ok(());
    };
    let url = rig.browser.current_url().await?;
    ensure!(
        url.ends_with("/console/"),
        "/ leads to the console, not {url}"
    );
    rig.wait_for("the PC list", "#view-pcs:not([hidden])")
        .await?;

    let client_id = unique_marker("console-pc");
    let home = AgentHome::new()?;
    let agent = agent_on(&rig.hub, &home, &client_id, QUEUE).await?;
    let listed = Instant::now();
    rig.browser
        .wait_until(
            "the PC shows online",
            &format!(
                "return document.querySelector({}) !== null",
                json!(pc_row(&client_id, true))
            ),
            Duration::from_secs(2),
        )
        .await?;
    println!(
        "console: PC online on screen {} ms after the hub listed it",
        listed.elapsed().as_millis()
    );
    rig.screenshot("en-pcs").await?;

    let marker = unique_marker("typed in the console");
    rig.print_from_console(&client_id, "text").await?;
    rig.browser.send_keys("#print-text", &marker).await?;
    let text_job = rig.submit_print().await?;
    rig.wait_for_result("completed").await?;
    wait_for_printed(QUEUE, marker.as_bytes(), LIMIT).await?;
    ensure!(rig.job_state(&text_job).await? == "completed");

    let label = unique_marker("uploaded PDF");
    let pdf: PathBuf = std::env::temp_dir().join(format!("{label}.pdf"));
    std::fs::write(&pdf, make_pdf(&label, 1))?;
    rig.print_from_console(&client_id, "pdf").await?;
    rig.browser
        .send_keys("#print-file", &pdf.to_string_lossy())
        .await?;
    let pdf_job = rig.submit_print().await?;
    ensure!(pdf_job != text_job, "a new job");
    rig.wait_for_result("completed").await?;
    let printed = wait_for_printed(QUEUE, label.as_bytes(), LIMIT).await?;
    ensure!(printed.starts_with(b"%PDF-"), "the PDF as uploaded");
    let _ = std::fs::remove_file(&pdf);

    drop(agent);
    rig.show("pcs").await?;
    rig.wait_for("the PC shows offline", &pc_row(&client_id, false))
        .await?;
    Ok(())
}

/// A job for an offline PC waits (queued), is cancelled from the jobs view, and never
/// prints after the PC comes back, while a later job does.
#[tokio::test]
async fn a_job_for_an_offline_pc_is_cancelled_in_the_console_and_never_prints() -> Result<()> {
    let Some(rig) = Rig::start("offline-cancel", &[], "en").await? else {
        return Ok(());
    };
    let client_id = unique_marker("console-away");
    let home = AgentHome::new()?;
    drop(agent_on(&rig.hub, &home, &client_id, QUEUE).await?);
    wait_for_listing(&rig.hub.url(), &client_id, false, LIMIT).await?;

    let doomed = unique_marker("never printed");
    submit_text(&rig.hub, &client_id, &doomed).await?;
    rig.wait_for(
        "the PC stands out with a waiting job",
        &format!(
            "tr[data-client-id={}][data-online=false][data-waiting='1']",
            json!(client_id)
        ),
    )
    .await?;
    // By keyboard: the arrow key moves from the PCs tab to the jobs tab, Enter on a row
    // opens its timeline, Escape closes it.
    rig.browser
        .send_keys("[role=tab][data-view=pcs]", "\u{E014}")
        .await?;
    rig.wait_for("the jobs view by keyboard", "#view-jobs:not([hidden])")
        .await?;
    rig.wait_for("the job waits", &job_row(&doomed, "queued"))
        .await?;
    rig.browser
        .send_keys(&job_row(&doomed, "queued"), "\u{E007}")
        .await?;
    rig.wait_for(
        "the timeline by keyboard",
        "#job-detail:not([hidden]) #timeline li[data-state=queued]",
    )
    .await?;
    rig.browser.send_keys("#detail-close", "\u{E00C}").await?;
    rig.wait_for("the timeline closed by Escape", "#job-detail[hidden]")
        .await?;
    rig.browser
        .click(&format!("{} button.cancel", job_row(&doomed, "queued")))
        .await?;
    rig.wait_for("the job shows cancelled", &job_row(&doomed, "cancelled"))
        .await?;
    ensure!(rig.job_state(&doomed).await? == "cancelled");

    let mut agent = agent_on(&rig.hub, &home, &client_id, QUEUE).await?;
    let after = unique_marker("printed after");
    submit_text(&rig.hub, &client_id, &after).await?;
    rig.hub
        .wait_for_job_state(&after, "completed", LIMIT)
        .await?;
    wait_for_printed(QUEUE, after.as_bytes(), LIMIT).await?;
    agent.settle(Duration::from_secs(10)).await?;
    assert_eq!(
        count_printed(QUEUE, doomed.as_bytes()),
        0,
        "the cancelled job printed"
    );
    ensure!(rig.job_state(&doomed).await? == "cancelled");
    Ok(())
}

/// A job the spooler holds (its printer is paused) is cancelled from the console: the
/// hub asks the agent, CUPS drops it, and the page shows `cancelled`; nothing of it
/// comes out once the printer is back.
#[tokio::test]
async fn a_job_the_spooler_holds_is_cancelled_through_its_agent() -> Result<()> {
    let Some(rig) = Rig::start("held-cancel", &[], "en").await? else {
        return Ok(());
    };
    printrelay_e2e::cups(&["cancel", "-a", HELD_QUEUE])?;
    let client_id = unique_marker("console-held");
    let home = AgentHome::new()?;
    let _agent = agent_on(&rig.hub, &home, &client_id, HELD_QUEUE).await?;
    let held = PausedQueue::pause(HELD_QUEUE)?;
    let doomed = unique_marker("held then cancelled");
    submit_text(&rig.hub, &client_id, &doomed).await?;
    rig.hub
        .wait_for_job_state(&doomed, "spooled", LIMIT)
        .await?;
    rig.show("jobs").await?;
    rig.wait_for("the held job", &job_row(&doomed, "spooled"))
        .await?;
    rig.browser
        .click(&format!("{} button.cancel", job_row(&doomed, "spooled")))
        .await?;
    rig.wait_for("the agent's cancel shows", &job_row(&doomed, "cancelled"))
        .await?;
    held.resume()?;
    let after = unique_marker("after the held one");
    submit_text(&rig.hub, &client_id, &after).await?;
    rig.hub
        .wait_for_job_state(&after, "completed", LIMIT)
        .await?;
    wait_for_printed(HELD_QUEUE, after.as_bytes(), LIMIT).await?;
    // CUPS prints in order: once the later job is out, the cancelled one would be too.
    assert_eq!(count_printed(HELD_QUEUE, doomed.as_bytes()), 0);
    Ok(())
}

/// Every URL the page loaded or called (resource timing) and the address bar.
async fn urls_seen(browser: &Session) -> Result<Vec<String>> {
    let mut urls: Vec<String> = serde_json::from_value(
        browser
            .execute(
                "return performance.getEntriesByType('resource').map((e) => e.name)",
                json!([]),
            )
            .await?,
    )?;
    urls.push(browser.current_url().await?);
    Ok(urls)
}

/// With API tokens: nothing shows before sign-in, a wrong token is refused with a
/// message, the right one shows the PCs; the token is in no URL the page used.
#[tokio::test]
async fn with_tokens_the_console_asks_for_one_and_keeps_it_out_of_urls() -> Result<()> {
    let Some(rig) = Rig::start("tokens", &["--api-token", TOKEN], "en").await? else {
        return Ok(());
    };
    let client_id = unique_marker("console-signed");
    let home = AgentHome::new()?;
    let mut agent = Agent::start_in(&home, &rig.hub.url(), &client_id, QUEUE, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;

    rig.wait_for("the sign-in form", "form#signin:not([hidden])")
        .await?;
    rig.screenshot("en-signin").await?;
    let rows = "return document.querySelectorAll('tr[data-client-id]').length";
    ensure!(rig.browser.execute(rows, json!([])).await? == json!(0));

    rig.browser
        .send_keys("#token", "not-the-token-0000")
        .await?;
    rig.browser.click("#signin-submit").await?;
    rig.browser
        .wait_until(
            "the refusal is said",
            "return document.querySelector('#signin-error').textContent.trim() !== ''",
            LIMIT,
        )
        .await?;
    ensure!(rig.browser.execute(rows, json!([])).await? == json!(0));

    rig.browser.clear("#token").await?;
    rig.browser.send_keys("#token", TOKEN).await?;
    rig.browser.click("#signin-submit").await?;
    rig.wait_for("the PC list after sign-in", &pc_row(&client_id, true))
        .await?;
    rig.show("jobs").await?;
    rig.show("pcs").await?;
    for url in urls_seen(&rig.browser).await? {
        ensure!(!url.contains(TOKEN), "the token is in a URL: {url}");
    }

    // A new tab (a session of its own) asks again, here in Chinese.
    let chinese = rig.driver.session("zh-CN", (1280, 720)).await?;
    chinese.navigate(&format!("{}/", rig.hub.url())).await?;
    chinese
        .wait_until(
            "the Chinese sign-in form",
            "return document.querySelector('form#signin:not([hidden])') !== null",
            LIMIT,
        )
        .await?;
    let path = artifacts_dir().join("console").join("zh-CN-signin.png");
    chinese.screenshot(&path).await?;
    Ok(())
}

/// Each view in English and 简体中文 at 1280x720, and the PC list on a tablet, saved
/// under artifacts/console/; the Chinese page says its tabs in Chinese.
#[tokio::test]
async fn screenshots_of_every_view_in_both_languages() -> Result<()> {
    for (language, size) in [
        ("en", (1280, 720)),
        ("zh-CN", (1280, 720)),
        ("zh-CN", (768, 1024)),
    ] {
        let tag = format!("{language}-{}", size.0);
        let Some(rig) = Rig::start_sized(&tag, &[], language, size).await? else {
            return Ok(());
        };
        let client_id = unique_marker("front-desk");
        let home = AgentHome::new()?;
        let _agent = agent_on(&rig.hub, &home, &client_id, QUEUE).await?;
        let done = unique_marker("invoice");
        submit_text(&rig.hub, &client_id, &done).await?;
        rig.hub
            .wait_for_job_state(&done, "completed", LIMIT)
            .await?;
        let failed = unique_marker("label");
        rig.hub
            .submit(
                &json!({"clientId": client_id, "jobId": failed, "contentType": "text",
                "content": "x", "printer": "NoSuchPrinter"}),
            )
            .await?;
        rig.hub.wait_for_job_state(&failed, "failed", LIMIT).await?;
        rig.wait_for("the PC", &pc_row(&client_id, true)).await?;
        let lang: Value = rig
            .browser
            .execute("return document.documentElement.lang", json!([]))
            .await?;
        ensure!(lang == json!(language), "page language {lang}");
        let tab = rig.browser.text("[role=tab][data-view=jobs]").await?;
        ensure!(
            (language == "en") == tab.is_ascii(),
            "the jobs tab reads {tab:?} in {language}"
        );
        if size.0 < 1000 {
            rig.screenshot(&format!("{language}-tablet-pcs")).await?;
            continue;
        }
        rig.screenshot(&format!("{language}-pcs")).await?;
        rig.show("jobs").await?;
        rig.wait_for("the failed job", &job_row(&failed, "failed"))
            .await?;
        rig.screenshot(&format!("{language}-jobs")).await?;
        rig.browser
            .click(&format!("{} td", job_row(&failed, "failed")))
            .await?;
        rig.wait_for(
            "the timeline",
            "#job-detail:not([hidden]) #timeline li[data-state=failed]",
        )
        .await?;
        rig.screenshot(&format!("{language}-job-detail")).await?;
        rig.browser.click("#detail-close").await?;
        rig.print_from_console(&client_id, "text").await?;
        rig.screenshot(&format!("{language}-print")).await?;
    }
    Ok(())
}
