//! What a launch of the desktop binary asks for, read from its command line. The first
//! launch starts the tray app and does it; a later launch hands its command line to the
//! first one (single-instance channel) and exits, so `printrelay-desktop --quit` or
//! `--reconnect` works from a script, an installer or a second double-click alike.

#[cfg(windows)]
mod quit_wait;
#[cfg(windows)]
pub use quit_wait::{is_forwarding, quit_and_wait};

use std::process::ExitCode;
use std::time::{Duration, Instant};

use printrelay_agent::paths::Paths;

/// Command-line flag the autostart entry passes: start in the tray, no window.
pub const HIDDEN_FLAG: &str = "--hidden";

/// Command-line flag of an uninstall asked to remove the user's data
/// (`msiexec /x ... REMOVE_USER_DATA=1`): handled by this launch itself, never handed
/// to a running app.
pub const REMOVE_USER_DATA_FLAG: &str = "--remove-user-data";

/// Deletes this user's settings, job history and logs, waiting up to 10 s for a
/// quitting app to let go of its files; says what was deleted.
pub fn remove_user_data() -> ExitCode {
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("printrelay: {error}");
            return ExitCode::FAILURE;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match paths.remove_all() {
            Ok(removed) => {
                for dir in removed {
                    println!("removed {}", dir.display());
                }
                return ExitCode::SUCCESS;
            }
            // Windows refuses to delete files the quitting app still has open.
            Err(_) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(error) => {
                eprintln!("printrelay: cannot remove the user's data: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
}

/// What the user (or a script) asks of the running app. The tray menu asks the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open (or focus) the window: a plain launch, a double-click.
    ShowWindow,
    /// Nothing visible: start in the tray (`--hidden`, the autostart entry).
    Stay,
    /// A fresh round of connect attempts (`--reconnect`).
    Reconnect,
    /// Stop taking jobs from the queue (`--pause`).
    Pause,
    /// Take jobs again (`--resume`).
    Resume,
    /// End the app and every process it started (`--quit`).
    Quit,
}

impl Action {
    /// The action of a command line (the program name included or not). The last
    /// action flag wins; unknown arguments are ignored, as Windows and desktop files
    /// may add their own.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Self {
        args.iter()
            .filter_map(|arg| match arg.as_ref() {
                HIDDEN_FLAG => Some(Action::Stay),
                "--show" => Some(Action::ShowWindow),
                "--reconnect" => Some(Action::Reconnect),
                "--pause" => Some(Action::Pause),
                "--resume" => Some(Action::Resume),
                "--quit" => Some(Action::Quit),
                _ => None,
            })
            .last()
            .unwrap_or(Action::ShowWindow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_launch_shows_the_window_and_flags_ask_for_the_rest() {
        assert_eq!(
            Action::from_args(&["printrelay-desktop.exe"]),
            Action::ShowWindow
        );
        assert_eq!(Action::from_args(&["x", "--hidden"]), Action::Stay);
        assert_eq!(Action::from_args(&["x", "--quit"]), Action::Quit);
        assert_eq!(Action::from_args(&["x", "--pause"]), Action::Pause);
        assert_eq!(Action::from_args(&["x", "--resume"]), Action::Resume);
        assert_eq!(Action::from_args(&["x", "--reconnect"]), Action::Reconnect);
        // Windows' shell may add arguments of its own; they ask for nothing.
        assert_eq!(
            Action::from_args(&["x", "/prefetch:1", "--hidden"]),
            Action::Stay
        );
        assert_eq!(
            Action::from_args(&["x", "--hidden", "--show"]),
            Action::ShowWindow
        );
    }
}
