//! The Windows installers as IT deploys them, under Wine: `scripts/package/msi.sh`
//! builds the per-machine and per-user MSIs (wixl) from this build's Windows .exes,
//! twice (an older version 0.0.9 and the current one); `msiexec /qn` installs the older
//! one with presets, the installed tray app connects with them and prints, the current
//! one upgrades it in place (one product, the job history and the presets kept), and
//! `msiexec /x` takes everything away but the user's data; then the per-user MSI
//! installs without presets and uninstalls with `REMOVE_USER_DATA=1`, the user's data
//! too. Every step's Windows Installer log goes to
//! `artifacts/logs/windows-installer-*.log`. Without Wine or wixl the test fails under
//! CI and prints a `SKIPPED:` line elsewhere (printrelay_e2e::skip).

use std::os::unix::fs::MetadataExt as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use futures_util::FutureExt as _;
use printrelay_e2e::wine::{windows_path, Wine};
use printrelay_e2e::wine_desktop::{DesktopRig, LIMIT};
use printrelay_e2e::{
    artifacts_dir, repo_root, unique_marker, wait_for_job_output, wait_until_listed, Hub, RAW_QUEUE,
};
use serde_json::Value;

/// The version the upgrade starts from.
const OLD_VERSION: &str = "0.0.9";
/// The version the workspace builds (`Cargo.toml`).
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The agent token the hub asks for and the installer presets.
const TOKEN: &str = "installer-token-1";

const MACHINE_EXE: &str = r"C:\Program Files\PrintRelay\printrelay-desktop.exe";
const MACHINE_AGENT: &str = r"C:\Program Files\PrintRelay\printrelay-agent.exe";
const MACHINE_RUN_KEY: &str = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run";
const USER_RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
const MACHINE_PRESETS: &str = r"HKLM\Software\PrintRelay";
const USER_PRESETS: &str = r"HKCU\Software\PrintRelay";
const UNINSTALL_KEYS: [&str; 2] = [
    r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall",
    r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall",
];
/// What the MSIs install.
const FILES: [&str; 3] = [
    "printrelay-desktop.exe",
    "WebView2Loader.dll",
    "printrelay-agent.exe",
];
/// msiexec unpacks a debug build's 270 MB.
const MSIEXEC_LIMIT: Duration = Duration::from_secs(180);

/// The per-machine and the per-user MSI of one version.
#[derive(Debug)]
struct Msis {
    machine: PathBuf,
    user: PathBuf,
}

