//! `printrelay-loadgen`: many simulated agents on one Socket.IO server (our hub or the
//! original Node server). Each speaks Engine.IO v4 over a websocket and Socket.IO v5:
//! CONNECT (with `auth` {clientId, token}), `register` with its id, pong for every ping.
//! Prints one JSON line of figures once every agent is listed by `/getStatus` (or the
//! time is up), then holds the connections for `--hold-secs`: `connected` (CONNECT
//! acknowledged, `register` sent), `failed`, `dropped` (closed after connecting), `listed` (connected in `/getStatus`),
//! `connectMs` and `listedMs` from the start, `registeredAcks` (our hub's `registered`
//! events seen so far; the original server sends none), `firstError`.
//!
//! `--reconnect` makes every agent connect again (after `--retry-ms`, jittered) whenever
//! its socket closes or an attempt fails; each time all agents are connected again it
//! prints `{"event": "allConnected", "round", "at"}` (`at`: ms since the Unix epoch), and
//! `{"event": "allRegistered", ...}` once all have our hub's `registered` answer.
//! `--report-prints N` counts `print` events over all agents and prints
//! `{"event": "prints", "total", "at"}` each time the total reaches a multiple of N.
//!
//! Each connection is a file descriptor here and on the server: for thousands, raise
//! `ulimit -n` on both sides first.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Parser)]
#[command(about = "Connects many simulated PrintRelay agents to a Socket.IO server")]
struct Args {
    /// Server base URL, e.g. http://127.0.0.1:3000.
    #[arg(long)]
    url: String,
    /// How many agents.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// Client ids are PREFIX0, PREFIX1, ...
    #[arg(long, default_value = "load-")]
    prefix: String,
    /// Handshakes in progress at once.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Agent token sent in the handshake `auth`.
    #[arg(long)]
    token: Option<String>,
    /// API token for `/getStatus` (sent as `?token=`).
    #[arg(long)]
    api_token: Option<String>,
    /// Give up waiting for all agents to be listed after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// Keep the connections open this long after reporting (0: close at once).
    #[arg(long, default_value_t = 0)]
    hold_secs: u64,
    /// Connect again whenever a socket closes or an attempt fails.
    #[arg(long)]
    reconnect: bool,
    /// Wait before connecting again: between half of this and all of it, at random.
    #[arg(long, default_value_t = 200)]
    retry_ms: u64,
    /// Report each time the number of `print` events received reaches a multiple of this.
    #[arg(long, default_value_t = 0)]
    report_prints: usize,
}

/// Counters shared by every simulated agent.
#[derive(Debug, Default)]
struct Counters {
    connected: AtomicUsize,
    registered_acks: AtomicUsize,
    failed: AtomicUsize,
    /// Connected, then closed by the server (or the network).
    dropped: AtomicUsize,
    pongs: AtomicUsize,
    /// Agents connected right now, and how many of them have our hub's `registered`.
    live: AtomicUsize,
    live_registered: AtomicUsize,
    /// Rounds in which every agent was connected, and registered.
    connected_rounds: AtomicUsize,
    registered_rounds: AtomicUsize,
    prints: AtomicUsize,
}

impl Counters {
    /// Counts one up; with `report`, prints a round line when that made all `total`
    /// agents `what`.
    fn arrive(live: &AtomicUsize, rounds: &AtomicUsize, total: usize, what: &str, report: bool) {
        if live.fetch_add(1, Ordering::SeqCst) + 1 == total && report {
            let round = rounds.fetch_add(1, Ordering::SeqCst) + 1;
            emit(&json!({"event": what, "round": round, "at": printrelay_e2e::wall_ms()}));
        }
    }
}

