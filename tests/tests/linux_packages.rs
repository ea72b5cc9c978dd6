//! The Linux packages as an administrator installs them: `scripts/package/deb.sh` builds
//! them from this build's binaries, `dpkg -i` installs them on this machine, the
//! installed tray app starts `--hidden` under Xvfb and connects to a hub, and
//! `dpkg --purge` takes everything away again. Needs root (CI runs as root); elsewhere a printed skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use printrelay_e2e::desktop::{session_bus, Launch};
use printrelay_e2e::{
    repo_root, unique_marker, wait_until_listed, workspace_binary, Hub, Process, VirtualDisplay,
};

const LIMIT: Duration = Duration::from_secs(30);

fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    ensure!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The two .debs built from the binaries this test run uses.
fn build_packages(out: &Path) -> Result<(PathBuf, PathBuf)> {
    let bin_dir = workspace_binary("printrelay-desktop")?
        .parent()
        .context("binary folder")?
        .to_path_buf();
    let script = repo_root().join("scripts/package/deb.sh");
    let listed = run(
        script.to_str().context("path")?,
        &[
            "--bin-dir",
            bin_dir.to_str().context("path")?,
            "--out",
            out.to_str().context("path")?,
            "--fast",
        ],
    )?;
    let find = |name: &str| {
        listed
            .lines()
            .find(|l| l.contains(name))
            .map(PathBuf::from)
            .with_context(|| format!("no {name} package in {listed}"))
    };
    Ok((find("printrelay-desktop_")?, find("printrelay-agent_")?))
}

#[tokio::test]
async fn the_debs_install_start_connect_and_remove_cleanly() -> Result<()> {
    // dpkg needs root.
    let uid = run("id", &["-u"])?;
    if uid.trim() != "0" {
        return printrelay_e2e::skip::skip_or_fail("installing packages needs root");
    }
    let dist = tempfile::tempdir()?;
    let (desktop_deb, agent_deb) = build_packages(dist.path())?;
    run(
        "dpkg",
        &[
            "-i",
            desktop_deb.to_str().context("path")?,
            agent_deb.to_str().context("path")?,
        ],
    )?;
    let removed = async {
        let entry = std::fs::read_to_string("/usr/share/applications/printrelay.desktop")?;
        assert!(
            entry.contains("Exec=/usr/bin/printrelay-desktop\n"),
            "{entry}"
        );
        let autostart = std::fs::read_to_string("/etc/xdg/autostart/PrintRelay.desktop")?;
        assert!(
            autostart.contains("Exec=/usr/bin/printrelay-desktop --hidden\n"),
            "{autostart}"
        );
        let unit = std::fs::read_to_string("/lib/systemd/system/printrelay-agent.service")?;
        assert!(
            unit.contains("ExecStart=/usr/bin/printrelay-agent run\n"),
            "{unit}"
        );
        assert!(Path::new("/usr/share/icons/hicolor/128x128/apps/printrelay.png").is_file());
        run("/usr/bin/printrelay-agent", &["--version"])?;

        // The installed app, started as the autostart entry starts it.
        let db = tempfile::tempdir()?;
        let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
        let display = VirtualDisplay::start().await?;
        let (_bus, bus) = session_bus().await?;
        let home = tempfile::tempdir()?;
        std::fs::create_dir_all(home.path().join("config"))?;
        std::fs::write(
            home.path().join("config/settings.json"),
            r#"{"autostart": true}"#,
        )?;
        let client_id = unique_marker("deb");
        let server = hub.url();
        let launch = Launch {
            bus: &bus,
            display: &display.display,
            home: home.path(),
            server: &server,
            client_id: &client_id,
        };
        let app = launch
            .command_of(
                Path::new("/usr/bin/printrelay-desktop"),
                &["--hidden"],
                "deb-desktop.log",
            )?
            .spawn()
            .context("starting the installed app")?;
        let app = Process::new(app);
        wait_until_listed(&server, &client_id, LIMIT).await?;
        // The user's own autostart entry points at the installed program.
        let own =
            std::fs::read_to_string(home.path().join(".config/autostart/PrintRelay.desktop"))?;
        assert!(own.contains("/usr/bin/printrelay-desktop"), "{own}");
        drop(app);
        Ok::<(), anyhow::Error>(())
    }
    .await;
    // Purged whatever happened (conffiles too): the packages must not outlive the test.
    run(
        "dpkg",
        &["--purge", "printrelay-desktop", "printrelay-agent"],
    )?;
    removed?;
    for gone in [
        "/usr/bin/printrelay-desktop",
        "/usr/bin/printrelay-agent",
        "/usr/share/applications/printrelay.desktop",
        "/etc/xdg/autostart/PrintRelay.desktop",
        "/lib/systemd/system/printrelay-agent.service",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} left after dpkg --purge");
    }
    Ok(())
}
