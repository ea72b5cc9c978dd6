//! Time on the wire: milliseconds since the Unix epoch.

/// Milliseconds since the Unix epoch, as every `at`/`...At` member carries it.
pub type EpochMillis = u64;

/// Now, in [`EpochMillis`] (0 on a clock set before 1970).
pub fn now_ms() -> EpochMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
