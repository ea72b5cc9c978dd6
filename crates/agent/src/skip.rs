//! The one rule for a test whose tool (Wine, a CJK font, pdftotext) is missing: in CI it
//! is a failure, elsewhere a skip that shows in the test output. Used by this crate's unit
//! tests and, through tests/src/skip.rs, by the end-to-end tests.

use std::io::Write as _;

/// True when `CI` is set to a non-empty value other than `false` or `0` (CI services
/// set `CI=true`; `CI=false` is how one says "not CI").
pub fn in_ci() -> bool {
    is_ci(std::env::var("CI").ok().as_deref())
}

fn is_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        !v.is_empty() && !v.eq_ignore_ascii_case("false") && v != "0"
    })
}

/// Called where a test cannot run for want of a tool: an error in CI; elsewhere prints
/// `SKIPPED: <test>: <why>` straight to stderr (past the harness's capture, so it shows
/// in a passing run) and returns `Ok(())`, and the caller returns early.
pub fn skip_or_fail(why: &str) -> Result<(), String> {
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    if in_ci() {
        return Err(format!(
            "{test}: {why} (a failure under CI; outside CI it is a skip)"
        ));
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {why}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_ci;

    #[test]
    fn ci_is_any_value_but_empty_false_or_0() {
        for value in ["true", "1", "yes", "TRUE"] {
            assert!(is_ci(Some(value)), "{value}");
        }
        for value in [None, Some(""), Some("false"), Some("False"), Some("0")] {
            assert!(!is_ci(value), "{value:?}");
        }
    }
}
