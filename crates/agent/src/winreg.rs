//! The few registry calls PrintRelay makes on Windows, in one place: read a text or
//! number value, list a key's values, write and delete a text value. Callers: the proxy
//! of Internet Settings, an administrator's presets and policy (`admin`), and the
//! desktop app's Run entry. Every call blocks briefly; none is made per job.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ptr;

use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_SUCCESS};
use windows_sys::Win32::System::Registry::{
    RegCloseKey, RegCreateKeyExW, RegDeleteKeyValueW, RegEnumValueW, RegGetValueW, RegOpenKeyExW,
    RegSetValueExW, HKEY, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_READ, KEY_SET_VALUE,
    REG_DWORD, REG_OPTION_NON_VOLATILE, REG_SZ, RRF_RT_REG_DWORD, RRF_RT_REG_SZ,
};

/// Which part of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hive {
    /// `HKCU`: the signed-in user's.
    CurrentUser,
    /// `HKLM`: the machine's, for every user.
    LocalMachine,
}

impl Hive {
    fn handle(self) -> HKEY {
        match self {
            Hive::CurrentUser => HKEY_CURRENT_USER,
            Hive::LocalMachine => HKEY_LOCAL_MACHINE,
        }
    }
}

/// A value as read: text (`REG_SZ`) or a number (`REG_DWORD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegValue {
    Text(String),
    Number(u32),
}

/// A registry call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} {key}\\{name} failed (Windows error {code})")]
pub struct RegistryError {
    pub action: &'static str,
    pub key: String,
    pub name: String,
    pub code: u32,
}

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

fn failed(action: &'static str, key: &str, name: &str, code: u32) -> RegistryError {
    RegistryError {
        action,
        key: key.to_owned(),
        name: name.to_owned(),
        code,
    }
}

/// Attempts at reading a string that grows between the size query and the read.
const ATTEMPTS: usize = 3;

/// The text value `name` of `key`; `None` when it (or the key) does not exist.
pub fn read_string(hive: Hive, key: &str, name: &str) -> Result<Option<String>, RegistryError> {
    let (key_w, name_w) = (wide(key), wide(name));
    for _ in 0..ATTEMPTS {
        let mut size: u32 = 0;
        // SAFETY: both names are NUL-terminated and outlive the call; a null data pointer
        // asks for the size only, written to `size`.
        let status = unsafe {
            RegGetValueW(
                hive.handle(),
                key_w.as_ptr(),
                name_w.as_ptr(),
                RRF_RT_REG_SZ,
                ptr::null_mut(),
                ptr::null_mut(),
                &mut size,
            )
        };
        match status {
            ERROR_SUCCESS => {}
            ERROR_FILE_NOT_FOUND => return Ok(None),
            code => return Err(failed("reading", key, name, code)),
        }
        // `size` is in bytes and counts the terminating NUL; one more unit of room.
        let mut buffer = vec![0u16; size as usize / 2 + 1];
        let mut size = (buffer.len() * 2) as u32;
        // SAFETY: as above; `buffer` is writable for `size` bytes.
        let status = unsafe {
            RegGetValueW(
                hive.handle(),
                key_w.as_ptr(),
                name_w.as_ptr(),
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
                return Ok(Some(String::from_utf16_lossy(&text[..end])));
            }
            // The value grew since the size was asked: ask again.
            ERROR_MORE_DATA => continue,
            ERROR_FILE_NOT_FOUND => return Ok(None),
            code => return Err(failed("reading", key, name, code)),
        }
    }
    Err(failed("reading", key, name, ERROR_MORE_DATA))
}

/// The number value `name` of `key`; `None` when it (or the key) does not exist.
pub fn read_dword(hive: Hive, key: &str, name: &str) -> Result<Option<u32>, RegistryError> {
    let (key_w, name_w) = (wide(key), wide(name));
    let mut value: u32 = 0;
    let mut size = std::mem::size_of::<u32>() as u32;
    // SAFETY: both names are NUL-terminated and outlive the call; `value` is a writable
    // u32 and `size` says so; a null type pointer is allowed.
    let status = unsafe {
        RegGetValueW(
            hive.handle(),
            key_w.as_ptr(),
            name_w.as_ptr(),
            RRF_RT_REG_DWORD,
            ptr::null_mut(),
            (&mut value as *mut u32).cast(),
            &mut size,
        )
    };
    match status {
        ERROR_SUCCESS => Ok(Some(value)),
        ERROR_FILE_NOT_FOUND => Ok(None),
        code => Err(failed("reading", key, name, code)),
    }
}

