//! The renderer process' life on Windows: reads the request, starts a Tauri app with one
//! hidden web view window for the page (`page` prints it), and ends with the PDF on
//! stdout, or one line on stderr and exit code 1. Runs on the process' main thread
//! (Tauri's event loop); a watchdog thread ends a process still running after 120 s,
//! whatever it is doing.

#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use printrelay_agent::paths::Paths;
use tauri::webview::NewWindowResponse;
use tauri::{AppHandle, Context, RunEvent, Url, WebviewUrl, WebviewWindowBuilder, Wry};
use windows::Win32::Foundation::{SetHandleInformation, HANDLE_FLAGS, HANDLE_FLAG_INHERIT};
use windows::Win32::System::Console::{
    GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
};

use super::{is_document, page, parse_request, Job, RequestError, MAX_REQUEST_BYTES};
use crate::webview_runtime::{self, MissingRuntime};

/// Label of the page's window; no capability names it, so the page can call nothing.
const LABEL: &str = "render";

/// The longest this process lives; the agent kills it at its own limit before.
const WATCHDOG: Duration = Duration::from_secs(120);

/// How long a finished process waits for the web view to close before it just exits.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// The browser's switches: wry's defaults (no mini menu, no SmartScreen) and, as the
/// agent's Chromium has, a proxy that is not there (loopback included), so what the
/// request filter does not see (a WebSocket, WebRTC) reaches nothing. These differ from
/// the window's, so the renderer has its own WebView2 data folder.
const BROWSER_ARGS: &str = "--disable-features=msWebOOUI,msPdfOOUI,msSmartScreenProtection \
    --proxy-server=http://127.0.0.1:9 --proxy-bypass-list=<-loopback> \
    --force-webrtc-ip-handling-policy=disable_non_proxied_udp --no-pings";

/// `window.print()` would open WebView2's print dialog on a window nobody sees.
const NO_PRINT_DIALOG: &str = "window.print = function () {};";

/// Why a render failed: the one line the agent gets on stderr.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    MissingRuntime(#[from] MissingRuntime),
    #[error("cannot open the page's web view: {0}")]
    Window(#[from] tauri::Error),
    #[error("WebView2 could not {step}: {error}")]
    WebView2 {
        step: &'static str,
        error: windows::core::Error,
    },
    #[error("the page could not be loaded (WebView2 web error status {0})")]
    Load(i32),
    #[error("the page's renderer ended before it was printed")]
    Crashed,
    #[error("WebView2 wrote no PDF")]
    NoPdf,
    #[error("cannot read the PDF WebView2 wrote: {0}")]
    ReadPdf(std::io::Error),
    #[error("cannot write the PDF to stdout: {0}")]
    WritePdf(std::io::Error),
    #[error("the page's window closed before it was printed")]
    Closed,
    #[error("the renderer was still running after {} s", WATCHDOG.as_secs())]
    TimedOut,
}

/// A failed WebView2 call at `step` (what it was for, after "could not").
pub fn com(step: &'static str) -> impl Fn(windows::core::Error) -> Failure {
    move |error| Failure::WebView2 { step, error }
}

/// Set by the first outcome; later ones are dropped.
static SETTLED: AtomicBool = AtomicBool::new(false);
/// The exit code of the first outcome.
static EXIT_CODE: AtomicU8 = AtomicU8::new(1);

/// Runs `--render-html`: one page from stdin to a PDF on stdout.
pub fn run(context: Context<Wry>, paths: &Paths) -> ExitCode {
    std::thread::spawn(|| {
        std::thread::sleep(WATCHDOG);
        settle(Err(Failure::TimedOut));
        std::process::exit(1);
    });
    keep_stdio_to_ourselves();
    let job = match read_job() {
        Ok(job) => job,
        Err(failure) => return exit_code(settle(Err(failure))),
    };
    if let Err(missing) = webview_runtime::check() {
        return exit_code(settle(Err(missing.into())));
    }
    // Its own folder: other switches than the window's (WebView2 refuses two sets of
    // switches on one folder), and nothing of the window's profile is near a job's page.
    let profile = paths.data_dir.join("webview-render");
    let app = tauri::Builder::default()
        .setup(move |app| {
            // Never an error out of here: Tauri panics on a failed setup.
            if let Err(failure) = open(app.handle(), job, profile) {
                finish(app.handle(), Err(failure));
            }
            Ok(())
        })
        .build(context);
    let app = match app {
        Ok(app) => app,
        Err(error) => return exit_code(settle(Err(Failure::Window(error)))),
    };
    app.run_return(|_, event| {
        if let RunEvent::ExitRequested { code: None, .. } = event {
            // The window went away without an outcome (Windows closed it).
            settle(Err(Failure::Closed));
        }
    });
    exit_code(settle(Err(Failure::Closed)))
}

