//! Reads the Windows user's proxy values from the registry; what they mean is parsed in
//! `system.rs`. Called when the connection supervisor or the job worker resolves the
//! `system` proxy setting.

use super::InternetSettings;
use crate::winreg::{self, Hive};

/// Where WinINet keeps the user's proxy.
const KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings";

/// The current user's Internet Settings, or `None` when the key cannot be read. A value
/// that is absent reads as off (`ProxyEnable`) or unset (the strings).
pub fn read_internet_settings() -> Option<InternetSettings> {
    // A value that cannot be read counts as absent: the proxy is a convenience here.
    let enable = winreg::read_dword(Hive::CurrentUser, KEY, "ProxyEnable").unwrap_or(None);
    let text = |name| winreg::read_string(Hive::CurrentUser, KEY, name).unwrap_or(None);
    let server = text("ProxyServer");
    let bypass = text("ProxyOverride");
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
