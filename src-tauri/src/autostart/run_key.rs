//! Start with Windows: the value `PrintRelay` under
//! `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`, holding the quoted path of this
//! executable and `--hidden`. Written by us rather than through tauri-plugin-autostart:
//! its auto-launch writes to HKLM whenever the user is an administrator (as most office
//! users are) and leaves the path unquoted, which breaks an install under
//! `C:\Program Files\`. A per-machine install writes the same value under HKLM, for
//! every user: then the app is started already, and a per-user entry would only start
//! it twice. Every call blocks briefly on the registry; callers are the tray process'
//! setup and the window's Save (a request task).
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::path::PathBuf;
use std::ptr;

use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_SUCCESS, WIN32_ERROR};
use windows_sys::Win32::System::Registry::{
    RegCloseKey, RegCreateKeyExW, RegDeleteKeyValueW, RegGetValueW, RegSetValueExW, HKEY,
    HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_SET_VALUE, REG_OPTION_NON_VOLATILE, REG_SZ,
    RRF_RT_REG_SZ,
};

use super::{Autostart, AutostartError};
use crate::launch::HIDDEN_FLAG;

const RUN_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";
const VALUE_NAME: &str = "PrintRelay";

/// The per-user Run entry for the executable at `exe`.
#[derive(Debug)]
pub struct RunKeyAutostart {
    exe: PathBuf,
}

impl RunKeyAutostart {
    /// The entry for the running executable.
    pub fn for_current_exe() -> Result<Self, AutostartError> {
        let exe = std::env::current_exe()
            .map_err(|e| AutostartError(format!("cannot find this program's path: {e}")))?;
        Ok(Self { exe })
    }

    /// What the entry holds: the path quoted (it may contain spaces), then `--hidden`.
    pub fn command_line(&self) -> String {
        format!("\"{}\" {HIDDEN_FLAG}", self.exe.display())
    }
}

impl Autostart for RunKeyAutostart {
    fn is_enabled(&self) -> Result<bool, AutostartError> {
        Ok(read_value(HKEY_LOCAL_MACHINE)?.is_some() || read_value(HKEY_CURRENT_USER)?.is_some())
    }

    fn set(&self, enabled: bool) -> Result<(), AutostartError> {
        let for_every_user = read_value(HKEY_LOCAL_MACHINE)?.is_some();
        match (enabled, for_every_user) {
            // The machine's entry starts the app; a user's would start it again.
            (true, true) => delete_value(HKEY_CURRENT_USER),
            (true, false) => write_value(&self.command_line()),
            (false, true) => Err(AutostartError(
                "PrintRelay is started for every user of this PC by its installation; ask your administrator".into(),
            )),
            (false, false) => delete_value(HKEY_CURRENT_USER),
        }
    }
}

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

fn failed(what: &str, code: WIN32_ERROR) -> AutostartError {
    AutostartError(format!(
        "{what} the Run entry failed (Windows error {code})"
    ))
}

fn read_value(root: HKEY) -> Result<Option<String>, AutostartError> {
    let (key, name) = (wide(RUN_KEY), wide(VALUE_NAME));
    let mut size = 0u32;
    // SAFETY: both names are NUL-terminated and outlive the call; a null buffer with a
    // valid size pointer asks for the size in bytes.
    let code = unsafe {
        RegGetValueW(
            root,
            key.as_ptr(),
            name.as_ptr(),
            RRF_RT_REG_SZ,
            ptr::null_mut(),
            ptr::null_mut(),
            &mut size,
        )
    };
    if code == ERROR_FILE_NOT_FOUND {
        return Ok(None);
    }
    if code != ERROR_SUCCESS {
        return Err(failed("reading", code));
    }
    let mut buffer = vec![0u16; (size as usize).div_ceil(2)];
    // SAFETY: `buffer` holds `size` bytes; the names are as above.
    let code = unsafe {
        RegGetValueW(
            root,
            key.as_ptr(),
            name.as_ptr(),
            RRF_RT_REG_SZ,
            ptr::null_mut(),
            buffer.as_mut_ptr().cast(),
            &mut size,
        )
    };
    if code != ERROR_SUCCESS {
        return Err(failed("reading", code));
    }
    let end = buffer.iter().position(|&c| c == 0).unwrap_or(buffer.len());
    Ok(Some(String::from_utf16_lossy(&buffer[..end])))
}

fn write_value(command_line: &str) -> Result<(), AutostartError> {
    let (key_name, name, data) = (wide(RUN_KEY), wide(VALUE_NAME), wide(command_line));
    let mut key: HKEY = ptr::null_mut();
    // SAFETY: the key name is NUL-terminated; `key` is a valid out pointer; null class,
    // security attributes and disposition are allowed.
    let code = unsafe {
        RegCreateKeyExW(
            HKEY_CURRENT_USER,
            key_name.as_ptr(),
            0,
            ptr::null(),
            REG_OPTION_NON_VOLATILE,
            KEY_SET_VALUE,
            ptr::null(),
            &mut key,
            ptr::null_mut(),
        )
    };
    if code != ERROR_SUCCESS {
        return Err(failed("opening", code));
    }
    let bytes = u32::try_from(data.len() * 2).map_err(|_| failed("writing", 0))?;
    // SAFETY: `key` is open for setting values; `data` is `bytes` long, NUL included, as
    // REG_SZ wants.
    let code =
        unsafe { RegSetValueExW(key, name.as_ptr(), 0, REG_SZ, data.as_ptr().cast(), bytes) };
    // SAFETY: `key` was opened above and is closed once.
    unsafe { RegCloseKey(key) };
    if code != ERROR_SUCCESS {
        return Err(failed("writing", code));
    }
    Ok(())
}

fn delete_value(root: HKEY) -> Result<(), AutostartError> {
    let (key, name) = (wide(RUN_KEY), wide(VALUE_NAME));
    // SAFETY: both names are NUL-terminated and outlive the call.
    let code = unsafe { RegDeleteKeyValueW(root, key.as_ptr(), name.as_ptr()) };
    if code == ERROR_SUCCESS || code == ERROR_FILE_NOT_FOUND {
        Ok(())
    } else {
        Err(failed("removing", code))
    }
}