/// Ends the render with `outcome`: the PDF or the reason written, then the app asked to
/// exit, with a forced exit should the web view not close in time.
pub fn finish(app: &AppHandle<Wry>, outcome: Result<Vec<u8>, Failure>) {
    if SETTLED.load(Ordering::SeqCst) {
        return;
    }
    let code = settle(outcome);
    std::thread::spawn(move || {
        std::thread::sleep(EXIT_GRACE);
        std::process::exit(i32::from(code));
    });
    app.exit(i32::from(code));
}

/// Writes the first outcome (the PDF to stdout, else one line to stderr) and returns
/// the process' exit code; any later outcome only returns it.
fn settle(outcome: Result<Vec<u8>, Failure>) -> u8 {
    if SETTLED.swap(true, Ordering::SeqCst) {
        return EXIT_CODE.load(Ordering::SeqCst);
    }
    let written = outcome.and_then(|pdf| {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&pdf)
            .and_then(|()| stdout.flush())
            .map_err(Failure::WritePdf)
    });
    let code = match written {
        Ok(()) => 0,
        Err(failure) => {
            // One line: the agent puts it into the job's error.
            let line = failure.to_string().replace(['\r', '\n'], " ");
            let _ = writeln!(std::io::stderr().lock(), "printrelay: {line}");
            1
        }
    };
    EXIT_CODE.store(code, Ordering::SeqCst);
    code
}

fn exit_code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// The request on stdin, up to [`MAX_REQUEST_BYTES`].
fn read_job() -> Result<Job, Failure> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_REQUEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(RequestError::Read)?;
    if bytes.len() as u64 > MAX_REQUEST_BYTES {
        return Err(RequestError::TooLarge.into());
    }
    Ok(parse_request(&bytes)?)
}

/// Opens the page's hidden window on `about:blank`; `page` takes it from there.
fn open(app: &AppHandle<Wry>, job: Job, profile: PathBuf) -> Result<(), Failure> {
    let blank =
        Url::parse("about:blank").map_err(|_| RequestError::Address("about:blank".into()))?;
    let (width, height) = job.viewport_px();
    let address = job.address.clone();
    let window = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::External(blank))
        .title("PrintRelay")
        .visible(false)
        .focused(false)
        .decorations(false)
        .skip_taskbar(true)
        .inner_size(width, height)
        .incognito(true)
        .data_directory(profile)
        .additional_browser_args(BROWSER_ARGS)
        .initialization_script(NO_PRINT_DIALOG)
        // The page stays where it is: no links followed, no pop-ups, no downloads.
        .on_navigation(move |url| {
            url.as_str() == "about:blank" || is_document(&address, url.as_str())
        })
        .on_new_window(|_, _| NewWindowResponse::Deny)
        .on_download(|_, _| false)
        .build()?;
    let handle = app.clone();
    window.with_webview(move |webview| page::start(&webview, job, handle))?;
    Ok(())
}

/// Makes stdin, stdout and stderr not inheritable: WebView2 starts its browser from
/// this process, and a browser holding our stdout would keep the agent from seeing
/// its end until the browser exits (one shared with another render, much later).
fn keep_stdio_to_ourselves() {
    for which in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
        // SAFETY: GetStdHandle only reads the process' table; the handle it returns is
        // ours and stays open; SetHandleInformation changes only its inherit flag. A
        // missing handle (none was given) leaves nothing to do, and a failure only
        // risks the agent seeing the end of stdout later, so neither stops the render.
        unsafe {
            if let Ok(handle) = GetStdHandle(which) {
                if !handle.is_invalid() {
                    let _ = SetHandleInformation(handle, HANDLE_FLAG_INHERIT.0, HANDLE_FLAGS(0));
                }
            }
        }
    }
}
