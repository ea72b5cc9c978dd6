//! Process signals of the headless agent, per platform: SIGHUP reconnects, SIGINT/SIGTERM stop.

/// What a process signal asks of the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: reconnect now.
    Reconnect,
    /// SIGINT, SIGTERM or Ctrl-C: exit cleanly.
    Stop,
}

#[cfg(unix)]
#[derive(Debug)]
pub struct Signals {
    hangup: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    /// Starts listening.
    pub fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal.
    pub async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.hangup.recv() => Signal::Reconnect,
            _ = self.terminate.recv() => Signal::Stop,
            _ = self.interrupt.recv() => Signal::Stop,
        }
    }
}

#[cfg(windows)]
#[derive(Debug)]
pub struct Signals;

#[cfg(windows)]
impl Signals {
    /// Starts listening.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self)
    }

    /// The next signal.
    pub async fn next(&mut self) -> Signal {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop
    }
}