/// Every text and number value of `key`, by name; none when the key does not exist.
/// Values of other types are left out.
pub fn values(hive: Hive, key: &str) -> Vec<(String, RegValue)> {
    let key_w = wide(key);
    let mut handle: HKEY = ptr::null_mut();
    // SAFETY: `key_w` is NUL-terminated; `handle` is a valid out pointer.
    let opened = unsafe { RegOpenKeyExW(hive.handle(), key_w.as_ptr(), 0, KEY_READ, &mut handle) };
    if opened != ERROR_SUCCESS {
        return Vec::new();
    }
    let mut found = Vec::new();
    // Keys read here hold a handful of values; the bound keeps a broken key finite.
    for index in 0..256u32 {
        let mut name = vec![0u16; 256];
        let mut name_len = name.len() as u32;
        let mut data = vec![0u8; 8192];
        let mut data_len = data.len() as u32;
        let mut kind = 0u32;
        // SAFETY: `handle` is open; the buffers are as long as their lengths say.
        let status = unsafe {
            RegEnumValueW(
                handle,
                index,
                name.as_mut_ptr(),
                &mut name_len,
                ptr::null(),
                &mut kind,
                data.as_mut_ptr(),
                &mut data_len,
            )
        };
        if status != ERROR_SUCCESS {
            break;
        }
        let name = String::from_utf16_lossy(&name[..name_len as usize]);
        let data = &data[..data_len as usize];
        let value = match kind {
            REG_SZ => {
                let units: Vec<u16> = data
                    .chunks_exact(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                    .take_while(|&unit| unit != 0)
                    .collect();
                RegValue::Text(String::from_utf16_lossy(&units))
            }
            REG_DWORD if data.len() == 4 => {
                RegValue::Number(u32::from_le_bytes([data[0], data[1], data[2], data[3]]))
            }
            _ => continue,
        };
        found.push((name, value));
    }
    // SAFETY: `handle` was opened above and is closed once.
    unsafe { RegCloseKey(handle) };
    found
}

/// Writes the text value `name` of `key` (the key is made if missing).
pub fn set_string(hive: Hive, key: &str, name: &str, data: &str) -> Result<(), RegistryError> {
    let (key_w, name_w, data_w) = (wide(key), wide(name), wide(data));
    let mut handle: HKEY = ptr::null_mut();
    // SAFETY: the key name is NUL-terminated; `handle` is a valid out pointer; null class,
    // security attributes and disposition are allowed.
    let code = unsafe {
        RegCreateKeyExW(
            hive.handle(),
            key_w.as_ptr(),
            0,
            ptr::null(),
            REG_OPTION_NON_VOLATILE,
            KEY_SET_VALUE,
            ptr::null(),
            &mut handle,
            ptr::null_mut(),
        )
    };
    if code != ERROR_SUCCESS {
        return Err(failed("opening", key, name, code));
    }
    let bytes = u32::try_from(data_w.len() * 2).unwrap_or(u32::MAX);
    // SAFETY: `handle` is open for setting values; `data_w` is `bytes` long, NUL
    // included, as REG_SZ wants.
    let code = unsafe {
        RegSetValueExW(
            handle,
            name_w.as_ptr(),
            0,
            REG_SZ,
            data_w.as_ptr().cast(),
            bytes,
        )
    };
    // SAFETY: `handle` was opened above and is closed once.
    unsafe { RegCloseKey(handle) };
    if code != ERROR_SUCCESS {
        return Err(failed("writing", key, name, code));
    }
    Ok(())
}

/// Deletes the value `name` of `key`; one that does not exist is no error.
pub fn delete_value(hive: Hive, key: &str, name: &str) -> Result<(), RegistryError> {
    let (key_w, name_w) = (wide(key), wide(name));
    // SAFETY: both names are NUL-terminated and outlive the call.
    let code = unsafe { RegDeleteKeyValueW(hive.handle(), key_w.as_ptr(), name_w.as_ptr()) };
    match code {
        ERROR_SUCCESS | ERROR_FILE_NOT_FOUND => Ok(()),
        code => Err(failed("removing", key, name, code)),
    }
}
