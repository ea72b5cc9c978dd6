//! The desktop app's Windows build (`printrelay-desktop.exe`) under Wine, as an office
//! user meets it: started `--hidden` with its settings in `%APPDATA%`, its icon docked
//! in an XEmbed tray (trayer) and screenshot to `artifacts/windows-desktop/`, printing
//! through GDI and winspool into the real CUPS queues, driven by second launches (Wine
//! cannot open a tray icon's menu), writing its own Run entry, and telling the user
//! when the WebView2 Runtime is missing. Without Wine each test fails under CI and
//! prints a `SKIPPED:` line elsewhere (printrelay_e2e::skip).

use std::time::Duration;

use anyhow::{Context, Result};
use printrelay_e2e::wine_desktop::{DesktopRig, LIMIT};
use printrelay_e2e::{
    cups_pdf_output, poppler, unique_marker, wait_for_job_output, Hub, RAW_QUEUE,
};
use serde_json::{json, Value};

/// The cups-pdf queue whose PDFs tests read back.
const PDF_QUEUE: &str = "PrintRelayPDF";

const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
const MACHINE_RUN_KEY: &str = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run";

/// Settings as the app writes them, for a hub at `server`.
fn settings(server: &str, client_id: &str, autostart: bool) -> Value {
    json!({
        "serverUrl": server,
        "clientId": client_id,
        "printer": PDF_QUEUE,
        "allowServerPrinterChoice": true,
        "autostart": autostart,
        "language": "en",
        "reconnect": {"attempts": 3, "delayMs": 300, "delayMaxMs": 600, "connectTimeoutMs": 3000}
    })
}

