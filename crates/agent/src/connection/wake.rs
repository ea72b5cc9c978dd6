//! Notices that the network came back or the PC woke from sleep, on a task of its own,
//! and nudges the supervisor so a PC left alone reconnects at once instead of at its
//! next scheduled attempt.
//!
//! Two signals that need no platform API and work alike on Windows, macOS and Linux:
//! - the route to the outside: a UDP socket "connected" to a documentation address
//!   (no packet is sent; the OS only picks a route) yields the local address the OS would
//!   use, or an error when there is no route. Appearing or changing means a network came up;
//! - sleep: the wall clock runs on while a PC sleeps, the monotonic clock does not, so a
//!   wall-clock step much longer than the monotonic one means the PC woke up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use tokio::time::Instant;

use super::state::now_ms;
use super::ConnectionHandle;

/// How often the signals are read.
const EVERY: Duration = Duration::from_secs(2);
/// A wall-clock step this much longer than the monotonic one counts as a sleep.
const SLEPT: Duration = Duration::from_secs(5);
/// TEST-NET-1 (RFC 5737): never routed to anyone, only used to ask for a route.
const PROBE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 9);

/// The local address the OS would use to reach the outside, if any.
pub fn outside_route() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect(PROBE).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

/// Why to nudge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NetworkUp,
    Woke,
}

/// The last readings of both signals.
#[derive(Debug, Clone)]
pub struct Watch {
    route: Option<IpAddr>,
    at: (u64, Instant),
}

impl Watch {
    /// Starts from the current readings.
    pub fn new(route: Option<IpAddr>, wall_ms: u64, now: Instant) -> Self {
        Self {
            route,
            at: (wall_ms, now),
        }
    }

    /// Takes new readings; a reason to nudge when something came back.
    pub fn observe(&mut self, route: Option<IpAddr>, wall_ms: u64, now: Instant) -> Option<Reason> {
        let (last_wall, last_now) = std::mem::replace(&mut self.at, (wall_ms, now));
        let wall = Duration::from_millis(wall_ms.saturating_sub(last_wall));
        let woke = wall > now.saturating_duration_since(last_now) + SLEPT;
        let previous = std::mem::replace(&mut self.route, route);
        let network_up = route.is_some() && route != previous;
        if woke {
            Some(Reason::Woke)
        } else if network_up {
            Some(Reason::NetworkUp)
        } else {
            None
        }
    }
}

/// Watches both signals for as long as the supervisor runs, nudging it on each.
pub fn spawn_watcher(handle: ConnectionHandle) {
    tokio::spawn(async move {
        let mut watch = Watch::new(outside_route(), now_ms(), Instant::now());
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if handle.is_closed() {
                return;
            }
            // A UDP connect is a quick local call, but a system call all the same.
            let route = tokio::task::spawn_blocking(outside_route)
                .await
                .unwrap_or(None);
            if let Some(reason) = watch.observe(route, now_ms(), Instant::now()) {
                tracing::info!(?reason, "network back or woke from sleep: retrying now");
                handle.nudge().await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20));
    const CAFE: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));

    #[tokio::test(start_paused = true)]
    async fn a_network_that_appears_or_changes_and_a_sleep_are_noticed() {
        let start = Instant::now();
        let mut watch = Watch::new(None, 1_000_000, start);
        let mut t = |secs: u64, wall_secs: u64, route| {
            let now = start + Duration::from_secs(secs);
            watch.observe(route, 1_000_000 + wall_secs * 1000, now)
        };
        assert_eq!(t(2, 2, None), None, "still no network");
        assert_eq!(
            t(4, 4, Some(HOME)),
            Some(Reason::NetworkUp),
            "cable plugged in"
        );
        assert_eq!(t(6, 6, Some(HOME)), None, "nothing new");
        assert_eq!(t(8, 8, None), None, "cable pulled: nothing to retry for");
        assert_eq!(t(10, 10, Some(CAFE)), Some(Reason::NetworkUp));
        assert_eq!(
            t(12, 13, Some(CAFE)),
            None,
            "a second of clock drift is no sleep"
        );
        assert_eq!(
            t(14, 3600, Some(CAFE)),
            Some(Reason::Woke),
            "an hour asleep"
        );
        assert_eq!(t(16, 3602, Some(CAFE)), None);
    }
}
