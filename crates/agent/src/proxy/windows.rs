//! Reads the Windows user's proxy values from the registry; what they mean is parsed in
//! `system.rs`. Called when the connection supervisor or the job worker resolves the
//! `system` proxy setting.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ptr;

use windows_sys::Win32::Foundation::{ERROR_MORE_DATA, ERROR_SUCCESS};
use windows_sys::Win32::System::Registry::{
    RegGetValueW, HKEY_CURRENT_USER, RRF_RT_REG_DWORD, RRF_RT_REG_SZ,
};

use super::InternetSettings;

/// Where WinINet keeps the user's proxy.
const KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings";

/// Attempts at reading a string that grows between the size query and the read.
const ATTEMPTS: usize = 3;

/// The current user's Internet Settings, or `None` when the key cannot be read. A value
/// that is absent reads as off (`ProxyEnable`) or unset (the strings).
pub fn read_internet_settings() -> Option<InternetSettings> {
    let key = wide(KEY);
    let enable = read_dword(&key, "ProxyEnable");
    let server = read_string(&key, "ProxyServer");
    let bypass = read_string(&key, "ProxyOverride");
    if enable.is_none() && server.is_none() && bypass.is_none() {
        tracing::debug!("no proxy values in the user's Internet Settings");
        return None;
    }
    Some(InternetSettings {
        proxy_enable: enable.unwrap_or(0) != 0,
        proxy_server: server,
        proxy_override: bypass,
    })
}

/// `text` as a NUL-terminated UTF-16 string.
fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

fn read_dword(key: &[u16], name: &str) -> Option<u32> {
    let name = wide(name);
    let mut value: u32 = 0;
    let mut size = std::mem::size_of::<u32>() as u32;
    // SAFETY: `key` and `name` are NUL-terminated and outlive the call; `value` is a
    // writable u32 and `size` says so; a null type pointer is allowed.
    let status = unsafe {
        RegGetValueW(
            HKEY_CURRENT_USER,
            key.as_ptr(),
            name.as_ptr(),
            RRF_RT_REG_DWORD,
            ptr::null_mut(),
            (&mut value as *mut u32).cast(),
            &mut size,
        )
    };
    (status == ERROR_SUCCESS).then_some(value)
}

fn read_string(key: &[u16], name: &str) -> Option<String> {
    let name = wide(name);
    for _ in 0..ATTEMPTS {
        let mut size: u32 = 0;
        // SAFETY: `key` and `name` are NUL-terminated and outlive the call; a null data
        // pointer asks for the size only, written to `size`.
        let status = unsafe {
            RegGetValueW(
                HKEY_CURRENT_USER,
                key.as_ptr(),
                name.as_ptr(),
                RRF_RT_REG_SZ,
                ptr::null_mut(),
                ptr::null_mut(),
                &mut size,
            )
        };
        if status != ERROR_SUCCESS {
            return None;
        }
        // `size` is in bytes and counts the terminating NUL; one more unit of room.
        let mut buffer = vec![0u16; size as usize / 2 + 1];
        let mut size = (buffer.len() * 2) as u32;
        // SAFETY: as above; `buffer` is writable for `size` bytes.
        let status = unsafe {
            RegGetValueW(
                HKEY_CURRENT_USER,
                key.as_ptr(),
                name.as_ptr(),
                RRF_RT_REG_SZ,
                ptr::null_mut(),
                buffer.as_mut_ptr().cast(),
                &mut size,
            )
        };
        match status {
            ERROR_SUCCESS => {
                let units = (size as usize / 2).min(buffer.len());
                let text = &buffer[..units];
                let end = text.iter().position(|&u| u == 0).unwrap_or(text.len());
                return Some(String::from_utf16_lossy(&text[..end]));
            }
            // The value grew since the size was asked: ask again.
            ERROR_MORE_DATA => continue,
            _ => return None,
        }
    }
    None
}
