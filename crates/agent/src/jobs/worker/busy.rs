//! While the spooler refuses jobs as busy: how long the ready jobs wait before the
//! next try, and when a job gives up.

use super::*;

/// While the spooler refuses jobs as busy: the wait before the first ready job goes
/// again doubles from the first to the longest, and the job fails after `GIVE_UP`.
#[derive(Debug, Default)]
pub(super) struct BusyWait {
    since: Option<Instant>,
    /// When the first ready job goes again (`None`: now).
    pub(super) retry_at: Option<Instant>,
    /// The current wait between tries.
    pub(super) wait: Duration,
}

impl BusyWait {
    const FIRST: Duration = Duration::from_millis(100);
    const LONGEST: Duration = Duration::from_secs(5);
    /// How long the spooler may refuse a job as busy before the job fails.
    pub(super) const GIVE_UP: Duration = Duration::from_secs(600);

    pub(super) fn due(&self) -> bool {
        self.retry_at.is_none_or(|at| at <= Instant::now())
    }

    /// The spooler took a job (or the job ended otherwise): no more waiting.
    pub(super) fn reset(&mut self) {
        *self = Self::default();
    }

    /// The spooler refused once more: `false` when it has refused for too long.
    pub(super) fn refused(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(*self.since.get_or_insert(now)) >= Self::GIVE_UP {
            self.reset();
            return false;
        }
        self.wait = if self.wait.is_zero() {
            Self::FIRST
        } else {
            (self.wait * 2).min(Self::LONGEST)
        };
        self.retry_at = Some(now + self.wait);
        true
    }

    /// Resolves when the next try is due (never while not waiting).
    pub(super) async fn elapsed(&self) {
        match self.retry_at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }
}