fn has_wixl() -> bool {
    std::process::Command::new("wixl")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Runs `scripts/package/msi.sh` on the Windows build in `exe_dir`; the MSIs it says it
/// wrote (its only output).
fn build_msis(exe_dir: &Path, version: &str, out: &Path) -> Result<Msis> {
    let script = repo_root().join("scripts/package/msi.sh");
    let output = std::process::Command::new(&script)
        .arg("--exe-dir")
        .arg(exe_dir)
        .args(["--version", version, "--out"])
        .arg(out)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    ensure!(
        output.status.success(),
        "msi.sh --version {version} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let written: Vec<PathBuf> = stdout.lines().map(PathBuf::from).collect();
    let machine = out.join(format!("PrintRelay_{version}_x64.msi"));
    let user = out.join(format!("PrintRelay_{version}_x64_peruser.msi"));
    ensure!(
        written == [machine.clone(), user.clone()],
        "msi.sh printed {stdout:?}, stderr {:?}",
        String::from_utf8_lossy(&output.stderr)
    );
    ensure!(machine.is_file() && user.is_file(), "{stdout}");
    Ok(Msis { machine, user })
}

/// `wine msiexec <args> /qn` on the rig's display (the installer's own launches of the
/// app need it), its verbose log to `artifacts/logs/windows-installer-<step>.log`.
async fn msiexec(rig: &DesktopRig, step: &str, args: &[&str]) -> Result<()> {
    let log = artifacts_dir()
        .join("logs")
        .join(format!("windows-installer-{step}.log"));
    std::fs::create_dir_all(log.parent().context("log folder")?)?;
    let log_arg = windows_path(&log);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["/qn", "/l*v", &log_arg]);
    let mut command = rig.command("msiexec", &all);
    // No Linux menu entries from the shortcut (winemenubuilder writes to $HOME).
    command
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=;winemenubuilder.exe=d")
        .kill_on_drop(true);
    let out = tokio::time::timeout(MSIEXEC_LIMIT, command.output())
        .await
        .with_context(|| format!("msiexec {step} did not end within {MSIEXEC_LIMIT:?}"))?
        .context("running msiexec")?;
    ensure!(
        out.status.success(),
        "msiexec {step} {args:?} failed ({:?}): {}; see {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        log.display()
    );
    Ok(())
}

/// The per-machine install folder as Linux sees it.
fn machine_dir(wine: &Wine) -> PathBuf {
    wine.prefix.join("drive_c/Program Files/PrintRelay")
}

/// The per-user install folder (`%LOCALAPPDATA%\Programs\PrintRelay`) as Linux sees it.
fn user_dir(wine: &Wine) -> Result<PathBuf> {
    let (_, local) = wine.user_folders()?;
    Ok(local.join("Programs/PrintRelay"))
}

/// The Start-menu folders a shortcut may be in: all users' and the prefix user's.
/// Windows Installer puts a per-machine package's shortcut in the first; Wine 8 gives
/// ProgramMenuFolder the user's folder whatever ALLUSERS says.
fn start_menus(wine: &Wine) -> Result<[PathBuf; 2]> {
    let (roaming, _) = wine.user_folders()?;
    let programs = "Microsoft/Windows/Start Menu/Programs";
    Ok([
        wine.prefix.join("drive_c/ProgramData").join(programs),
        roaming.join(programs),
    ])
}

/// The installed `PrintRelay.lnk`s.
fn shortcuts(wine: &Wine) -> Result<Vec<PathBuf>> {
    Ok(start_menus(wine)?
        .into_iter()
        .map(|dir| dir.join("PrintRelay.lnk"))
        .filter(|lnk| lnk.is_file())
        .collect())
}

/// Checks there is one `PrintRelay.lnk` and that it points at `exe`.
fn ensure_shortcut_to(wine: &Wine, exe: &str) -> Result<()> {
    let found = shortcuts(wine)?;
    ensure!(found.len() == 1, "shortcuts: {found:?}");
    let lnk = std::fs::read(&found[0])?;
    ensure!(
        lnk.windows(exe.len()).any(|w| w == exe.as_bytes()),
        "{} does not point at {exe}",
        found[0].display()
    );
    Ok(())
}

/// The uninstall entries (Apps & features) named PrintRelay, as (key, display version).
async fn uninstall_entries(wine: &Wine) -> Result<Vec<(String, String)>> {
    let mut entries = Vec::new();
    for root in UNINSTALL_KEYS {
        let tree = wine.reg_tree(root).await?;
        // Blocks of `HKEY_...\{code}` followed by `    <name>    <type>    <data>` lines.
        for block in tree.split("\nHKEY_").skip(1) {
            let value = |name: &str| {
                block.lines().find_map(|line| {
                    let rest = line.trim_start().strip_prefix(name)?.trim_start();
                    Some(rest.strip_prefix("REG_SZ")?.trim().to_owned())
                })
            };
            if value("DisplayName").as_deref() == Some("PrintRelay") {
                let key = block.lines().next().unwrap_or_default().to_owned();
                entries.push((key, value("DisplayVersion").unwrap_or_default()));
            }
        }
    }
    Ok(entries)
}

/// How many values named `PrintRelay` the Run key `key` has.
async fn run_entries(wine: &Wine, key: &str) -> Result<usize> {
    let tree = wine.reg_tree(key).await?;
    Ok(tree
        .lines()
        .filter(|line| line.trim_start().starts_with("PrintRelay "))
        .count())
}

/// The installed agent's `jobs --search <job_id> --json` under Wine: the history the
/// desktop app keeps in `%LOCALAPPDATA%\PrintRelay\data\agent.db`.
async fn history(rig: &DesktopRig, job_id: &str) -> Result<Value> {
    let mut command = tokio::process::Command::new("wine");
    command
        .args([MACHINE_AGENT, "jobs", "--search", job_id, "--json"])
        .stdin(std::process::Stdio::null());
    rig.wine.environment(&mut command);
    let out = tokio::time::timeout(LIMIT, command.output())
        .await
        .context("the agent's jobs command did not end")??;
    ensure!(
        out.status.success(),
        "printrelay-agent.exe jobs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "the agent's jobs output: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Checks the install folder holds the build's files.
fn ensure_installed_files(dir: &Path, built: &Path) -> Result<()> {
    for file in FILES {
        let installed = std::fs::metadata(dir.join(file))
            .with_context(|| format!("{file} is not in {}", dir.display()))?;
        let size = std::fs::metadata(built.join(file))?.len();
        ensure!(
            installed.len() == size,
            "{file}: {} bytes installed, {size} built",
            installed.len()
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_msis_install_with_presets_upgrade_in_place_and_uninstall_cleanly() -> Result<()> {
    if !has_wixl() {
        return printrelay_e2e::skip::skip_or_fail(
            "wixl is not installed (Debian packages wixl and msitools)",
        );
    }
    let Some(wine) = Wine::prepare_desktop()? else {
        return Ok(());
    };
    let built = wine.exe.parent().context("exe folder")?.to_path_buf();
    let dist = tempfile::tempdir()?;
    let old = build_msis(&built, OLD_VERSION, &dist.path().join("old"))?;
    let new = build_msis(&built, VERSION, &dist.path().join("new"))?;
    let Some(rig) = DesktopRig::start().await? else {
        return Ok(());
    };
    // The prefix outlives the test: what an interrupted run left goes first, and
    // nothing of this one may stay behind, also when an assertion fails.
    clean_up(&rig).await?;
    let outcome = AssertUnwindSafe(async {
        per_machine(&rig, &built, &old, &new).await?;
        per_user(&rig, &built, &new).await
    })
    .catch_unwind()
    .await;
    let cleaned = clean_up(&rig).await;
    match outcome {
        Ok(result) => result.and(cleaned),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// IT's path: the older MSI with presets, the app, the upgrade, the uninstall.
async fn per_machine(rig: &DesktopRig, built: &Path, old: &Msis, new: &Msis) -> Result<()> {
    let wine = &rig.wine;
    let db = tempfile::tempdir()?;
    let hub = Hub::start_with(
        &db.path().join("hub.db"),
        2_000,
        1_000,
        &["--agent-token", TOKEN],
    )
    .await?;
    let suffix = unique_marker("msi");
    let template = format!("{{hostname}}-{suffix}");
    let server = format!("SERVER_URL={}", hub.url());
    let token = format!("TOKEN={TOKEN}");
    let client = format!("CLIENT_ID={template}");
    let printer = format!("PRINTER={RAW_QUEUE}");
    let msi = windows_path(&old.machine);
    msiexec(
        rig,
        "install",
        &[
            "/i",
            &msi,
            &server,
            &token,
            &client,
            &printer,
            "AUTOSTART=1",
        ],
    )
    .await?;

    let dir = machine_dir(wine);
    ensure_installed_files(&dir, built)?;
    ensure_shortcut_to(wine, MACHINE_EXE)?;
    let run_entry = format!("\"{MACHINE_EXE}\" --hidden");
    assert_eq!(
        wine.reg_value(MACHINE_RUN_KEY, "PrintRelay").await?,
        Some(run_entry.clone())
    );
    let presets = [
        ("ServerUrl", hub.url()),
        ("Token", TOKEN.to_owned()),
        // Literally: the app expands the template on each PC.
        ("ClientId", template.clone()),
        ("Printer", RAW_QUEUE.to_owned()),
    ];
    for (name, data) in &presets {
        assert_eq!(
            wine.reg_value(MACHINE_PRESETS, name).await?.as_ref(),
            Some(data),
            "{name}"
        );
    }
    assert_eq!(wine.reg_dword(MACHINE_PRESETS, "Autostart").await?, Some(1));
    let entries = uninstall_entries(wine).await?;
    ensure!(
        entries.len() == 1 && entries[0].1 == OLD_VERSION,
        "uninstall entries: {entries:?}"
    );

    // The installed app, as the Run entry starts it: a fresh user, so the presets are
    // its settings.
    let mut app = rig
        .launch(Some(MACHINE_EXE), &["--hidden"], "windows-installer.log")
        .await?;
    let tooltip = app.wait_for_tooltip("PrintRelay: Connected").await?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")?
        .trim()
        .to_lowercase();
    let client_id = format!("{host}-{suffix}");
    assert_eq!(
        tooltip,
        format!("PrintRelay: Connected\\nClient ID: {client_id}\\nPrinter: {RAW_QUEUE}")
    );
    wait_until_listed(&hub.url(), &client_id, LIMIT).await?;
    // The machine's Run entry starts it for every user: no per-user one.
    assert_eq!(wine.reg_value(USER_RUN_KEY, "PrintRelay").await?, None);
    let job_id = unique_marker("msi-raw");
    let mut bytes = format!("^XA^FD{job_id}^FS^XZ").into_bytes();
    bytes.extend(0u8..=255);
    hub.submit_raw(&client_id, &job_id, RAW_QUEUE, &bytes)
        .await?;
    assert_eq!(wait_for_job_output(RAW_QUEUE, &job_id, LIMIT).await?, bytes);
    hub.wait_for_job_state(&job_id, "spooled", LIMIT).await?;
    rig.ask(&["--quit"]).await?;
    assert_eq!(app.wait_for_exit().await?, Some(0));
    rig.until_no_app_process().await?;

    // The upgrade, without presets on its command line.
    // Whole seconds: the file system's change times may be coarser than the clock.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let msi = windows_path(&new.machine);
    msiexec(rig, "upgrade", &["/i", &msi]).await?;
    ensure_installed_files(&dir, built)?;
    for file in FILES {
        // Wine keeps the packaged modification time; the change time is the copy's.
        let changed = std::fs::metadata(dir.join(file))?.ctime();
        ensure!(
            u64::try_from(changed)? >= started,
            "{file} was not replaced by the upgrade"
        );
    }
    let entries = uninstall_entries(wine).await?;
    ensure!(
        entries.len() == 1 && entries[0].1 == VERSION,
        "one product, the new version: {entries:?}"
    );
    assert_eq!(
        wine.reg_value(MACHINE_RUN_KEY, "PrintRelay").await?,
        Some(run_entry)
    );
    assert_eq!(run_entries(wine, MACHINE_RUN_KEY).await?, 1);
    assert_eq!(run_entries(wine, USER_RUN_KEY).await?, 0);
    for (name, data) in &presets {
        assert_eq!(
            wine.reg_value(MACHINE_PRESETS, name).await?.as_ref(),
            Some(data),
            "{name} kept over the upgrade"
        );
    }
    ensure_shortcut_to(wine, MACHINE_EXE)?;
    let found = history(rig, &job_id).await?;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["jobs"][0]["jobId"], job_id.as_str(), "{found}");
    assert!(
        matches!(
            found["jobs"][0]["state"].as_str(),
            Some("spooled" | "completed")
        ),
        "{found}"
    );

    // Uninstalled while the app runs: the installer asks it to quit.
    let mut app = rig
        .launch(Some(MACHINE_EXE), &["--hidden"], "windows-installer-2.log")
        .await?;
    let tooltip = app.wait_for_tooltip("PrintRelay: Connected").await?;
    assert!(
        tooltip.contains(&format!("Client ID: {client_id}")),
        "{tooltip}"
    );
    msiexec(rig, "uninstall", &["/x", &msi]).await?;
    assert_eq!(app.wait_for_exit().await?, Some(0), "quit by the installer");
    rig.until_no_app_process().await?;
    ensure!(!dir.exists(), "{} is left", dir.display());
    assert_eq!(wine.reg_value(MACHINE_RUN_KEY, "PrintRelay").await?, None);
    assert_eq!(wine.reg_tree(MACHINE_PRESETS).await?, "");
    assert_eq!(shortcuts(wine)?, Vec::<PathBuf>::new());
    assert_eq!(uninstall_entries(wine).await?, Vec::new());
    // The user's settings and history stay for a reinstall.
    let (roaming, local) = wine.user_folders()?;
    ensure!(
        local.join("PrintRelay/data/agent.db").is_file(),
        "the job history went"
    );
    ensure!(
        roaming.join("PrintRelay/config").is_dir(),
        "the settings went"
    );
    Ok(())
}

/// An office user's path: the per-user MSI, no presets, no admin rights needed.
async fn per_user(rig: &DesktopRig, built: &Path, new: &Msis) -> Result<()> {
    let wine = &rig.wine;
    assert_eq!(wine.reg_value(USER_RUN_KEY, "PrintRelay").await?, None);
    let msi = windows_path(&new.user);
    msiexec(rig, "install-peruser", &["/i", &msi]).await?;
    let dir = user_dir(wine)?;
    ensure_installed_files(&dir, built)?;
    let user = wine
        .user_folders()?
        .0
        .ancestors()
        .nth(2)
        .and_then(Path::file_name)
        .context("user name")?
        .to_string_lossy()
        .into_owned();
    let exe = format!(r"C:\users\{user}\AppData\Local\Programs\PrintRelay\printrelay-desktop.exe");
    assert_eq!(
        wine.reg_value(USER_RUN_KEY, "PrintRelay").await?,
        Some(format!("\"{exe}\" --hidden"))
    );
    assert_eq!(wine.reg_value(MACHINE_RUN_KEY, "PrintRelay").await?, None);
    assert_eq!(wine.reg_tree(USER_PRESETS).await?, "", "no presets given");
    assert_eq!(wine.reg_tree(MACHINE_PRESETS).await?, "");
    ensure_shortcut_to(wine, &exe)?;
    let entries = uninstall_entries(wine).await?;
    ensure!(
        entries.len() == 1 && entries[0].1 == VERSION,
        "uninstall entries: {entries:?}"
    );

    // The documented switch also takes this user's settings and history (left by the
    // per-machine part) with it.
    let (roaming, local) = wine.user_folders()?;
    ensure!(
        local.join("PrintRelay/data/agent.db").is_file(),
        "no history to remove"
    );
    msiexec(
        rig,
        "uninstall-peruser",
        &["/x", &msi, "REMOVE_USER_DATA=1"],
    )
    .await?;
    ensure!(!dir.exists(), "{} is left", dir.display());
    for data in [roaming.join("PrintRelay"), local.join("PrintRelay")] {
        ensure!(!data.exists(), "{} is left", data.display());
    }
    assert_eq!(wine.reg_value(USER_RUN_KEY, "PrintRelay").await?, None);
    assert_eq!(shortcuts(wine)?, Vec::<PathBuf>::new());
    assert_eq!(uninstall_entries(wine).await?, Vec::new());
    Ok(())
}

/// Uninstalls every PrintRelay product (by its product code, whichever build it came
/// from) and removes what an interrupted run may have left.
async fn clean_up(rig: &DesktopRig) -> Result<()> {
    let wine = &rig.wine;
    for (key, _) in uninstall_entries(wine).await? {
        let code = key.rsplit('\\').next().unwrap_or_default().to_owned();
        msiexec(rig, "clean-up", &["/x", &code]).await?;
    }
    for key in [MACHINE_RUN_KEY, USER_RUN_KEY] {
        wine.reg_delete_value(key, "PrintRelay").await?;
    }
    for key in [MACHINE_PRESETS, USER_PRESETS] {
        wine.reg_delete_key(key).await?;
    }
    for dir in [machine_dir(wine), user_dir(wine)?] {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    for lnk in shortcuts(wine)? {
        std::fs::remove_file(lnk)?;
    }
    Ok(())
}
