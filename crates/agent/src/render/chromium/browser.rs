//! Finding Chromium on this PC and running one for a single render: its own empty
//! profile, no network of its own, DevTools on a pipe, killed with all its processes
//! when dropped. Used by the render task of one job.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncReadExt;

use super::cdp::{Cdp, Event};

/// Browsers looked for on `PATH`, lightest first: the headless shell has no UI code.
const NAMES: [&str; 7] = [
    "chromium-headless-shell",
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
    "microsoft-edge-stable",
    "microsoft-edge",
];

/// Where macOS keeps browsers outside `PATH`.
const MAC_APPS: [&str; 3] = [
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
];

/// Where Windows installs Edge (on every Windows 10 and 11) and Chrome: a folder named
/// by an environment variable, then the rest of the path.
const WINDOWS_APPS: [(&str, &str); 5] = [
    (
        "ProgramFiles(x86)",
        r"Microsoft\Edge\Application\msedge.exe",
    ),
    ("ProgramFiles", r"Microsoft\Edge\Application\msedge.exe"),
    ("ProgramFiles", r"Google\Chrome\Application\chrome.exe"),
    ("ProgramFiles(x86)", r"Google\Chrome\Application\chrome.exe"),
    ("LOCALAPPDATA", r"Google\Chrome\Application\chrome.exe"),
];

/// The browser to render with: `configured` when given (a path, or a name on `PATH`),
/// else the first Chromium found.
pub fn find(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = configured {
        return on_path(path).or_else(|| path.is_file().then(|| path.to_owned()));
    }
    let installed = if cfg!(windows) {
        windows_apps(|name| std::env::var_os(name))
    } else {
        MAC_APPS.iter().map(PathBuf::from).collect()
    };
    NAMES
        .iter()
        .find_map(|name| on_path(Path::new(name)))
        .or_else(|| installed.into_iter().find(|p| p.is_file()))
}

