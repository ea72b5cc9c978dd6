//! The desktop app driven like a person would, through WebDriver (tauri-driver +
//! WebKitWebDriver) under Xvfb, against our hub and real CUPS queues: connected state,
//! a job in the Jobs view and Print again, Pause (the tray icon turns violet) with a
//! waiting job cancelled and never printed, a printer change in Settings, failed-job
//! notifications on and off, the autostart switch, a takeover, the server going away
//! until the agent gives up, Reconnect, and the language switch. Screenshots of every
//! view in both languages land in artifacts/screenshots/ for a reviewer.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use base64::Engine;
use printrelay_e2e::desktop::{session_bus, wait_for_tray_icon, NotificationWatch};
use printrelay_e2e::webdriver::{free_port, Session, TauriDriver};
use printrelay_e2e::{
    artifacts_dir, count_printed, http_client, spawn_listening, unique_marker, wait_for_printed,
    wait_until_listed, workspace_binary, Agent, Process, SpoolWatch, VirtualDisplay, RAW_QUEUE,
};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(30);
const SECOND_QUEUE: &str = "PrintRelayRaw2";

/// Our hub on a fixed port, so it can be stopped and started again at the same address.
async fn start_hub(port: u16, db: &Path) -> Result<Process> {
    let mut command = tokio::process::Command::new(workspace_binary("printrelay-hub")?);
    command
        .args(["--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .args(["--ping-interval-ms", "1000", "--ping-timeout-ms", "1000"])
        .stderr(std::process::Stdio::null());
    Ok(spawn_listening(&mut command, "printrelay-hub").await?.0)
}

async fn submit(port: u16, client_id: &str, text: &str) -> Result<String> {
    submit_to(port, client_id, text, None).await
}

/// As [`submit`], naming the printer the job asks for.
async fn submit_to(
    port: u16,
    client_id: &str,
    text: &str,
    printer: Option<&str>,
) -> Result<String> {
    let job_id = unique_marker("ui-job");
    let response = http_client()
        .post(format!("http://127.0.0.1:{port}/api/v1/jobs"))
        .json(&json!({
            "clientId": client_id, "jobId": job_id, "title": text, "contentType": "raw_base64",
            "content": base64::engine::general_purpose::STANDARD.encode(text),
            "printer": printer,
        }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 202,
        "submit refused: {}",
        response.text().await?
    );
    Ok(job_id)
}

/// Waits until the Jobs view lists `job_id` in `state` (the Jobs view must be open).
async fn row_in_state(session: &Session, job_id: &str, state: &str) -> Result<()> {
    let row = format!("#jobs tr[data-job-id='{job_id}']");
    session
        .wait_until(
            &format!("job {job_id} {state} in the list"),
            &format!("const r = document.querySelector(\"{row}\"); return !!r && r.dataset.state === '{state}'"),
            LIMIT,
        )
        .await
}

/// The hub's state of `job_id`.
async fn hub_state(port: u16, job_id: &str) -> Result<String> {
    let job: Value = http_client()
        .get(format!("http://127.0.0.1:{port}/api/v1/jobs/{job_id}"))
        .send()
        .await?
        .json()
        .await?;
    Ok(job["state"].as_str().unwrap_or_default().to_owned())
}

fn js_state_is(state: &str) -> String {
    format!("return document.getElementById('state-badge').dataset.state === '{state}'")
}

async fn shoot(session: &Session, name: &str) -> Result<()> {
    // A frame for the last change to paint; the picture is for people, not for assertions.
    let paint =
        "window.scrollTo(0, 0); return new Promise(r => requestAnimationFrame(() => r(true)))";
    session.execute(paint, json!([])).await?;
    let dir = artifacts_dir().join("screenshots");
    session.screenshot(&dir.join(format!("{name}.png"))).await?;
    // And at 125 %, what a Windows PC with display scaling shows.
    session
        .execute("document.body.style.zoom = '1.25'; return true", json!([]))
        .await?;
    session.execute(paint, json!([])).await?;
    session
        .screenshot(&dir.join(format!("{name}-125.png")))
        .await?;
    session
        .execute("document.body.style.zoom = ''; return true", json!([]))
        .await?;
    Ok(())
}

/// A job asking for a printer the user did not allow: it fails, in the window's words
/// (`expected` starts the state cell), with the code in the details; shot as `name`.
async fn failed_job(
    session: &Session,
    port: u16,
    client_id: &str,
    job_id: Option<&str>,
    expected: &str,
    name: &str,
) -> Result<String> {
    let failed = match job_id {
        Some(id) => id.to_owned(),
        None => submit_to(port, client_id, "ui failed job", Some("NoSuchPrinter")).await?,
    };
    session.click("#tab-jobs").await?;
    row_in_state(session, &failed, "failed").await?;
    let row = format!("#jobs tr[data-job-id='{failed}']");
    session.click(&format!("{row} td")).await?;
    let state = session.text(&format!("{row} td:last-child")).await?;
    assert!(state.starts_with(expected), "{state}");
    let facts = session.text("#job-facts").await?;
    assert!(
        facts.contains("printer_not_allowed"),
        "the code in the details: {facts}"
    );
    shoot(session, name).await?;
    Ok(failed)
}

/// Another PC registers this client ID: this one is kicked, says why in words
/// (`expected`), and offers Reconnect; shot as `name`, then connected again.
async fn taken_over(
    session: &Session,
    server: &str,
    client_id: &str,
    expected: &str,
    name: &str,
) -> Result<()> {
    session.click("#tab-status").await?;
    let mut other = Agent::start(server, client_id, RAW_QUEUE).await?;
    session
        .wait_until("kicked", &js_state_is("kicked"), LIMIT)
        .await?;
    let detail = session.text("#state-detail").await?;
    assert!(detail.contains(expected), "{detail}");
    shoot(session, name).await?;
    other.process.child.kill().await?;
    other.process.child.wait().await?;
    session.click("#reconnect").await?;
    session
        .wait_until("connected again", &js_state_is("connected"), LIMIT)
        .await
        .map(drop)
}

async fn choose(session: &Session, select: &str, value: &str) -> Result<()> {
    let script = "const s = document.querySelector(arguments[0]); s.value = arguments[1];
        s.dispatchEvent(new Event('change', {bubbles: true}));
        s.dispatchEvent(new Event('input', {bubbles: true})); return s.value";
    let chosen = session.execute(script, json!([select, value])).await?;
    anyhow::ensure!(chosen == value, "{select} has no option {value}");
    Ok(())
}

async fn save_settings(session: &Session, saved_text: &str) -> Result<()> {
    session.click("#save").await?;
    session
        .wait_until(
            "settings saved",
            &format!(
                "return document.getElementById('settings-message').textContent === '{saved_text}'"
            ),
            LIMIT,
        )
        .await
}

#[tokio::test]
async fn the_window_shows_connection_jobs_and_settings_and_follows_the_user() -> Result<()> {
    let display = VirtualDisplay::start().await?;
    let home = tempfile::tempdir()?;
    let port = free_port()?;
    let db = home.path().join("hub.db");
    let mut hub = Some(start_hub(port, &db).await?);
    let server = format!("http://127.0.0.1:{port}");
    let client_id = unique_marker("ui");
    let config = home.path().join("config");
    std::fs::create_dir_all(&config)?;
    std::fs::write(
        config.join("settings.json"),
        serde_json::to_vec(&json!({
            "serverUrl": server, "clientId": client_id, "printer": RAW_QUEUE, "language": "en",
            "reconnect": {"attempts": 3, "delayMs": 400, "delayMaxMs": 800, "connectTimeoutMs": 1000},
        }))?,
    )?;
    // The administrator's policy fixes the token (release builds read /etc/printrelay/).
    let admin = home.path().join("admin");
    std::fs::create_dir_all(&admin)?;
    std::fs::write(admin.join("policy.json"), r#"{"token": "fleet-ui-token"}"#)?;
    let logs = artifacts_dir().join("logs");
    std::fs::create_dir_all(&logs)?;
    let (_bus, bus) = session_bus().await?;
    let mut notifications = NotificationWatch::start(&bus).await?;
    // Where the tray writes the icon it shows (tauri's tray on Linux): private, 0700.
    let runtime_dir = home.path().join("run");
    std::fs::create_dir_all(&runtime_dir)?;
    std::fs::set_permissions(
        &runtime_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )?;
    let driver = TauriDriver::start(
        &display.display,
        &bus,
        &[
            ("XDG_RUNTIME_DIR", runtime_dir.display().to_string()),
            ("PRINTRELAY_CONFIG_DIR", config.display().to_string()),
            (
                "PRINTRELAY_DATA_DIR",
                home.path().join("data").display().to_string(),
            ),
            // The autostart entry goes to $HOME/.config/autostart (the plugin does not
            // read XDG_CONFIG_HOME), not the tester's; GTK's settings follow XDG too.
            (
                "XDG_CONFIG_HOME",
                home.path().join(".config").display().to_string(),
            ),
            ("HOME", home.path().display().to_string()),
            ("PRINTRELAY_ADMIN_DIR", admin.display().to_string()),
        ],
        &logs.join("desktop-ui.log"),
    )
    .await?;
    let session = driver
        .session(&workspace_binary("printrelay-desktop")?)
        .await?;
    session
        .wait_until(
            "window ready",
            "return document.body.dataset.ready === 'true'",
            LIMIT,
        )
        .await?;

    // Connected, and the server agrees.
    session
        .wait_until("connected", &js_state_is("connected"), LIMIT)
        .await?;
    wait_until_listed(&server, &client_id, LIMIT).await?;
    assert_eq!(session.text("#client-id").await?, client_id);

    // A job from the hub shows up in Jobs as completed.
    let text = unique_marker("ui first job");
    let job_id = submit(port, &client_id, &text).await?;
    wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    session.click("#tab-jobs").await?;
    row_in_state(&session, &job_id, "completed").await?;
    session
        .click(&format!("#jobs tr[data-job-id='{job_id}'] td"))
        .await?;
    assert!(session.text("#job-facts").await?.contains(&job_id));

    // Print again: the same document comes out a second time, as a new job in the list.
    let mut spool = SpoolWatch::new(RAW_QUEUE);
    session.click("#job-reprint").await?;
    spool
        .wait_for_markers(std::slice::from_ref(&text), LIMIT)
        .await?;
    session
        .wait_until(
            "the reprint in the list",
            &format!("return [...document.querySelectorAll('#jobs tr[data-job-id]')].some(r => r.dataset.jobId !== '{job_id}' && r.dataset.state === 'completed')"),
            LIMIT,
        )
        .await?;
    assert_eq!(
        count_printed(RAW_QUEUE, text.as_bytes()),
        2,
        "printed twice"
    );

    // Pause: the tray turns violet and a job waits in the agent; Cancel job ends it, the
    // hub hears so, and it never prints; Resume prints what comes next.
    wait_for_tray_icon(&runtime_dir, "tray-connected.png").await?;
    session.click("#tab-status").await?;
    session.click("#pause").await?;
    session
        .wait_until(
            "paused badge",
            "return !document.getElementById('paused-badge').hidden",
            LIMIT,
        )
        .await?;
    wait_for_tray_icon(&runtime_dir, "tray-paused.png").await?;
    let held_text = unique_marker("ui held job");
    let held = submit(port, &client_id, &held_text).await?;
    session.click("#tab-jobs").await?;
    row_in_state(&session, &held, "received").await?;
    session
        .click(&format!("#jobs tr[data-job-id='{held}'] td"))
        .await?;
    session.click("#job-cancel").await?;
    row_in_state(&session, &held, "cancelled").await?;
    session
        .wait_until(
            "no Cancel for a cancelled job",
            "return document.getElementById('job-cancel').hidden",
            LIMIT,
        )
        .await?;
    let deadline = tokio::time::Instant::now() + LIMIT;
    while hub_state(port, &held).await? != "cancelled" {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the hub never heard of the cancel"
        );
        // The hub's plain HTTP view; the agent reports on its own schedule.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    session.click("#tab-status").await?;
    session.click("#pause").await?;
    wait_for_tray_icon(&runtime_dir, "tray-connected.png").await?;
    let after_text = unique_marker("ui after resume");
    submit(port, &client_id, &after_text).await?;
    wait_for_printed(RAW_QUEUE, after_text.as_bytes(), LIMIT).await?;
    // Jobs print in order: had the cancelled one printed, it would be out by now.
    assert_eq!(
        count_printed(RAW_QUEUE, held_text.as_bytes()),
        0,
        "a cancelled job printed"
    );
    for (view, name) in [("status", "status"), ("jobs", "jobs")] {
        session.click(&format!("#tab-{view}")).await?;
        shoot(&session, &format!("desktop-{name}-en")).await?;
    }

    // Another printer in Settings: the next job comes out of that queue.
    session.click("#tab-settings").await?;
    session
        .wait_until(
            "printer list",
            &format!("return [...document.querySelectorAll('#printer-select option')].some(o => o.value === '{SECOND_QUEUE}')"),
            LIMIT,
        )
        .await?;
    // The field the policy fixed shows its value, cannot be edited, and says who set it.
    session
        .wait_until(
            "the token locked",
            "const i = document.getElementById('token');
             const note = document.getElementById('locked-token');
             return i.disabled && i.value === 'fleet-ui-token'
               && note !== null && note.textContent === 'Set by your administrator'",
            LIMIT,
        )
        .await?;
    choose(&session, "#printer-select", SECOND_QUEUE).await?;
    save_settings(&session, "Saved and applied.").await?;
    shoot(&session, "desktop-settings-en").await?;
    // A bad value is shown at its field and never saved.
    session
        .execute(
            "const i = document.getElementById('serverUrl'); i.value = 'ftp://nowhere';
             i.dispatchEvent(new Event('input', {bubbles: true})); return true",
            json!([]),
        )
        .await?;
    session.click("#save").await?;
    session
        .wait_until(
            "inline error",
            // In words, not the agent's raw rule ("serverUrl: invalid server URL...").
            "const t = document.getElementById('err-serverUrl').textContent;
             return t.includes('starting with http://') && !t.includes('serverUrl')",
            LIMIT,
        )
        .await?;
    let saved: Value = serde_json::from_slice(&std::fs::read(config.join("settings.json"))?)?;
    assert_eq!(saved["serverUrl"], server.as_str());
    assert_eq!(saved["printer"], SECOND_QUEUE);
    let text = unique_marker("ui second printer");
    submit(port, &client_id, &text).await?;
    wait_for_printed(SECOND_QUEUE, text.as_bytes(), LIMIT).await?;

    let failed = failed_job(
        &session,
        port,
        &client_id,
        None,
        "Failed: The job asks for another printer",
        "desktop-jobs-failed-en",
    )
    .await?;
    // A failed job is a desktop notification, in words.
    notifications.wait_for("ui failed job").await?;
    // Notifications off: a job that fails says nothing; on again, the next one does.
    session.click("#tab-settings").await?;
    session.click("#notifications").await?;
    save_settings(&session, "Saved and applied.").await?;
    let quiet = unique_marker("ui failed quietly");
    let quiet_id = submit_to(port, &client_id, &quiet, Some("NoSuchPrinter")).await?;
    session.click("#tab-jobs").await?;
    row_in_state(&session, &quiet_id, "failed").await?;
    session.click("#tab-settings").await?;
    session.click("#notifications").await?;
    save_settings(&session, "Saved and applied.").await?;
    let loud = unique_marker("ui failed loudly");
    submit_to(port, &client_id, &loud, Some("NoSuchPrinter")).await?;
    // Notifications go out in the order of the jobs: the quiet one would come first.
    let between = notifications.wait_for(&loud).await?;
    assert!(
        !between.iter().any(|line| line.contains(&quiet)),
        "a notification with notifications off: {between:#?}"
    );

    // Start with the computer: the switch writes the OS's entry for this binary and
    // turning it off removes it.
    let entry = home.path().join(".config/autostart/PrintRelay.desktop");
    for on in [true, false] {
        session.click("#tab-settings").await?;
        session.click("#autostart").await?;
        save_settings(&session, "Saved and applied.").await?;
        assert_eq!(
            entry.exists(),
            on,
            "autostart entry after switching to {on}"
        );
        if on {
            let text = std::fs::read_to_string(&entry)?;
            let binary = workspace_binary("printrelay-desktop")?;
            assert!(
                text.contains(&format!("{} --hidden", binary.display())),
                "{text}"
            );
        }
    }

    taken_over(
        &session,
        &server,
        &client_id,
        "Another computer connected with the same client ID",
        "desktop-status-kicked-en",
    )
    .await?;

    // Server gone: attempts with a countdown, then "gave up" with a prominent Reconnect.
    session.click("#tab-status").await?;
    hub.take();
    session
        .wait_until(
            "countdown",
            "return document.getElementById('state-detail').textContent.includes('next try in')",
            LIMIT,
        )
        .await?;
    shoot(&session, "desktop-status-reconnecting-en").await?;
    session
        .wait_until("gave up", &js_state_is("gaveUp"), LIMIT)
        .await?;
    session
        .wait_until(
            "prominent Reconnect",
            "const b = document.getElementById('reconnect'); return !b.hidden && b.classList.contains('prominent')",
            LIMIT,
        )
        .await?;
    shoot(&session, "desktop-status-gave-up-en").await?;
    let mut hub = Some(start_hub(port, &db).await?);
    session.click("#reconnect").await?;
    session
        .wait_until("connected again", &js_state_is("connected"), LIMIT)
        .await?;

    // 简体中文: every label follows at once, and is kept.
    session.click("#tab-settings").await?;
    session
        .wait_until(
            "settings form filled",
            &format!("return document.getElementById('clientId').value === '{client_id}'"),
            LIMIT,
        )
        .await?;
    choose(&session, "#language", "zh-CN").await?;
    save_settings(&session, "已保存并生效。").await?;
    assert_eq!(session.text("#tab-status").await?, "状态");
    for view in ["status", "jobs", "settings"] {
        session.click(&format!("#tab-{view}")).await?;
        shoot(&session, &format!("desktop-{view}-zh")).await?;
    }
    let saved: Value = serde_json::from_slice(&std::fs::read(config.join("settings.json"))?)?;
    assert_eq!(saved["language"], "zh-CN");

    // The failed job, a takeover and giving up, in Chinese.
    failed_job(
        &session,
        port,
        &client_id,
        Some(&failed),
        "失败：任务指定了其他打印机",
        "desktop-jobs-failed-zh",
    )
    .await?;
    taken_over(
        &session,
        &server,
        &client_id,
        "另一台电脑使用相同的客户端 ID",
        "desktop-status-kicked-zh",
    )
    .await?;
    hub.take();
    session
        .wait_until("gave up", &js_state_is("gaveUp"), LIMIT)
        .await?;
    let detail = session.text("#state-detail").await?;
    assert!(detail.starts_with("已尝试 3 次，仍无法连接"), "{detail}");
    shoot(&session, "desktop-status-gave-up-zh").await?;
    let _hub = start_hub(port, &db).await?;
    session.click("#reconnect").await?;
    session
        .wait_until("connected again", &js_state_is("connected"), LIMIT)
        .await?;

    // At 125 % (what a Windows PC with display scaling shows) nothing runs off the side.
    session
        .execute("document.body.style.zoom = '1.25'; return true", json!([]))
        .await?;
    for view in ["status", "jobs", "settings"] {
        // WebDriver's pointer misses under CSS zoom: press the tab from the page instead.
        let overflow = session
            .execute(
                "document.getElementById('tab-' + arguments[0]).click();
                 return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                json!([view]),
            )
            .await?;
        assert!(
            overflow.as_i64().is_some_and(|o| o <= 0),
            "{view} at 125 % overflows by {overflow}px"
        );
    }
    session.close().await?;
    Ok(())
}
