//! PrintRelay desktop agent entry point.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    printrelay_agent::allocator::tune();
    printrelay_desktop::run()
}