/// [`WINDOWS_APPS`] as paths, with `env` giving the folders (those unset are skipped).
fn windows_apps(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<PathBuf> {
    WINDOWS_APPS
        .iter()
        .filter_map(|(folder, rest)| {
            let folder = PathBuf::from(env(folder)?);
            Some(rest.split('\\').fold(folder, |path, part| path.join(part)))
        })
        .collect()
}

fn on_path(name: &Path) -> Option<PathBuf> {
    if name.components().count() != 1 {
        return None;
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Switches that make the browser a renderer and nothing else (with `--remote-debugging-
/// io-pipes` on Windows: `win_pipes.rs`). Its network goes through a
/// proxy that is not there (`<-loopback>`: loopback too): every request the page makes is
/// answered by the agent through DevTools (`network.rs`), so nothing the fetch policy
/// refuses is reached by a request the agent does not see (a worker's, a WebSocket).
const SWITCHES: [&str; 22] = [
    "--headless",
    "--remote-debugging-pipe",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-gpu",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication",
    "--mute-audio",
    "--hide-scrollbars",
    "--font-render-hinting=none",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--no-pings",
    "--noerrdialogs",
];

/// A running browser; dropping it kills it and every process it started.
#[derive(Debug)]
pub struct Browser {
    child: tokio::process::Child,
    /// Its profile, removed when the render ends.
    _profile: tempfile::TempDir,
    pub cdp: Cdp,
    pub events: tokio::sync::mpsc::Receiver<Event>,
    reader: tokio::task::JoinHandle<()>,
    /// The last of what the browser wrote on stderr, for the log when it fails.
    stderr: tokio::task::JoinHandle<String>,
}

/// Why the browser did not start.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot make the browser's profile folder: {0}")]
    Profile(std::io::Error),
    #[error("cannot start {path}: {error}")]
    Spawn {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0} has no DevTools pipe")]
    NoPipe(PathBuf),
}

impl Browser {
    /// Starts `program` with an empty profile; DevTools messages over `max_message`
    /// bytes end the connection.
    pub fn launch(program: &Path, max_message: usize) -> Result<Browser, LaunchError> {
        let profile = tempfile::Builder::new()
            .prefix("printrelay-render-")
            .tempdir()
            .map_err(LaunchError::Profile)?;
        let mut command = pipe_command(program);
        command
            .args(SWITCHES)
            .arg(format!("--user-data-dir={}", profile.path().display()));
        if running_as_root() {
            // Chromium refuses root without it; a kiosk or container agent may be root.
            command.arg("--no-sandbox");
        }
        #[cfg(windows)]
        let pipes = super::win_pipes::DevToolsPipes::new().map_err(|error| LaunchError::Spawn {
            path: program.to_owned(),
            error,
        })?;
        #[cfg(windows)]
        command
            .arg(pipes.switch())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        #[cfg(unix)]
        command.stdin(Stdio::piped()).stdout(Stdio::piped());
        command
            .arg("about:blank")
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn().map_err(|error| LaunchError::Spawn {
            path: program.to_owned(),
            error,
        })?;
        let Some(stderr) = child.stderr.take() else {
            return Err(LaunchError::NoPipe(program.to_owned()));
        };
        #[cfg(unix)]
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(LaunchError::NoPipe(program.to_owned()));
        };
        #[cfg(windows)]
        let (input, output) = pipes.into_ours();
        let (cdp, events, reader) = Cdp::start(input, output, max_message);
        Ok(Browser {
            child,
            _profile: profile,
            cdp,
            events,
            reader,
            stderr: tokio::spawn(last_words(stderr)),
        })
    }

    /// What the browser last wrote on stderr (for the log), once it is gone.
    pub async fn last_words(mut self) -> String {
        self.kill();
        let stderr = std::mem::replace(&mut self.stderr, tokio::spawn(async { String::new() }));
        stderr.await.unwrap_or_default()
    }

    fn kill(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.child.id() {
            kill_group(pid);
        }
        let _ = self.child.start_kill();
        self.reader.abort();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The command that starts `program` with DevTools on its fds 3 (in) and 4 (out), as
/// `--remote-debugging-pipe` wants: a shell moves our stdin and stdout pipes there, so
/// no unsafe code runs between fork and exec. The browser's stdout joins its stderr.
#[cfg(unix)]
fn pipe_command(program: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2"#)
        .arg(program);
    command
}

#[cfg(not(unix))]
fn pipe_command(program: &Path) -> tokio::process::Command {
    tokio::process::Command::new(program)
}

/// Kills the process group `pid` leads: the browser and its renderer, GPU and zygote
/// processes, also a renderer stuck in a script that never ends.
#[cfg(unix)]
#[allow(unsafe_code)]
fn kill_group(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is
    // shared. The group is the browser's own (process_group(0) at spawn).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn running_as_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(not(unix))]
fn running_as_root() -> bool {
    false
}

/// The last 4 KiB the browser wrote on stderr, read until it closes.
async fn last_words(mut stderr: impl tokio::io::AsyncRead + Unpin) -> String {
    const KEEP: usize = 4096;
    let mut kept: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 1024];
    while let Ok(n @ 1..) = stderr.read(&mut chunk).await {
        kept.extend_from_slice(&chunk[..n]);
        if kept.len() > KEEP {
            kept.drain(..kept.len() - KEEP);
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_looks_for_edge_then_chrome_where_they_install() {
        let env = |name: &str| match name {
            "ProgramFiles(x86)" => Some(r"C:\Program Files (x86)".into()),
            "LOCALAPPDATA" => Some(r"C:\Users\pat\AppData\Local".into()),
            _ => None,
        };
        let found = windows_apps(env);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].ends_with("msedge.exe") && found[0].starts_with(r"C:\Program Files (x86)")
        );
        assert!(found[2].ends_with("chrome.exe"));
    }

    /// The DevTools pipes reach the browser on Windows: a stand-in answers a call
    /// through them (tests/wine/fake-devtools.c, which tests/wine/prefix.sh builds into
    /// the prefix scripts/test.sh runs this build's tests in).
    #[cfg(windows)]
    #[tokio::test]
    async fn the_devtools_pipes_carry_a_call_and_its_answer() {
        let fake = Path::new(r"C:\printrelay-tests\fake-devtools.exe");
        if !fake.is_file() {
            crate::skip::skip_or_fail("no fake-devtools.exe (tests/wine/prefix.sh)")
                .expect("the stand-in on CI");
            return;
        }
        let browser = Browser::launch(fake, 1 << 20).expect("launched");
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            browser
                .cdp
                .call(None, "Browser.getVersion", serde_json::json!({})),
        )
        .await
        .expect("answered in time")
        .expect("answered");
        assert_eq!(answer["product"], "fake-devtools");
        let again = browser
            .cdp
            .call(None, "Browser.getVersion", serde_json::json!({}))
            .await
            .expect("a second answer");
        assert_eq!(again["product"], "fake-devtools");
    }

    // The paths below are Unix ones.
    #[cfg(unix)]
    #[test]
    fn a_configured_browser_is_found_by_path_or_name_and_a_missing_one_is_not() {
        assert_eq!(
            find(Some(Path::new("/bin/sh"))),
            Some(PathBuf::from("/bin/sh"))
        );
        assert!(find(Some(Path::new("sh"))).is_some_and(|p| p.ends_with("sh")));
        assert_eq!(find(Some(Path::new("/nonexistent/chromium"))), None);
        assert_eq!(find(Some(Path::new("no-such-browser-here"))), None);
    }
}