#[tokio::test]
async fn the_tray_app_connects_prints_and_its_icon_and_tooltip_follow_the_hub() -> Result<()> {
    let Some(rig) = DesktopRig::start().await? else {
        return Ok(());
    };
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let port = hub.port;
    let client_id = unique_marker("windesk");
    rig.write_settings(&settings(&hub.url(), &client_id, false))?;
    let mut app = rig
        .launch(None, &["--hidden"], "windows-desktop.log")
        .await?;

    let tooltip = app.wait_for_tooltip("PrintRelay: Connected").await?;
    assert_eq!(
        tooltip,
        format!("PrintRelay: Connected\\nClient ID: {client_id}\\nPrinter: {PDF_QUEUE}")
    );
    let icon = rig.host.wait_for_tray_icon().await?;
    let painted_by = std::time::Instant::now() + LIMIT;
    // Docked and painted with the connected icon: Wine repaints the tray after the
    // tooltip changed, so a first look may still show the connecting icon.
    let badge = colours_only_in("connected", &["connecting", "offline", "paused"])?;
    let connected = loop {
        let pixels = rig.host.pixels(&icon)?;
        if pixels
            .chunks(3)
            .any(|p| badge.iter().any(|colour| colour[..] == *p))
        {
            break pixels;
        }
        if std::time::Instant::now() > painted_by {
            anyhow::bail!("the tray never showed the connected icon");
        }
        // The icon repaints without telling anyone; poll.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    rig.host.screenshot("1-connected")?;

    // A text job with Chinese through GDI, read back from the PDF printer.
    let text_job = unique_marker("windesk-text");
    let lines = ["PrintRelay invoice 42", "打印测试：发票编号 42"];
    let (status, body) = hub
        .submit(
            &json!({"clientId": client_id, "jobId": text_job, "contentType": "text",
            "content": lines.join("\n")}),
        )
        .await?;
    assert_eq!(status, 202, "{body}");
    let pdf = cups_pdf_output(PDF_QUEUE, &text_job).await?;
    let extracted: String = poppler("pdftotext", &[], &pdf)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for line in lines {
        let line: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(extracted.contains(&line), "{line:?} not in {extracted:?}");
    }
    // A raw job through winspool, byte-exact, on the printer the job names.
    let raw_job = unique_marker("windesk-raw");
    let mut bytes = format!("^XA^FD{raw_job}^FS^XZ").into_bytes();
    bytes.extend(0u8..=255);
    hub.submit_raw(&client_id, &raw_job, RAW_QUEUE, &bytes)
        .await?;
    assert_eq!(
        wait_for_job_output(RAW_QUEUE, &raw_job, LIMIT).await?,
        bytes
    );
    hub.wait_for_job_state(&raw_job, "spooled", LIMIT).await?;

    // The hub goes away: reconnecting, then offline, each with its own icon.
    drop(hub);
    app.wait_for_tooltip("PrintRelay: Reconnecting").await?;
    let reconnecting = rig.host.wait_for_other_pixels(&icon, &connected).await?;
    rig.host.screenshot("2-reconnecting")?;
    let offline_tooltip = app.wait_for_tooltip("PrintRelay: Offline").await?;
    assert!(offline_tooltip.contains(&client_id), "{offline_tooltip}");
    let offline = rig.host.wait_for_other_pixels(&icon, &reconnecting).await?;
    assert_ne!(offline, connected);
    rig.host.screenshot("3-offline")?;

    // The tray menu's actions, through second launches: Pause, Reconnect (the hub is
    // back on its port), Resume, Quit.
    rig.ask(&["--pause"]).await?;
    app.wait_for_tooltip("PrintRelay: Offline, printing paused")
        .await?;
    let paused = rig.host.wait_for_other_pixels(&icon, &offline).await?;
    let hub = Hub::start_at(port, &db.path().join("hub.db"), 2_000, 1_000, &[]).await?;
    rig.ask(&["--reconnect"]).await?;
    app.wait_for_tooltip("PrintRelay: Connected, printing paused")
        .await?;
    rig.host
        .wait_for_pixels(&icon, &paused, "paused over connected")
        .await?;
    rig.ask(&["--resume"]).await?;
    app.wait_for_tooltip("PrintRelay: Connected\\n").await?;
    rig.host
        .wait_for_pixels(&icon, &connected, "the connected icon again")
        .await?;
    rig.host.screenshot("4-reconnected")?;

    rig.ask(&["--quit"]).await?;
    assert_eq!(app.wait_for_exit().await?, Some(0));
    rig.until_no_app_process().await?;
    drop(hub);
    Ok(())
}

#[tokio::test]
async fn a_second_launch_opens_the_first_ones_window_or_says_webview2_is_missing_while_printing_goes_on(
) -> Result<()> {
    let Some(rig) = DesktopRig::start().await? else {
        return Ok(());
    };
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let client_id = unique_marker("windesk-wv2");
    rig.write_settings(&settings(&hub.url(), &client_id, false))?;
    let mut app = rig
        .launch(None, &["--hidden"], "windows-desktop-webview2.log")
        .await?;
    app.wait_for_tooltip("PrintRelay: Connected").await?;
    assert!(
        !app.log.all().iter().any(|l| l.contains("webview2_missing")),
        "--hidden shows nothing"
    );

    // A plain second launch (a double-click on the shortcut) hands over and leaves.
    rig.ask(&[]).await?;
    app.log.wait_for("action=ShowWindow").await?;
    app.log.wait_for("code=\"webview2_missing\"").await?;
    rig.host
        .wait_for("the message box", |tree| {
            tree.contains("\"PrintRelay\": (\"printrelay-desktop.exe\"")
                .then_some(())
        })
        .await?;
    rig.host.screenshot("5-webview2-missing")?;
    assert_eq!(
        rig.processes_named("printrelay-desktop.exe").len(),
        1,
        "one app process; the second launch is gone"
    );

    // The box is open: the app still prints.
    let job_id = unique_marker("windesk-wv2-raw");
    let bytes = format!("printed while the box is open {job_id}").into_bytes();
    hub.submit_raw(&client_id, &job_id, RAW_QUEUE, &bytes)
        .await?;
    assert_eq!(wait_for_job_output(RAW_QUEUE, &job_id, LIMIT).await?, bytes);

    // Quit ends everything, the open box included.
    rig.ask(&["--quit"]).await?;
    assert_eq!(app.wait_for_exit().await?, Some(0));
    rig.until_no_app_process().await?;
    Ok(())
}

#[tokio::test]
async fn autostart_is_a_quoted_per_user_run_entry_that_follows_the_exe_and_the_setting(
) -> Result<()> {
    let Some(rig) = DesktopRig::start().await? else {
        return Ok(());
    };
    // Installed under Program Files, where an unquoted path breaks; the loader DLL
    // ships beside the exe.
    let install = |folder: &str| -> Result<String> {
        let dir = rig.wine.prefix.join("drive_c/Program Files").join(folder);
        std::fs::create_dir_all(&dir)?;
        let built = rig.wine.exe.parent().context("exe folder")?;
        for file in ["printrelay-desktop.exe", "WebView2Loader.dll"] {
            std::fs::copy(built.join(file), dir.join(file))
                .with_context(|| format!("copying {file}"))?;
        }
        Ok(format!(r"C:\Program Files\{folder}\printrelay-desktop.exe"))
    };
    let first = install("PrintRelay Test")?;
    let moved = install("PrintRelay Moved")?;
    let client_id = unique_marker("windesk-auto");
    let cases = [
        (&first, true, Some(format!("\"{first}\" --hidden"))),
        (&moved, true, Some(format!("\"{moved}\" --hidden"))),
        (&moved, false, None),
        // A per-machine install starts the app for every user (HKLM): no second,
        // per-user entry.
        (&moved, true, None),
    ];
    for (case, (exe, autostart, expected)) in cases.into_iter().enumerate() {
        if case == 3 {
            let machine = format!("\"{moved}\" --hidden");
            rig.wine
                .reg_add(MACHINE_RUN_KEY, "PrintRelay", &machine)
                .await?;
        }
        rig.write_settings(&settings("", &client_id, autostart))?;
        let mut app = rig
            .launch(Some(exe), &["--hidden"], "windows-desktop-autostart.log")
            .await?;
        // The entry is made to match the setting before the tray icon appears.
        app.wait_for_tooltip("PrintRelay: ").await?;
        assert_eq!(
            rig.wine.reg_value(RUN_KEY, "PrintRelay").await?,
            expected,
            "{exe} with autostart {autostart}"
        );
        rig.ask(&["--quit"]).await?;
        assert_eq!(app.wait_for_exit().await?, Some(0));
        rig.until_no_app_process().await?;
    }
    rig.wine
        .reg_delete_value(MACHINE_RUN_KEY, "PrintRelay")
        .await?;
    Ok(())
}

/// What group policy writes (`HKLM\Software\Policies\PrintRelay`) fixes the server,
/// token, client id (from its `{hostname}` template) and autostart, over the user's
/// own settings file.
#[tokio::test]
async fn a_group_policy_in_the_registry_fixes_server_token_client_id_and_autostart() -> Result<()> {
    let Some(rig) = DesktopRig::start().await? else {
        return Ok(());
    };
    const POLICY: &str = r"HKLM\Software\Policies\PrintRelay";
    let db = tempfile::tempdir()?;
    let hub = Hub::start_with(
        &db.path().join("hub.db"),
        2_000,
        1_000,
        &["--agent-token", "gpo-token-1"],
    )
    .await?;
    let suffix = unique_marker("gpo");
    let result = async {
        rig.wine.reg_add(POLICY, "ServerUrl", &hub.url()).await?;
        rig.wine.reg_add(POLICY, "Token", "gpo-token-1").await?;
        rig.wine
            .reg_add(POLICY, "ClientId", &format!("{{hostname}}-{suffix}"))
            .await?;
        rig.wine.reg_add_dword(POLICY, "Autostart", 1).await?;
        // The user's file says otherwise everywhere.
        rig.write_settings(&settings("http://127.0.0.1:1", "users-own-id", false))?;
        let mut app = rig
            .launch(None, &["--hidden"], "windows-desktop-policy.log")
            .await?;
        let tooltip = app.wait_for_tooltip("PrintRelay: Connected").await?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")?
            .trim()
            .to_lowercase();
        let client_id = format!("{host}-{suffix}");
        assert!(
            tooltip.contains(&format!("Client ID: {client_id}")),
            "{tooltip}"
        );
        printrelay_e2e::wait_until_listed(&hub.url(), &client_id, LIMIT).await?;
        let entry = rig.wine.reg_value(RUN_KEY, "PrintRelay").await?;
        assert!(
            entry.as_deref().is_some_and(|e| e.ends_with("\" --hidden")),
            "{entry:?}"
        );
        rig.ask(&["--quit"]).await?;
        assert_eq!(app.wait_for_exit().await?, Some(0));
        rig.until_no_app_process().await
    }
    .await;
    // The prefix outlives the test: no policy may stay behind.
    rig.wine.reg_delete_key(POLICY).await?;
    rig.wine.reg_delete_value(RUN_KEY, "PrintRelay").await?;
    result
}

/// The opaque colours of icons/tray-`name`.png that none of the `others` has: what tells
/// that icon on screen.
fn colours_only_in(name: &str, others: &[&str]) -> Result<Vec<[u8; 3]>> {
    let colours = |name: &str| -> Result<std::collections::HashSet<[u8; 3]>> {
        let path = printrelay_e2e::repo_root().join(format!("icons/tray-{name}.png"));
        let mut reader = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&path).with_context(|| path.display().to_string())?,
        ))
        .read_info()?;
        let mut pixels = vec![0; reader.output_buffer_size().context("icon size")?];
        let frame = reader.next_frame(&mut pixels)?;
        anyhow::ensure!(frame.color_type == png::ColorType::Rgba, "{name}: not RGBA");
        Ok(pixels[..frame.buffer_size()]
            .chunks(4)
            .filter(|p| p[3] == 255)
            .map(|p| [p[0], p[1], p[2]])
            .collect())
    };
    let mut only = colours(name)?;
    for other in others {
        for colour in colours(other)? {
            only.remove(&colour);
        }
    }
    anyhow::ensure!(!only.is_empty(), "tray-{name}.png has no colour of its own");
    Ok(only.into_iter().collect())
}
