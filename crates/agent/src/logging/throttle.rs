//! Keeps one kind of repeated warning to a line a minute, whatever a peer sends: the
//! first occurrence of each window is logged (with its example), the rest are counted
//! and the count is reported with the next logged one. Used by the task that sees them.

use std::time::Duration;

use tokio::time::Instant;

/// One warning's window.
#[derive(Debug, Clone)]
pub struct Throttle {
    window: Duration,
    opened: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// A throttle that logs at most one line per `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            opened: None,
            suppressed: 0,
        }
    }

    /// Whether to log this occurrence: `Some(n)` with the number left unlogged since the
    /// last logged one, `None` to only count it.
    pub fn admit(&mut self, now: Instant) -> Option<u64> {
        match self.opened {
            Some(opened) if now.saturating_duration_since(opened) < self.window => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.opened = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_one_line_a_minute_with_the_count_of_the_rest() {
        let start = Instant::now();
        let mut throttle = Throttle::new(Duration::from_secs(60));
        let logged: Vec<(u64, u64)> = (0..200_000u64)
            .filter_map(|i| {
                // 200,000 in 2 s, then one more a minute later.
                let at = start + Duration::from_micros(i * 10);
                throttle.admit(at).map(|n| (i, n))
            })
            .collect();
        assert_eq!(logged, [(0, 0)]);
        let later = start + Duration::from_secs(62);
        assert_eq!(throttle.admit(later), Some(199_999));
        assert_eq!(throttle.admit(later), None);
    }
}
