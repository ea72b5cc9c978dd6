//! Schemathesis (property-based testing from the OpenAPI document; installed by
//! `scripts/setup.sh test`) against a running hub: every operation but
//! `/api/v1/events`, an endless stream no request of which ever completes, with valid
//! and invalid data and every check (no server errors, documented status codes,
//! content types and headers, response schemas, valid data accepted, invalid refused,
//! auth not ignored). Any finding fails the test with schemathesis' report; the seed it
//! prints reproduces the run (`PRINTRELAY_FUZZ_SEED`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use printrelay_e2e::{socket_io_emit, Hub};
use serde_json::json;

/// Long enough for any listen address.
const TOKEN: &str = "api-secret-0123456789";

/// Test cases per operation and phase: about 30 s on two cores.
const EXAMPLES: &str = "50";

/// `$PRINTRELAY_SCHEMATHESIS`, or the one `scripts/setup.sh test` installs in
/// `<cargo target>/schemathesis` (the test binary lives in `<target>/debug/deps/`).
fn schemathesis() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("PRINTRELAY_SCHEMATHESIS") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let target = exe
        .ancestors()
        .nth(3)
        .context("unexpected test binary location")?;
    let installed = target.join("schemathesis/bin/schemathesis");
    if !installed.exists() {
        bail!(
            "{} is missing: run scripts/setup.sh test (or set PRINTRELAY_SCHEMATHESIS)",
            installed.display()
        );
    }
    Ok(installed)
}

#[tokio::test]
async fn schemathesis_finds_nothing_wrong_with_the_api() -> Result<()> {
    let schemathesis = schemathesis()?;
    let db = tempfile::tempdir()?;
    let hub = Hub::start_with(
        &db.path().join("hub.db"),
        2_000,
        1_000,
        &["--api-token", TOKEN],
    )
    .await?;
    // Something to find by id: a client that registered once and a job of its.
    socket_io_emit(
        hub.port,
        &json!({"clientId": "pc-fuzz"}),
        &json!(["register", "pc-fuzz"]),
    )
    .await?;
    let job =
        json!({"clientId": "pc-fuzz", "jobId": "job-fuzz", "contentType": "text", "content": "x"});
    let (status, body) = hub.submit(&job).await?;
    anyhow::ensure!(status == 202, "{body}");

    // Its files (.hypothesis) go to a folder of its own, not the repository.
    let scratch = tempfile::tempdir()?;
    let mut command = tokio::process::Command::new(&schemathesis);
    command
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", hub.url()))
        .args(["--checks", "all", "--max-examples", EXAMPLES])
        .args(["--exclude-path", "/api/v1/events"])
        .args(["--request-timeout", "10"])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .current_dir(scratch.path())
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    if let Ok(seed) = std::env::var("PRINTRELAY_FUZZ_SEED") {
        command.args(["--seed", &seed]);
    }
    let output = tokio::time::timeout(Duration::from_secs(300), command.output())
        .await
        .context("schemathesis ran for over 5 minutes")??;
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    anyhow::ensure!(
        output.status.success(),
        "schemathesis found problems:\n{report}"
    );
    // It reached every operation but the event stream.
    anyhow::ensure!(report.contains("Tested: 11"), "{report}");
    let hub_log = std::fs::read_to_string(&hub.log)?;
    anyhow::ensure!(
        !hub_log.contains("ERROR"),
        "the hub logged errors while fuzzed:\n{hub_log}"
    );
    Ok(())
}
