//! Presets and policy in the Windows registry: every value under
//! `Software\Policies\PrintRelay` (policy: what group policy writes; the machine's hive
//! over the user's) and under `Software\PrintRelay` (presets: what the installer writes;
//! the user's hive over the machine's). Value names are the settings' names with a
//! capital first letter (`ServerUrl`, `ClientId`, `Token`, `Printer`, `Autostart`);
//! REG_SZ and REG_DWORD are read. Called once when the agent starts.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ptr;

use serde_json::Value;
use windows_sys::Win32::Foundation::ERROR_SUCCESS;
use windows_sys::Win32::System::Registry::{
    RegCloseKey, RegEnumValueW, RegOpenKeyExW, HKEY, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE,
    KEY_READ, REG_DWORD, REG_SZ,
};

use super::values::{AdminValues, Read};

const POLICY_KEY: &str = r"Software\Policies\PrintRelay";
const PRESET_KEY: &str = r"Software\PrintRelay";

/// Where policy is set, for messages.
pub const POLICY_KEY_TEXT: &str = r"HKLM\Software\Policies\PrintRelay";
/// Where presets are set, for messages.
pub const PRESET_KEY_TEXT: &str = r"HKLM\Software\PrintRelay";

/// (presets, policy).
pub fn read() -> (Read, Read) {
    let presets = merged(PRESET_KEY, [HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER]);
    let policy = merged(POLICY_KEY, [HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE]);
    (presets, policy)
}

/// The values of `key` in both hives, the second hive's winning.
fn merged(key: &str, hives: [HKEY; 2]) -> Read {
    let mut pairs: Vec<(String, Value)> = Vec::new();
    for hive in hives {
        for (name, value) in values(hive, key) {
            pairs.retain(|(known, _)| *known != name);
            pairs.push((name, value));
        }
    }
    let from = if key == POLICY_KEY {
        POLICY_KEY_TEXT
    } else {
        PRESET_KEY_TEXT
    };
    AdminValues::from_pairs(from, pairs)
}

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

/// `ServerUrl` -> `serverUrl`.
fn field_name(value_name: &str) -> String {
    let mut chars = value_name.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// Every REG_SZ and REG_DWORD value of `key` in `hive`, by settings field name.
fn values(hive: HKEY, key: &str) -> Vec<(String, Value)> {
    let key_name = wide(key);
    let mut handle: HKEY = ptr::null_mut();
    // SAFETY: `key_name` is NUL-terminated; `handle` is a valid out pointer.
    if unsafe { RegOpenKeyExW(hive, key_name.as_ptr(), 0, KEY_READ, &mut handle) } != ERROR_SUCCESS
    {
        return Vec::new();
    }
    let mut found = Vec::new();
    // Policy keys hold a handful of values; the bound keeps a broken key finite.
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
                Value::String(String::from_utf16_lossy(&units))
            }
            REG_DWORD if data.len() == 4 => {
                Value::from(u32::from_le_bytes([data[0], data[1], data[2], data[3]]))
            }
            _ => continue,
        };
        found.push((field_name(&name), value));
    }
    // SAFETY: `handle` was opened above and is closed once.
    unsafe { RegCloseKey(handle) };
    found
}