/// One JSON line on stdout; a reader that went away (it wanted only the report) is fine.
fn emit(line: &Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    warn_about_fd_limit(args.count);
    let base = args.url.trim_end_matches('/').to_owned();
    let ws_url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        base.replacen("http", "ws", 1)
    );
    let counters = Arc::new(Counters::default());
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let started = Instant::now();
    let (all_connected_tx, mut all_connected) = tokio::sync::watch::channel(false);
    let all_connected_tx = Arc::new(all_connected_tx);
    for index in 0..args.count {
        let client_id = format!("{}{index}", args.prefix);
        let (ws_url, token) = (ws_url.clone(), args.token.clone());
        let (counters, gate, first_error) = (counters.clone(), gate.clone(), first_error.clone());
        let (total, done) = (args.count, all_connected_tx.clone());
        let (reconnect, retry_ms, report_prints) =
            (args.reconnect, args.retry_ms, args.report_prints);
        tokio::spawn(async move {
            let session = Session {
                ws_url: &ws_url,
                client_id: &client_id,
                token: token.as_deref(),
                counters: &counters,
                gate: &gate,
                total,
                report_prints,
                rounds: reconnect,
            };
            let on_connected = || {
                if counters.connected.load(Ordering::SeqCst)
                    + counters.failed.load(Ordering::SeqCst)
                    >= total
                {
                    let _ = done.send(true);
                }
            };
            let mut result = session.run(&on_connected).await;
            // With --reconnect this loop ends only with the process.
            loop {
                if !reconnect {
                    break;
                }
                if let Err(error) = &result {
                    if let Ok(mut first) = first_error.lock() {
                        first.get_or_insert_with(|| format!("{client_id}: {error:#}"));
                    }
                }
                let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as u64;
                let wait = retry_ms / 2 + retry_ms / 2 * jitter / 1000;
                tokio::time::sleep(Duration::from_millis(wait)).await;
                result = session.run(&on_connected).await;
            }
            if let Err(error) = result {
                counters.failed.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut first) = first_error.lock() {
                    first.get_or_insert_with(|| format!("{client_id}: {error:#}"));
                }
                if counters.connected.load(Ordering::SeqCst)
                    + counters.failed.load(Ordering::SeqCst)
                    >= total
                {
                    let _ = done.send(true);
                }
            }
        });
    }
    let deadline = started + Duration::from_secs(args.timeout_secs);
    let _ = tokio::time::timeout_at(deadline, all_connected.wait_for(|done| *done)).await;
    let connect_ms = started.elapsed().as_millis() as u64;
    let (listed, listed_ms) = wait_until_listed(&base, &args, deadline, started).await;
    let report = json!({
        "url": base,
        "count": args.count,
        "connected": counters.connected.load(Ordering::SeqCst),
        "failed": counters.failed.load(Ordering::SeqCst),
        "dropped": counters.dropped.load(Ordering::SeqCst),
        "registeredAcks": counters.registered_acks.load(Ordering::SeqCst),
        "listed": listed,
        "connectMs": connect_ms,
        "listedMs": listed_ms,
        "firstError": *first_error.lock().map_err(|_| anyhow!("poisoned"))?,
    });
    emit(&report);
    if args.hold_secs > 0 {
        tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
        eprintln!(
            "held {} s; {} pongs sent",
            args.hold_secs,
            counters.pongs.load(Ordering::SeqCst)
        );
    }
    Ok(())
}

/// One simulated agent's part in the run.
struct Session<'a> {
    ws_url: &'a str,
    client_id: &'a str,
    token: Option<&'a str>,
    counters: &'a Counters,
    gate: &'a Semaphore,
    total: usize,
    report_prints: usize,
    /// Print a line each time all agents are connected (registered) again.
    rounds: bool,
}

