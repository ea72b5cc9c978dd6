//! Redis for hub cluster tests: the server `scripts/test.sh` starts
//! (`tests/redis/start.sh`), named in `PRINTRELAY_TEST_REDIS`. Clusters on different
//! databases share it: each talks on a channel named after its database.

use anyhow::Result;

use crate::skip::skip_or_fail;

/// The server's URL; `None` (the test returns) when none is configured, which fails on CI.
pub fn server() -> Result<Option<String>> {
    match std::env::var("PRINTRELAY_TEST_REDIS") {
        Ok(url) => Ok(Some(url)),
        Err(_) => {
            skip_or_fail("PRINTRELAY_TEST_REDIS is not set (scripts/test.sh starts a server)")?;
            Ok(None)
        }
    }
}
