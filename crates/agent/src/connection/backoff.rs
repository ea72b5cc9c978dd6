//! Reconnect policy and the pure backoff function the supervisor uses.

use std::time::Duration;

/// How the agent retries a lost or failed connection.
///
/// Defaults are the original browser client's: 5 attempts, 1 s growing to 5 s.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReconnectPolicy {
    /// Connect attempts in one round before giving up (at least 1).
    pub attempts: u32,
    /// Delay before the first retry, in milliseconds.
    pub delay_ms: u64,
    /// Upper bound of any delay, in milliseconds.
    pub delay_max_ms: u64,
    /// Bound on one connect attempt (TCP, websocket and Socket.IO handshakes), in milliseconds.
    pub connect_timeout_ms: u64,
    /// After giving up, one more attempt this often, in milliseconds (0: none, stay
    /// offline until Reconnect): an unattended PC comes back after a server update.
    pub background_retry_ms: u64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            delay_ms: 1000,
            delay_max_ms: 5000,
            connect_timeout_ms: 10_000,
            background_retry_ms: 60_000,
        }
    }
}

/// Share of the delay that jitter may add or remove (as socket.io's client does).
const JITTER: f64 = 0.5;

impl ReconnectPolicy {
    /// The wait before retry number `retry` (1-based), given a uniform random `unit` in `[0, 1)`.
    ///
    /// Exponential (`delay * 2^(retry-1)`), spread by ±50 % jitter, never above `delay_max`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let exponent = retry.saturating_sub(1).min(32);
        let base = (self.delay_ms as f64) * 2f64.powi(exponent as i32);
        let base = base.min(self.delay_max_ms as f64);
        let unit = unit.clamp(0.0, 1.0);
        let jittered = base * (1.0 - JITTER + 2.0 * JITTER * unit);
        Duration::from_millis(jittered.min(self.delay_max_ms as f64).max(0.0) as u64)
    }

    /// The background retry period, `None` when turned off.
    pub fn background_retry(&self) -> Option<Duration> {
        (self.background_retry_ms > 0).then(|| Duration::from_millis(self.background_retry_ms))
    }

    /// The connect timeout as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms.max(1))
    }

    /// Checks the values a user can type, naming the first field that is out of range.
    pub fn validate(&self) -> Result<(), PolicyProblem> {
        self.problems().into_iter().next().map_or(Ok(()), Err)
    }

    /// Every field that is out of range, for inline validation in a form.
    pub fn problems(&self) -> Vec<PolicyProblem> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, field: &'static str, rule: &'static str| {
            if !ok {
                problems.push(PolicyProblem { field, rule });
            }
        };
        check(
            (1..=1000).contains(&self.attempts),
            "reconnect.attempts",
            "must be between 1 and 1000",
        );
        check(
            (1..=3_600_000).contains(&self.delay_ms),
            "reconnect.delayMs",
            "must be between 1 and 3600000",
        );
        check(
            self.delay_max_ms >= self.delay_ms && self.delay_max_ms <= 3_600_000,
            "reconnect.delayMaxMs",
            "must be between delayMs and 3600000",
        );
        check(
            (100..=600_000).contains(&self.connect_timeout_ms),
            "reconnect.connectTimeoutMs",
            "must be between 100 and 600000",
        );
        check(
            self.background_retry_ms == 0
                || (1000..=86_400_000).contains(&self.background_retry_ms),
            "reconnect.backgroundRetryMs",
            "must be 0 (off) or between 1000 and 86400000",
        );
        problems
    }
}

/// A reconnect policy field out of range: its settings path and the rule it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyProblem {
    /// Path of the field in the settings, e.g. `reconnect.attempts`.
    pub field: &'static str,
    /// The rule, e.g. `must be between 1 and 1000`.
    pub rule: &'static str,
}

impl std::fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.field, self.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ReconnectPolicy {
        ReconnectPolicy::default()
    }

    #[test]
    fn grows_exponentially_without_jitter_at_the_midpoint() {
        let p = policy();
        assert_eq!(p.backoff(1, 0.5), Duration::from_millis(1000));
        assert_eq!(p.backoff(2, 0.5), Duration::from_millis(2000));
        assert_eq!(p.backoff(3, 0.5), Duration::from_millis(4000));
        assert_eq!(p.backoff(4, 0.5), Duration::from_millis(5000));
    }

    #[test]
    fn jitter_spreads_half_either_way_and_never_exceeds_the_cap() {
        let p = policy();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(500));
        assert_eq!(p.backoff(1, 0.999_999), Duration::from_millis(1499));
        for retry in 1..100 {
            for unit in [0.0, 0.25, 0.5, 0.75, 0.999, 7.0, -3.0] {
                assert!(p.backoff(retry, unit) <= Duration::from_millis(p.delay_max_ms));
            }
        }
    }

    #[test]
    fn huge_retry_counts_do_not_overflow() {
        assert_eq!(policy().backoff(u32::MAX, 0.5), Duration::from_millis(5000));
    }

    #[test]
    fn validation_names_the_bad_field() {
        let mut p = policy();
        assert!(p.validate().is_ok());
        p.attempts = 0;
        assert_eq!(p.validate().unwrap_err().field, "reconnect.attempts");
        let mut p = policy();
        p.delay_max_ms = 10;
        assert_eq!(p.validate().unwrap_err().field, "reconnect.delayMaxMs");
    }
}
