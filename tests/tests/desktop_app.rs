//! The real desktop app (tray process + window process) under Xvfb against the
//! original-style Node server: started by autostart (`--hidden`) it carries no web engine
//! and renews a stale autostart entry; it prints a `/startPrint` job on a real CUPS queue; a
//! second launch opens the first one's window; closing the window leaves no web engine
//! behind; when reconnecting gives up it asks the desktop for a notification. (What each
//! situation costs in memory is a figure of the benchmark, `scripts/bench.sh`.)

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use printrelay_e2e::desktop::{
    is_web_engine, session_bus, wait_for_tree, window_process, Launch, NotificationWatch,
};
use printrelay_e2e::procs;
use printrelay_e2e::{
    artifacts_dir, unique_marker, wait_for_printed, wait_until_listed, workspace_binary,
    OriginalServer, Process, VirtualDisplay, RAW_QUEUE, START_PRINT_ACCEPTED,
};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn tray_app_prints_opens_one_window_on_demand_and_leaves_no_web_engine_behind() -> Result<()>
{
    let server = OriginalServer::start(10_000, 5_000).await?;
    let display = VirtualDisplay::start().await?;
    let (_bus, bus) = session_bus().await?;
    let home = tempfile::tempdir()?;
    std::fs::create_dir_all(home.path().join("config"))?;
    std::fs::write(
        home.path().join("config/settings.json"),
        r#"{"autostart": true, "reconnect": {"attempts": 2, "delayMs": 200, "delayMaxMs": 400, "connectTimeoutMs": 1000}}"#,
    )?;
    // An entry left by an older install somewhere else: the app renews it.
    let autostart = home.path().join(".config/autostart");
    std::fs::create_dir_all(&autostart)?;
    std::fs::write(
        autostart.join("PrintRelay.desktop"),
        "[Desktop Entry]\nType=Application\nName=PrintRelay\nExec=/opt/old/printrelay-desktop --hidden\n",
    )?;
    let client_id = unique_marker("desk");
    let launch = Launch {
        bus: &bus,
        display: &display.display,
        home: home.path(),
        server: &server.url(),
        client_id: &client_id,
    };
    let first = launch
        .command(&["--hidden"], "desktop-app.log")?
        .spawn()
        .context("starting the desktop app")?;
    let first = Process::new(first);
    let root = first.pid()?;

    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let text = unique_marker("desktop print");
    let answer = server.start_print(&client_id, &text).await?;
    assert_eq!(answer["message"], START_PRINT_ACCEPTED, "{answer}");
    let printed = wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    assert_eq!(printed, text.as_bytes());

    // Started by autostart: tray only, no web engine, and the stale entry now points at
    // this binary.
    let hidden = procs::tree(root)?;
    assert!(
        !hidden.iter().any(is_web_engine) && window_process(&hidden).is_none(),
        "{}",
        procs::describe(&hidden)
    );
    let entry = std::fs::read_to_string(home.path().join(".config/autostart/PrintRelay.desktop"))
        .context("the autostart entry")?;
    let binary = workspace_binary("printrelay-desktop")?;
    assert!(
        entry.contains(&format!("{} --hidden", binary.display())) && !entry.contains("/opt/old"),
        "{entry}"
    );

    // A second launch hands over to the first, which opens its window, and exits.
    let second = launch.command(&[], "desktop-app-second.log")?.status();
    let second = tokio::time::timeout(LIMIT, second).await??;
    assert!(second.success(), "second launch: {second}");
    let open = wait_for_tree(root, "window with its web engine", |tree| {
        tree.iter().any(is_web_engine) && window_process(tree).is_some()
    })
    .await?;
    // The page has a moment to paint; the picture is for people, not for assertions.
    tokio::time::sleep(Duration::from_secs(2)).await;
    display.screenshot(&artifacts_dir().join("screenshots/desktop-tray-window.png"))?;
    let open = procs::tree(root).unwrap_or(open);

    // Closing the window ends its process, and the web engine with it.
    let window = window_process(&open).ok_or_else(|| anyhow!("no window process"))?;
    std::process::Command::new("kill")
        .arg(window.to_string())
        .status()?;
    wait_for_tree(root, "web engine gone", |tree| {
        !tree.iter().any(is_web_engine) && window_process(tree).is_none()
    })
    .await?;
    assert!(
        procs::tree(root)?.iter().any(|p| p.pid == root),
        "the tray app must outlive its window"
    );

    // Reconnecting gives up: the app asks the desktop for a notification.
    let mut notifications = NotificationWatch::start(&bus).await?;
    drop(server);
    notifications.wait_for("PrintRelay is offline").await?;
    Ok(())
}
