//! The command lines: help, one-line errors and exit codes of the headless binary, and the
//! desktop app started where there is no desktop.

use std::process::Command;

use anyhow::Result;
use printrelay_e2e::{workspace_binary, RAW_QUEUE};

fn agent(args: &[&str]) -> Result<std::process::Output> {
    let home = tempfile::tempdir()?;
    Ok(Command::new(workspace_binary("printrelay-agent")?)
        .args(args)
        .env("PRINTRELAY_CONFIG_DIR", home.path().join("config"))
        .env("PRINTRELAY_DATA_DIR", home.path().join("data"))
        .env_remove("PRINTRELAY_SERVER")
        .env_remove("PRINTRELAY_PRINTER")
        .output()?)
}

#[test]
fn help_explains_every_run_flag() -> Result<()> {
    let out = agent(&["run", "--help"])?;
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--server",
        "--client-id",
        "--printer",
        "--token",
        "--events",
        "--reconnect-attempts",
        "--fetch-allowed-host",
        "PRINTRELAY_SERVER",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    Ok(())
}

#[test]
fn a_bad_url_and_an_unknown_printer_fail_with_one_clear_line() -> Result<()> {
    for (args, expected) in [
        (vec!["run", "--server", "not a url"], "serverUrl"),
        (vec!["run", "--server", "ftp://x"], "unsupported scheme"),
        (
            vec![
                "run",
                "--server",
                "http://127.0.0.1:9",
                "--printer",
                "NoSuchQueue",
            ],
            "printer \"NoSuchQueue\" not found",
        ),
        (
            vec![
                "run",
                "--server",
                "http://127.0.0.1:9",
                "--fetch-allowed-host",
                "http://docs.office:8080",
            ],
            "fetchAllowedHosts",
        ),
        (vec!["print-test", "--printer", "NoSuchQueue"], "not found"),
        (vec!["jobs", "--state", "bogus"], "unknown job state"),
    ] {
        let out = agent(&args)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    Ok(())
}

#[test]
fn printers_lists_the_test_queues_with_the_default_marked() -> Result<()> {
    let out = agent(&["printers"])?;
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    let raw = list
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == RAW_QUEUE));
    assert!(raw.is_some_and(|l| l.contains("ready")), "{list}");
    assert_eq!(
        list.lines().filter(|l| l.starts_with('*')).count(),
        1,
        "one default: {list}"
    );
    Ok(())
}

#[test]
fn the_desktop_app_without_a_graphical_session_says_so_in_one_line() -> Result<()> {
    let home = tempfile::tempdir()?;
    let out = Command::new(workspace_binary("printrelay-desktop")?)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", home.path())
        .env("PRINTRELAY_CONFIG_DIR", home.path().join("config"))
        .env("PRINTRELAY_DATA_DIR", home.path().join("data"))
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("printrelay-agent"), "{stderr}");
    Ok(())
}
