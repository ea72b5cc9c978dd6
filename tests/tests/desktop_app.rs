//! The real desktop app (WebKit window, tray) under Xvfb against the original-style server:
//! it registers, prints a `/startPrint` job on a real CUPS queue, and its window renders.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use printrelay_e2e::{
    artifacts_dir, unique_marker, wait_for_printed, wait_until_listed, workspace_binary,
    OriginalServer, Process, VirtualDisplay, RAW_QUEUE,
};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn desktop_app_connects_prints_and_shows_its_window() -> Result<()> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    let display = VirtualDisplay::start().await?;
    let home = tempfile::tempdir()?;
    let client_id = unique_marker("desk");
    let log_path = artifacts_dir().join("logs/desktop-app.log");
    std::fs::create_dir_all(artifacts_dir().join("logs"))?;
    let log = std::fs::File::create(&log_path)?;
    let child = tokio::process::Command::new("dbus-run-session")
        .arg("--")
        .arg(workspace_binary("printrelay-desktop")?)
        .env("DISPLAY", &display.display)
        .env("PRINTRELAY_CONFIG_DIR", home.path().join("config"))
        .env("PRINTRELAY_DATA_DIR", home.path().join("data"))
        .env("PRINTRELAY_SERVER", server.url())
        .env("PRINTRELAY_CLIENT_ID", &client_id)
        .env("PRINTRELAY_PRINTER", RAW_QUEUE)
        // Software rendering: Xvfb has no GPU.
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        // Not inherited: the session bus' helpers outlive the app and would hold the
        // test runner's output open.
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .context("starting the desktop app")?;
    let _app = Process::group_leader(child);

    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let text = unique_marker("desktop print");
    let answer = server.start_print(&client_id, &text).await?;
    assert_eq!(answer["message"], "print job sent", "{answer}");
    let printed = wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    assert_eq!(printed, text.as_bytes());

    // The window shows the job once the watcher has seen it complete; give WebKit a moment
    // to paint, then keep a picture for the reviewer.
    tokio::time::sleep(Duration::from_secs(2)).await;
    display.screenshot(&artifacts_dir().join("screenshots/desktop-status-en.png"))?;
    Ok(())
}
