//! The desktop app's Windows build in the tray under Wine: RSS of its tray process, idle
//! and connected to the hub, beside the Linux tray process of the same run. Wine's own
//! processes (wineserver, explorer.exe, services) are shared by every Windows program
//! and not counted, as Windows' shell would not be.

use anyhow::Result;
use printrelay_e2e::procs;
use printrelay_e2e::wine_desktop::DesktopRig;
use printrelay_e2e::{unique_marker, Hub};
use serde_json::json;

/// RSS in MiB of the tray process, one sample per fresh start; `Ok(None)` without Wine
/// (outside CI), so the benchmark runs where Wine is not installed.
pub async fn tray_rss(hub: &Hub, reps: usize) -> Result<Option<Vec<f64>>> {
    let mut samples = Vec::new();
    for rep in 0..reps {
        let Some(rig) = DesktopRig::start().await? else {
            return Ok(None);
        };
        let client_id = unique_marker("bench-wine");
        rig.write_settings(
            &json!({"serverUrl": hub.url(), "clientId": client_id, "autostart": false}),
        )?;
        let mut app = rig
            .launch(
                None,
                &["--hidden"],
                &format!("bench-wine-desktop-{rep}.log"),
            )
            .await?;
        app.wait_for_tooltip("PrintRelay: Connected").await?;
        // Settled as the Linux app is before it is measured.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        let pid = app.process.pid()?;
        let tree = procs::tree(pid)?;
        let rss_kib = tree.iter().find(|p| p.pid == pid).map_or(0, |p| p.rss_kib);
        samples.push(rss_kib as f64 / 1024.0);
    }
    Ok(Some(samples))
}