impl Session<'_> {
    /// One connection: handshake, CONNECT, `register`, then pongs until the socket ends
    /// (`Ok`); an attempt that fails before `register` is an error.
    async fn run(&self, on_connected: &impl Fn()) -> Result<()> {
        let counters = self.counters;
        let mut socket = self.connect().await?;
        counters.connected.fetch_add(1, Ordering::SeqCst);
        on_connected();
        Counters::arrive(
            &counters.live,
            &counters.connected_rounds,
            self.total,
            "allConnected",
            self.rounds,
        );
        let mut registered = false;
        let ended = loop {
            let Ok(packet) = next_text(&mut socket).await else {
                counters.dropped.fetch_add(1, Ordering::SeqCst);
                break Ok(());
            };
            if packet == "2" {
                if let Err(error) = socket.send(Message::text("3")).await {
                    break Err(error.into());
                }
                counters.pongs.fetch_add(1, Ordering::Relaxed);
            } else if packet.starts_with("42[\"registered\"") {
                counters.registered_acks.fetch_add(1, Ordering::SeqCst);
                if !registered {
                    registered = true;
                    Counters::arrive(
                        &counters.live_registered,
                        &counters.registered_rounds,
                        self.total,
                        "allRegistered",
                        self.rounds,
                    );
                }
            } else if packet.starts_with("42[\"print\"") {
                let total = counters.prints.fetch_add(1, Ordering::SeqCst) + 1;
                if self.report_prints > 0 && total.is_multiple_of(self.report_prints) {
                    emit(
                        &json!({"event": "prints", "total": total, "at": printrelay_e2e::wall_ms()}),
                    );
                }
            }
        };
        counters.live.fetch_sub(1, Ordering::SeqCst);
        if registered {
            counters.live_registered.fetch_sub(1, Ordering::SeqCst);
        }
        ended
    }

    /// Handshake, CONNECT with `auth`, `register`: a socket the server has registered.
    async fn connect(&self) -> Result<Socket> {
        let _permit = self.gate.acquire().await?;
        let (mut socket, _) = tokio::time::timeout(
            Duration::from_secs(30),
            tokio_tungstenite::connect_async(self.ws_url),
        )
        .await
        .context("websocket handshake timed out")??;
        let open = next_text(&mut socket).await?;
        if !open.starts_with('0') {
            bail!("expected the Engine.IO open packet, got {open}");
        }
        let auth = json!({"clientId": self.client_id, "token": self.token, "protocol": 1});
        socket.send(Message::text(format!("40{auth}"))).await?;
        loop {
            let packet = next_text(&mut socket).await?;
            if packet.starts_with("40") {
                break;
            }
            if let Some(error) = packet.strip_prefix("44") {
                bail!("refused: {error}");
            }
            if packet == "2" {
                socket.send(Message::text("3")).await?;
            }
        }
        socket
            .send(Message::text(format!(
                "42{}",
                json!(["register", self.client_id])
            )))
            .await?;
        Ok(socket)
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_text(socket: &mut Socket) -> Result<String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
            Some(Ok(Message::Close(_))) | None => bail!("closed by the server"),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.into()),
        }
    }
}

/// Polls `/getStatus` until every agent of this run is listed as connected; returns
/// how many were, and after how many ms (`None` if never all).
async fn wait_until_listed(
    base: &str,
    args: &Args,
    deadline: Instant,
    started: Instant,
) -> (usize, Option<u64>) {
    let mut url = format!("{base}/getStatus");
    if let Some(token) = &args.api_token {
        url.push_str(&format!("?token={token}"));
    }
    let mut listed = 0;
    loop {
        if let Ok(response) = printrelay_e2e::http_get(&url).await {
            if let Ok(status) = response.json::<Value>().await {
                listed = status["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| c["connected"] == true)
                    .filter(|c| {
                        c["clientId"]
                            .as_str()
                            .is_some_and(|id| id.starts_with(&args.prefix))
                    })
                    .count();
            }
        }
        if listed >= args.count {
            return (listed, Some(started.elapsed().as_millis() as u64));
        }
        if Instant::now() >= deadline {
            return (listed, None);
        }
        // The server offers no push for its client table.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each agent needs a descriptor; say so before the run fails half-way.
fn warn_about_fd_limit(count: usize) {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<usize>().ok())
        });
    if let Some(soft) = soft.filter(|soft| *soft < count + 64) {
        eprintln!("warning: open-file limit {soft} is below {count} connections; raise it with `ulimit -n`");
    }
}
