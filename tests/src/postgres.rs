//! PostgreSQL for hub tests: a fresh database per test on the server `scripts/test.sh`
//! starts (`tests/postgres/start.sh`), named in `PRINTRELAY_TEST_POSTGRES`.

use anyhow::{bail, Context, Result};

use crate::common::unique_marker;
use crate::skip::skip_or_fail;

/// The URL of a new, empty database for `tag`; `None` (the test returns) when no
/// server is configured, which fails on CI.
pub fn fresh_database(tag: &str) -> Result<Option<String>> {
    let Ok(admin) = std::env::var("PRINTRELAY_TEST_POSTGRES") else {
        skip_or_fail("PRINTRELAY_TEST_POSTGRES is not set (scripts/test.sh starts a server)")?;
        return Ok(None);
    };
    let name = unique_marker(tag).replace('-', "_").to_lowercase();
    let status = std::process::Command::new("psql")
        .arg(&admin)
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .status()
        .context("running psql")?;
    if !status.success() {
        bail!("psql could not create database {name}");
    }
    let base = admin
        .rsplit_once('/')
        .map(|(server, _)| server)
        .context("PRINTRELAY_TEST_POSTGRES names no database")?;
    Ok(Some(format!("{base}/{name}")))
}
