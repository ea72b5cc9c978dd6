//! The one rule for a test whose tool (Wine, a font, a poppler program) is missing, as the
//! agent crate states it (`printrelay_agent::skip`), with `anyhow` errors for these tests.

/// An error in CI; elsewhere a `SKIPPED: <test>: <why>` line on stderr and `Ok(())`, and
/// the caller returns early (see `printrelay_agent::skip::skip_or_fail`).
pub fn skip_or_fail(why: &str) -> anyhow::Result<()> {
    printrelay_agent::skip::skip_or_fail(why).map_err(anyhow::Error::msg)
}
