//! The listening side of the cluster channel: a dedicated PostgreSQL connection that
//! `LISTEN`s, on a thread of its own (the sync client blocks; it may not run on a runtime
//! thread), handing each payload to the node's dispatch task (`crate::hub::cluster`)
//! through a channel. A lost connection is made again; the node is then told
//! ([`Heard::Reconnected`]) so it looks for work it may have missed.

use std::str::FromStr;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use tokio::sync::mpsc::UnboundedSender;

use crate::store::{StoreError, CHANNEL};

/// How long a wait for a notification lasts before the thread checks it is still wanted.
const POLL: Duration = Duration::from_secs(1);
/// Wait before connecting again after a lost connection.
const RETRY: Duration = Duration::from_secs(1);
/// While the database stays away, one warning per this many failed attempts.
const WARN_EVERY: u64 = 60;

/// What the listener passes on.
#[derive(Debug)]
pub enum Heard {
    /// A payload on the channel (this node's own too: the dispatch skips those).
    Payload(String),
    /// The connection was lost and is back: notifications in between are gone.
    Reconnected,
}

/// A listening connection to `url`. Blocking: call it from the blocking pool.
pub fn connect(url: &str) -> Result<postgres::Client, StoreError> {
    let mut config = postgres::Config::from_str(url)?;
    config.application_name("printrelay-hub-listen");
    let mut client = config.connect(postgres::NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    Ok(client)
}

/// Listens on `client` (from [`connect`]) on a thread of its own until `heard` closes.
pub fn spawn(
    url: String,
    client: postgres::Client,
    heard: UnboundedSender<Heard>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("pg-listen".into())
        .spawn(move || run(&url, client, &heard))
        .map(drop)
}

fn run(url: &str, client: postgres::Client, heard: &UnboundedSender<Heard>) {
    let mut client = Some(client);
    let mut failures = 0u64;
    while !heard.is_closed() {
        let Some(listening) = client.as_mut() else {
            std::thread::sleep(RETRY);
            match connect(url) {
                Ok(again) => {
                    tracing::info!("the cluster's listening connection is back");
                    client = Some(again);
                    failures = 0;
                    let _ = heard.send(Heard::Reconnected);
                }
                Err(error) => {
                    if failures.is_multiple_of(WARN_EVERY) {
                        tracing::warn!(%error, failures, "cannot listen for other hub nodes");
                    }
                    failures += 1;
                }
            }
            continue;
        };
        match pass_on(listening, heard) {
            Ok(true) if listening.is_closed() => {
                tracing::warn!("the cluster's listening connection was closed");
                client = None;
            }
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, "the cluster's listening connection was lost");
                client = None;
            }
        }
    }
}

/// Passes on what arrives within [`POLL`]; false when nobody wants it any more.
fn pass_on(
    client: &mut postgres::Client,
    heard: &UnboundedSender<Heard>,
) -> Result<bool, postgres::Error> {
    let mut notifications = client.notifications();
    let mut arriving = notifications.timeout_iter(POLL);
    while let Some(notification) = arriving.next()? {
        if notification.channel() == CHANNEL
            && heard
                .send(Heard::Payload(notification.payload().to_owned()))
                .is_err()
        {
            return Ok(false);
        }
    }
    Ok(true)
}
