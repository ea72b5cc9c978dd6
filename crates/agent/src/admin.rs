//! What an administrator set for this PC, read where the agent starts (the headless
//! agent and the desktop tray process alike): *presets*, the values a fresh install
//! starts with, which the user may change; and *policy*, values that override the
//! user's settings and that the user cannot change. Windows keeps both in the registry
//! ([`registry`]: policy under `Software\Policies\PrintRelay`, where group policy
//! writes, presets under `Software\PrintRelay`, where the installer writes); Linux and
//! macOS in JSON files (`/etc/printrelay/`, `/Library/Application Support/PrintRelay/`).
//!
//! Precedence, highest first: policy, command line, environment, the user's file,
//! presets, built-in defaults. A `clientId` from either source may name `{hostname}`
//! and `{username}`, expanded on each PC.

#[cfg(windows)]
mod registry;
mod values;

pub use values::{expand_client_id, AdminValues};

use crate::settings::{Overrides, Settings, SettingsError, SettingsStore};
use crate::warning::{Warning, WarningCode};

/// Presets and policy as found on this PC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Admin {
    /// Starting values of a fresh install (the user may change them).
    pub presets: AdminValues,
    /// Values the user cannot change.
    pub policy: AdminValues,
    /// What could not be used (a file that is not JSON, a value of the wrong type),
    /// for the user and the log; the rest is used.
    pub warnings: Vec<Warning>,
}

impl Admin {
    /// Reads presets and policy from the OS's places. Never fails: what cannot be read
    /// is left out and said in `warnings`.
    pub fn load() -> Self {
        let mut admin = Self::default();
        #[cfg(windows)]
        {
            let (presets, policy) = registry::read();
            admin.presets = admin.take(presets);
            admin.policy = admin.take(policy);
        }
        #[cfg(not(windows))]
        {
            let dir = admin_dir();
            admin.presets = admin.take(values::read_file(&dir.join("defaults.json")));
            admin.policy = admin.take(values::read_file(&dir.join("policy.json")));
        }
        admin
    }

    fn take(&mut self, read: values::Read) -> AdminValues {
        for problem in read.problems {
            tracing::warn!(%problem, "an administrator's setting is left out");
            self.warnings
                .push(Warning::new(WarningCode::AdminSettingUnusable, problem));
        }
        read.values
    }
}

/// The folder of `policy.json` and `defaults.json` on Linux and macOS. Debug builds (the
/// tests) may move it with `PRINTRELAY_ADMIN_DIR`; a release build never does, so a
/// user cannot point the agent at a policy of their own.
#[cfg(not(windows))]
pub fn admin_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    #[cfg(debug_assertions)]
    if let Some(dir) = std::env::var_os("PRINTRELAY_ADMIN_DIR") {
        return PathBuf::from(dir);
    }
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/PrintRelay")
    } else {
        PathBuf::from("/etc/printrelay")
    }
}

/// The settings in force and where they came from.
#[derive(Debug, Clone)]
pub struct InForce {
    pub settings: Settings,
    /// The policy applied over them: its fields are locked for the user.
    pub policy: AdminValues,
    /// What the user should know (a settings file kept aside, a policy value left out).
    pub warnings: Vec<Warning>,
}

/// Loads the settings as they apply on this PC: the user's file at `store`'s path (a
/// fresh one starts from the presets), then `overrides` (command line, environment),
/// then the policy over everything.
pub fn settings_in_force(
    store: SettingsStore,
    overrides: &Overrides,
) -> Result<InForce, SettingsError> {
    let admin = Admin::load();
    let loaded = store
        .starting_from(admin.presets.apply(Settings::default()))
        .load()?;
    let settings = admin.policy.apply(overrides.apply(loaded.settings));
    if !admin.policy.is_empty() {
        tracing::info!(fields = ?admin.policy.fields(), "settings fixed by the administrator's policy");
    }
    let mut warnings: Vec<Warning> = loaded.warning.into_iter().collect();
    warnings.extend(admin.warnings);
    Ok(InForce {
        settings,
        policy: admin.policy,
        warnings,
    })
}
