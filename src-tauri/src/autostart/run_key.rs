//! Start with Windows: the value `PrintRelay` under
//! `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`, holding the quoted path of this
//! executable and `--hidden`. Written by us rather than through tauri-plugin-autostart:
//! its auto-launch writes to HKLM whenever the user is an administrator (as most office
//! users are) and leaves the path unquoted, which breaks an install under
//! `C:\Program Files\`. A per-machine install writes the same value under HKLM, for
//! every user: then the app is started already, and a per-user entry would only start
//! it twice. Every call blocks briefly on the registry; callers are the tray process'
//! setup and the window's Save (a request task).

use std::path::PathBuf;

use printrelay_agent::winreg::{self, Hive};

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
        Ok(read(Hive::LocalMachine)?.is_some() || read(Hive::CurrentUser)?.is_some())
    }

    fn set(&self, enabled: bool) -> Result<(), AutostartError> {
        let for_every_user = read(Hive::LocalMachine)?.is_some();
        let result = match (enabled, for_every_user) {
            // The machine's entry starts the app; a user's would start it again.
            (true, true) | (false, false) => {
                winreg::delete_value(Hive::CurrentUser, RUN_KEY, VALUE_NAME)
            }
            (true, false) => {
                winreg::set_string(Hive::CurrentUser, RUN_KEY, VALUE_NAME, &self.command_line())
            }
            (false, true) => return Err(AutostartError(
                "PrintRelay is started for every user of this PC by its installation; ask your administrator".into(),
            )),
        };
        result.map_err(|e| AutostartError(e.to_string()))
    }
}

fn read(hive: Hive) -> Result<Option<String>, AutostartError> {
    winreg::read_string(hive, RUN_KEY, VALUE_NAME).map_err(|e| AutostartError(e.to_string()))
}
