//! The DevTools pipe on Windows: two anonymous pipes whose browser ends the browser
//! inherits and is told of by number (`--remote-debugging-io-pipes=READ,WRITE`, what
//! Chromium reads on Windows where Unix has fds 3 and 4). Our ends become async files.
//! Used by one render's launch (`browser.rs`).
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::os::windows::io::{FromRawHandle, OwnedHandle};
use std::ptr;

use windows_sys::Win32::Foundation::{SetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::System::Pipes::CreatePipe;

/// One direction: the end we keep and the end the browser inherits.
struct Pipe {
    ours: OwnedHandle,
    theirs: OwnedHandle,
}

/// The two pipes of one browser's DevTools connection.
pub struct DevToolsPipes {
    /// The browser reads commands from `to_browser.theirs`.
    to_browser: Pipe,
    /// The browser writes answers and events to `from_browser.theirs`.
    from_browser: Pipe,
}

impl DevToolsPipes {
    pub fn new() -> std::io::Result<Self> {
        let (read, write) = pipe()?;
        let to_browser = Pipe {
            ours: write,
            theirs: read,
        };
        let (read, write) = pipe()?;
        let from_browser = Pipe {
            ours: read,
            theirs: write,
        };
        for ours in [&to_browser.ours, &from_browser.ours] {
            not_inherited(ours)?;
        }
        Ok(Self {
            to_browser,
            from_browser,
        })
    }

    /// The switch naming the browser's ends (their handle values, which the browser
    /// inherits unchanged).
    pub fn switch(&self) -> String {
        use std::os::windows::io::AsRawHandle;
        format!(
            "--remote-debugging-io-pipes={},{}",
            self.to_browser.theirs.as_raw_handle() as usize,
            self.from_browser.theirs.as_raw_handle() as usize
        )
    }

    /// Once the browser started: closes our copies of its ends (so its exit ends our
    /// reads) and gives our ends as (commands in, messages out).
    pub fn into_ours(self) -> (tokio::fs::File, tokio::fs::File) {
        drop(self.to_browser.theirs);
        drop(self.from_browser.theirs);
        let file = |handle: OwnedHandle| tokio::fs::File::from_std(std::fs::File::from(handle));
        (file(self.to_browser.ours), file(self.from_browser.ours))
    }
}

/// An anonymous pipe, both ends inheritable: (read, write).
fn pipe() -> std::io::Result<(OwnedHandle, OwnedHandle)> {
    let attributes = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: ptr::null_mut(),
        bInheritHandle: 1,
    };
    let (mut read, mut write): (HANDLE, HANDLE) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: both out pointers are valid; the attributes outlive the call; 0 asks for the
    // default buffer size.
    if unsafe { CreatePipe(&mut read, &mut write, &attributes, 0) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: CreatePipe succeeded: both are new handles owned by nobody else.
    Ok(unsafe {
        (
            OwnedHandle::from_raw_handle(read),
            OwnedHandle::from_raw_handle(write),
        )
    })
}

/// Keeps `handle` out of every process started later (ours stay ours).
fn not_inherited(handle: &OwnedHandle) -> std::io::Result<()> {
    use std::os::windows::io::AsRawHandle;
    // SAFETY: the handle is open and owned by `handle` for the call.
    if unsafe { SetHandleInformation(handle.as_raw_handle(), HANDLE_FLAG_INHERIT, 0) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
