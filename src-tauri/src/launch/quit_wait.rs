//! `--quit` as an installer runs it (Windows): hand the quit to the running app and wait
//! until it has ended, so that the files the installer removes or replaces next are no
//! longer in use. Runs in the `--quit` launch itself, before Tauri starts.
#![allow(unsafe_code)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{CloseHandle, INVALID_HANDLE_VALUE, WAIT_OBJECT_0};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Process32FirstW, Process32NextW, PROCESSENTRY32W, TH32CS_SNAPPROCESS,
};
use windows_sys::Win32::System::RemoteDesktop::ProcessIdToSessionId;
use windows_sys::Win32::System::Threading::{
    GetCurrentProcessId, OpenProcess, WaitForSingleObject, PROCESS_SYNCHRONIZE,
};

/// Set on the launch that forwards `--quit` through the single-instance channel.
const FORWARDING: &str = "PRINTRELAY_QUIT_FORWARDING";
/// How long the app may take to end.
const LIMIT: Duration = Duration::from_secs(20);

/// True for the `--quit` launch that only forwards (the one this module starts).
pub fn is_forwarding() -> bool {
    std::env::var_os(FORWARDING).is_some()
}

/// Asks this user's running app to quit and waits until it ended. With no app running
/// it does nothing.
pub fn quit_and_wait() -> ExitCode {
    let running = app_processes();
    if running.is_empty() {
        return ExitCode::SUCCESS;
    }
    // A launch of our own hands `--quit` over (Tauri's single-instance channel) and exits.
    let forwarded = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .arg("--quit")
            .env(FORWARDING, "1")
            .status()
    });
    if let Err(error) = forwarded {
        eprintln!("printrelay: cannot hand --quit to the running app: {error}");
        return ExitCode::FAILURE;
    }
    let deadline = Instant::now() + LIMIT;
    for pid in running {
        let left = deadline.saturating_duration_since(Instant::now());
        if !wait_for_exit(pid, left) {
            eprintln!("printrelay: the app (process {pid}) did not end within {LIMIT:?}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Other processes of this program in this user's session.
fn app_processes() -> Vec<u32> {
    let Some(name) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().to_lowercase()))
    else {
        return Vec::new();
    };
    // SAFETY: plain Win32 calls on a snapshot handle this function owns and closes; the
    // entry is a zeroed PROCESSENTRY32W with its size set, as Process32FirstW requires.
    unsafe {
        let me = GetCurrentProcessId();
        let session = session_of(me);
        let snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
        if snapshot == INVALID_HANDLE_VALUE {
            return Vec::new();
        }
        let mut entry: PROCESSENTRY32W = std::mem::zeroed();
        entry.dwSize = std::mem::size_of::<PROCESSENTRY32W>() as u32;
        let mut found = Vec::new();
        let mut more = Process32FirstW(snapshot, &mut entry) != 0;
        while more {
            let length = entry
                .szExeFile
                .iter()
                .position(|&c| c == 0)
                .unwrap_or(entry.szExeFile.len());
            let exe = String::from_utf16_lossy(&entry.szExeFile[..length]).to_lowercase();
            let pid = entry.th32ProcessID;
            if pid != me && exe == name && session_of(pid) == session {
                found.push(pid);
            }
            more = Process32NextW(snapshot, &mut entry) != 0;
        }
        CloseHandle(snapshot);
        found
    }
}

/// The session of process `pid` (`None` if it cannot be told).
fn session_of(pid: u32) -> Option<u32> {
    let mut session = 0u32;
    // SAFETY: writes one u32 through a pointer to a local.
    let ok = unsafe { ProcessIdToSessionId(pid, &mut session) } != 0;
    ok.then_some(session)
}

/// Waits up to `limit` for process `pid` to end; true when it has (or is gone).
fn wait_for_exit(pid: u32, limit: Duration) -> bool {
    // SAFETY: the handle is opened, waited on and closed here.
    unsafe {
        let process = OpenProcess(PROCESS_SYNCHRONIZE, 0, pid);
        if process.is_null() {
            return true;
        }
        let millis = u32::try_from(limit.as_millis()).unwrap_or(u32::MAX);
        let ended = WaitForSingleObject(process, millis) == WAIT_OBJECT_0;
        CloseHandle(process);
        ended
    }
}
