//! Presets and policy in the Windows registry: every value under
//! `Software\Policies\PrintRelay` (policy: what group policy writes; the machine's hive
//! over the user's) and under `Software\PrintRelay` (presets: what the installer writes;
//! the user's hive over the machine's). Value names are the settings' names with a
//! capital first letter (`ServerUrl`, `ClientId`, `Token`, `Printer`, `Autostart`);
//! REG_SZ and REG_DWORD are read. Called once when the agent starts.

use serde_json::Value;

use super::values::{AdminValues, Read};
use crate::winreg::{self, Hive, RegValue};

const POLICY_KEY: &str = r"Software\Policies\PrintRelay";
const PRESET_KEY: &str = r"Software\PrintRelay";

/// (presets, policy).
pub fn read() -> (Read, Read) {
    let presets = merged(
        PRESET_KEY,
        [Hive::LocalMachine, Hive::CurrentUser],
        r"HKLM\Software\PrintRelay",
    );
    let policy = merged(
        POLICY_KEY,
        [Hive::CurrentUser, Hive::LocalMachine],
        r"HKLM\Software\Policies\PrintRelay",
    );
    (presets, policy)
}

/// The values of `key` in both hives, the second hive's winning.
fn merged(key: &str, hives: [Hive; 2], from: &str) -> Read {
    let mut pairs: Vec<(String, Value)> = Vec::new();
    for hive in hives {
        for (name, value) in winreg::values(hive, key) {
            let field = field_name(&name);
            pairs.retain(|(known, _)| *known != field);
            let value = match value {
                RegValue::Text(text) => Value::String(text),
                RegValue::Number(number) => Value::from(number),
            };
            pairs.push((field, value));
        }
    }
    AdminValues::from_pairs(from, pairs)
}

/// `ServerUrl` -> `serverUrl`.
fn field_name(value_name: &str) -> String {
    let mut chars = value_name.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}
