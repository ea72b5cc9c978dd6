//! The connection supervisor against the reference Node server, through the headless
//! agent's `--events json` stream: restarts, give-up and manual reconnect, a frozen
//! server, a kick, and many reconnect cycles.

use std::time::Duration;

use anyhow::{ensure, Result};
use printrelay_e2e::{
    count_printed, unique_marker, wait_for_printed, wait_until_listed, Agent, AgentHome,
    ConnectProxy, OriginalServer, RAW_QUEUE, START_PRINT_ACCEPTED,
};
use serde_json::Value;
use tokio::time::Instant;

const LIMIT: Duration = Duration::from_secs(20);

/// Short retry delays so the tests do not wait on the production defaults.
const FAST_RETRY: [&str; 6] = [
    "--reconnect-delay-ms",
    "100",
    "--reconnect-delay-max-ms",
    "300",
    "--connect-timeout-ms",
    "1000",
];

fn flags<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    FAST_RETRY
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect()
}

/// Starts an agent with fast retries (plus `flags`) and waits until it is connected.
async fn connected(server: &OriginalServer, tag: &str, flags: &[&str]) -> Result<(Agent, String)> {
    let client_id = unique_marker(tag);
    let mut agent = Agent::start_with(&server.url(), &client_id, RAW_QUEUE, flags).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    Ok((agent, client_id))
}

async fn stop(server: OriginalServer) -> Result<()> {
    let mut process = server.process;
    process.child.kill().await?;
    Ok(())
}

#[tokio::test]
async fn server_restarted_within_the_attempts_is_rejoined_and_prints_once() -> Result<()> {
    let server = OriginalServer::start(2_000, 1_000).await?;
    let port = server.port;
    let (mut agent, client_id) =
        connected(&server, "restart", &flags(&["--reconnect-attempts", "20"])).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;

    stop(server).await?;
    agent.wait_for_state("reconnecting", LIMIT).await?;
    let server = OriginalServer::start_with(port, 2_000, 1_000, &[]).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    // A fresh server knows only clients that registered with it: proves re-registration.
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;

    // The event stream has each transition once, from the first attempt on.
    let states: Vec<&str> = agent
        .seen
        .iter()
        .filter(|e| e["type"] == "connection")
        .filter_map(|e| e["payload"]["state"].as_str())
        .collect();
    assert_eq!(states.first(), Some(&"connecting"), "{states:?}");
    let reconnected = states.iter().rposition(|s| *s == "reconnecting");
    assert_eq!(
        &states[..2],
        ["connecting", "connected"],
        "no idle, no repeated connecting: {states:?}"
    );
    assert!(
        reconnected.is_some_and(|i| states[i + 1..] == ["connected"]),
        "{states:?}"
    );
    assert!(
        states
            .windows(2)
            .all(|w| w[0] != w[1] || w[0] == "reconnecting"),
        "{states:?}"
    );

    let text = unique_marker("after restart");
    let answer = server.start_print(&client_id, &text).await?;
    assert_eq!(answer["message"], START_PRINT_ACCEPTED, "{answer}");
    agent.wait_for_job("completed", LIMIT).await?;
    wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    agent.settle(LIMIT).await?;
    assert_eq!(count_printed(RAW_QUEUE, text.as_bytes()), 1);
    Ok(())
}

#[tokio::test]
async fn gives_up_after_exactly_n_attempts_and_reconnects_on_request() -> Result<()> {
    let server = OriginalServer::start(2_000, 1_000).await?;
    let port = server.port;
    let (mut agent, client_id) = connected(
        &server,
        "giveup",
        &flags(&["--reconnect-attempts", "3", "--background-retry-ms", "0"]),
    )
    .await?;
    let seen_before = agent.seen.len();

    stop(server).await?;
    let gave_up = agent.wait_for_state("gaveUp", LIMIT).await?;
    assert_eq!(gave_up["payload"]["attempts"], 3, "{gave_up}");
    assert!(
        gave_up["payload"]["lastError"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{gave_up}"
    );
    let attempts: Vec<u64> = agent.seen[seen_before..]
        .iter()
        .filter(|e| e["type"] == "connection" && e["payload"]["state"] == "reconnecting")
        .filter_map(|e| e["payload"]["attempt"].as_u64())
        .collect();
    assert_eq!(attempts, [1, 2, 3], "one reconnecting state per attempt");

    // Nothing happens by itself after giving up...
    let quiet = agent
        .wait_for(Duration::from_millis(1_500), "any connection change", |e| {
            e["type"] == "connection"
        })
        .await;
    assert!(
        quiet.is_err(),
        "no automatic attempt after gaveUp: {quiet:?}"
    );

    // ...until the user asks (SIGHUP is the headless agent's Reconnect button).
    let server = OriginalServer::start_with(port, 2_000, 1_000, &[]).await?;
    agent.process.signal("HUP")?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    Ok(())
}

/// A server update takes longer than the attempts last: an unattended agent shows
/// `gaveUp` with the time of its next background attempt and reconnects by itself once
/// the server is back; one with background retry off stays `gaveUp`.
#[tokio::test]
async fn after_giving_up_an_unattended_agent_comes_back_when_the_server_does() -> Result<()> {
    let server = OriginalServer::start(2_000, 1_000).await?;
    let port = server.port;
    let retry = ["--reconnect-attempts", "2", "--background-retry-ms", "1000"];
    let (mut unattended, client_id) = connected(&server, "unattended", &flags(&retry)).await?;
    let off = ["--reconnect-attempts", "2", "--background-retry-ms", "0"];
    let (mut manual, _) = connected(&server, "manual", &flags(&off)).await?;

    stop(server).await?;
    let gave_up = unattended.wait_for_state("gaveUp", LIMIT).await?;
    assert!(gave_up["payload"]["retryAt"].is_u64(), "{gave_up}");
    let stays = manual.wait_for_state("gaveUp", LIMIT).await?;
    assert!(stays["payload"]["retryAt"].is_null(), "{stays}");
    // Down for longer than one background period: a background attempt fails too.
    let failed = unattended.wait_for_state("gaveUp", LIMIT).await?;
    assert!(failed["payload"]["retryAt"].as_u64() > gave_up["payload"]["retryAt"].as_u64());

    let server = OriginalServer::start_with(port, 2_000, 1_000, &[]).await?;
    unattended.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let quiet = manual
        .wait_for(Duration::from_secs(3), "any connection change", |e| {
            e["type"] == "connection"
        })
        .await;
    assert!(
        quiet.is_err(),
        "background retry off: no attempt: {quiet:?}"
    );
    Ok(())
}

#[tokio::test]
async fn frozen_server_is_detected_within_the_heartbeat_bound_and_attempts_time_out() -> Result<()>
{
    let (interval, timeout) = (500, 500);
    let server = OriginalServer::start(interval, timeout).await?;
    let (mut agent, _client_id) =
        connected(&server, "frozen", &flags(&["--reconnect-attempts", "50"])).await?;
    let heartbeat = agent.wait_for_heartbeat(LIMIT).await?;
    assert_eq!(heartbeat["payload"]["pingIntervalMs"], interval);
    assert_eq!(heartbeat["payload"]["pingTimeoutMs"], timeout);

    server.process.signal("STOP")?;
    let lost = agent.wait_for_state("reconnecting", LIMIT).await?;
    // Timed by the agent's own stamps, not by when this test read the lines: the last
    // ping before the freeze set the deadline, and the first retry is due one retry
    // delay (at most 300 ms here) after the agent declared the connection dead.
    let last_beat = agent
        .seen
        .iter()
        .rev()
        .find(|e| e["type"] == "heartbeat" && e["payload"]["deadAt"].is_u64())
        .ok_or_else(|| anyhow::anyhow!("no heartbeat with a deadline"))?;
    let (ping_at, dead_at) = (
        last_beat["payload"]["lastPingAt"]
            .as_u64()
            .unwrap_or_default(),
        last_beat["payload"]["deadAt"].as_u64().unwrap_or_default(),
    );
    assert_eq!(
        dead_at - ping_at,
        interval + timeout,
        "the bound: {last_beat}"
    );
    let retry_at = lost["payload"]["retryAt"].as_u64().unwrap_or_default();
    // Scheduling slack on a loaded machine, on top of the longest first retry delay.
    let slack = 700;
    assert!(
        (dead_at..=dead_at + 300 + slack).contains(&retry_at),
        "declared dead {} ms after the deadline (retry at {retry_at}, deadline {dead_at})",
        retry_at as i64 - dead_at as i64
    );
    assert!(
        lost["payload"]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("heartbeat")),
        "{lost}"
    );

    // The kernel still accepts TCP for the stopped process: attempts must end by timeout.
    agent
        .wait_for(LIMIT, "an attempt that timed out", |e| {
            e["payload"]["state"] == "reconnecting"
                && e["payload"]["lastError"]
                    .as_str()
                    .is_some_and(|m| m.contains("no answer within"))
        })
        .await?;

    server.process.signal("CONT")?;
    agent.wait_for_state("connected", LIMIT).await?;
    Ok(())
}

#[tokio::test]
async fn a_kick_is_not_reconnected_automatically() -> Result<()> {
    let server = OriginalServer::start(2_000, 1_000).await?;
    let (mut agent, client_id) = connected(&server, "kick", &flags(&[])).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;

    let answer = server.kick(&client_id).await?;
    assert_eq!(answer["kicked"], true, "{answer}");
    let kicked = agent.wait_for_state("kicked", LIMIT).await?;
    assert_eq!(kicked["payload"]["reason"], "io server disconnect");
    let quiet = agent
        .wait_for(Duration::from_millis(1_500), "any connection change", |e| {
            e["type"] == "connection"
        })
        .await;
    assert!(
        quiet.is_err(),
        "a kicked agent must not reconnect by itself: {quiet:?}"
    );

    agent.process.signal("HUP")?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    Ok(())
}

#[tokio::test]
async fn two_hundred_reconnect_cycles_leave_one_connection_and_print_once() -> Result<()> {
    let server = OriginalServer::start(2_000, 1_000).await?;
    let (mut agent, client_id) = connected(&server, "cycles", &flags(&[])).await?;

    for _ in 0..20 {
        agent.process.signal("HUP")?;
        agent.wait_for_state("connected", LIMIT).await?;
    }
    let (rss_warm, threads_warm) = agent.rss_kib_and_threads()?;
    for _ in 0..200 {
        agent.process.signal("HUP")?;
        agent.wait_for_state("connected", LIMIT).await?;
    }
    let (rss_after, threads_after) = agent.rss_kib_and_threads()?;
    println!("agent after 20 cycles: {rss_warm} KiB, {threads_warm} threads; after 220: {rss_after} KiB, {threads_after} threads");
    assert!(
        rss_after <= rss_warm + 4_096,
        "memory grew from {rss_warm} KiB to {rss_after} KiB"
    );
    assert!(
        threads_after <= threads_warm + 2,
        "threads grew from {threads_warm} to {threads_after}"
    );

    // The server sees old sockets close asynchronously; wait until it settles at one.
    let deadline = Instant::now() + LIMIT;
    loop {
        let stats = server.stats().await?;
        if stats["sockets"] == 1 && stats["engineClients"] == 1 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "server still holds {stats} connections"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let text = unique_marker("after cycles");
    server.start_print(&client_id, &text).await?;
    agent.wait_for_job("completed", LIMIT).await?;
    wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    agent.settle(LIMIT).await?;
    assert_eq!(count_printed(RAW_QUEUE, text.as_bytes()), 1);
    let received: Vec<&Value> = agent
        .seen
        .iter()
        .filter(|e| e["type"] == "job" && e["payload"]["state"] == "received")
        .collect();
    assert_eq!(
        received.len(),
        1,
        "one job, not one per past connection: {received:?}"
    );
    Ok(())
}

#[tokio::test]
async fn rtt_is_measured_where_the_server_acks_heartbeats() -> Result<()> {
    for server_flags in [
        &["--ack-heartbeat"][..],
        &["--ack-heartbeat", "--ack-with-buffer"],
    ] {
        rtt_measured_with(server_flags).await?;
    }
    Ok(())
}

/// The RTT is measured against a server started with `server_flags`; with
/// `--ack-with-buffer` its answer holds a Buffer (a binary ack).
async fn rtt_measured_with(server_flags: &[&str]) -> Result<()> {
    let server = OriginalServer::start_with(0, 300, 300, server_flags).await?;
    let (mut agent, _client_id) = connected(&server, "rtt", &flags(&[])).await?;
    let with_rtt = agent
        .wait_for(LIMIT, "a heartbeat with RTT", |e| {
            e["type"] == "heartbeat" && e["payload"]["rttMs"].is_u64()
        })
        .await?;
    assert!(
        with_rtt["payload"]["rttMs"]
            .as_u64()
            .is_some_and(|ms| ms < 1_000),
        "{with_rtt}"
    );
    Ok(())
}

/// Runs openssl with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) -> Result<()> {
    let made = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()?;
    ensure!(
        made.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    Ok(())
}

/// A company's own CA (`ca.pem`) and a server certificate it signed for 127.0.0.1
/// (`server.pem`, `server-key.pem`), in `dir`.
fn private_ca(dir: &std::path::Path) -> Result<()> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=PrintRelay test CA",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server-key.pem",
            "-out",
            "server.csr",
        ],
    )?;
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n")?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    )
}

/// A server whose certificate a company's own CA signed is refused, with the reason
/// named (an untrusted certificate, not a server that cannot be reached), until the
/// agent trusts that CA: with it in `SSL_CERT_FILE` (the system bundle's stand-in on
/// Linux) or in the `caFile` setting the agent connects.
#[tokio::test]
async fn a_private_ca_is_refused_by_name_until_the_system_trusts_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    private_ca(dir.path())?;
    let (cert, key) = (
        dir.path().join("server.pem"),
        dir.path().join("server-key.pem"),
    );
    let (cert, key) = (cert.to_string_lossy(), key.to_string_lossy());
    let server = OriginalServer::start_with(
        0,
        2_000,
        1_000,
        &["--tls-cert", cert.as_ref(), "--tls-key", key.as_ref()],
    )
    .await?;
    let url = server.url().replace("http://", "https://");
    let mut agent = Agent::start_with(
        &url,
        &unique_marker("tls"),
        RAW_QUEUE,
        &flags(&["--reconnect-attempts", "1", "--background-retry-ms", "0"]),
    )
    .await?;
    let gave_up = agent.wait_for_state("gaveUp", LIMIT).await?;
    assert_eq!(
        gave_up["payload"]["problem"], "certificate_untrusted",
        "{gave_up}"
    );
    let error = gave_up["payload"]["lastError"].as_str().unwrap_or_default();
    // Named by its issuer: what IT checks first.
    assert!(
        error.contains("certificate not trusted: issued by PrintRelay test CA"),
        "{gave_up}"
    );

    let client_id = unique_marker("tls-trusted");
    let ca = dir.path().join("ca.pem");
    // Its folders live as long as the test: the agent writes there while it runs.
    let home = AgentHome::new()?;
    let mut trusted = Agent::start_in_env(
        &home,
        &url,
        &client_id,
        RAW_QUEUE,
        &[],
        &[("SSL_CERT_FILE", ca.as_os_str())],
    )
    .await?;
    // Connected: the TLS handshake and the namespace's CONNECT went through.
    trusted.wait_for_state("connected", LIMIT).await?;

    let ca = ca.to_string_lossy();
    let mut by_setting = Agent::start_with(
        &url,
        &unique_marker("tls-ca-file"),
        RAW_QUEUE,
        &["--ca-file", ca.as_ref()],
    )
    .await?;
    by_setting.wait_for_state("connected", LIMIT).await?;
    Ok(())
}

#[tokio::test]
async fn a_refused_token_is_shown_as_such_and_retried_with_backoff() -> Result<()> {
    let server = OriginalServer::start_with(0, 2_000, 1_000, &["--token", "right"]).await?;
    let client_id = unique_marker("token");
    let mut agent = Agent::start_with(
        &server.url(),
        &client_id,
        RAW_QUEUE,
        &flags(&["--reconnect-attempts", "3", "--token", "wrong"]),
    )
    .await?;
    let gave_up = agent.wait_for_state("gaveUp", LIMIT).await?;
    let error = gave_up["payload"]["lastError"].as_str().unwrap_or_default();
    assert!(
        error.contains("refused") && error.contains("invalid token"),
        "{gave_up}"
    );
    // The code the window puts into words ("The server refused the token...").
    assert_eq!(gave_up["payload"]["problem"], "token_refused", "{gave_up}");
    let retries: Vec<&Value> = agent
        .seen
        .iter()
        .filter(|e| e["payload"]["state"] == "reconnecting")
        .collect();
    assert_eq!(
        retries.len(),
        2,
        "attempts 2 and 3 wait a backoff first: {retries:?}"
    );
    assert!(server.client_status(&client_id).await?.is_none());

    let mut agent = Agent::start_with(
        &server.url(),
        &client_id,
        RAW_QUEUE,
        &flags(&["--token", "right"]),
    )
    .await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    Ok(())
}

/// An office where the way out is an HTTP proxy: the agent finds it in `HTTP_PROXY`
/// (as set for the whole PC), tunnels to a server whose name only the proxy can
/// resolve, and prints what the server sends; with the `proxy` setting naming a proxy
/// that wants a password, the right one gets through and a wrong one is shown as the
/// proxy's refusal, not as a server that cannot be reached.
#[tokio::test]
async fn the_way_out_through_an_http_proxy_is_taken_and_a_refusal_named() -> Result<()> {
    let server = OriginalServer::start(10_000, 5_000).await?;
    // Only the proxy knows this name (it sends every tunnel to 127.0.0.1): connecting
    // at all proves the agent went through it.
    let url = format!("http://print-hub.test:{}", server.port);

    let proxy = ConnectProxy::start().await?;
    let client_id = unique_marker("proxy-env");
    let home = AgentHome::new()?;
    let proxy_url = proxy.url();
    let mut agent = Agent::start_in_env(
        &home,
        &url,
        &client_id,
        RAW_QUEUE,
        &[],
        &[("HTTP_PROXY", std::ffi::OsStr::new(&proxy_url))],
    )
    .await?;
    agent.wait_for_state("connected", LIMIT).await?;
    assert_eq!(
        proxy.tunnels(),
        [format!("print-hub.test:{}", server.port)],
        "one tunnel, to the server's name and port"
    );
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let text = unique_marker("Through the proxy");
    let answer = server.start_print(&client_id, &text).await?;
    assert_eq!(answer["message"], START_PRINT_ACCEPTED, "{answer}");
    let printed = wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    assert_eq!(printed, text.as_bytes());

    let guarded = ConnectProxy::start_with_credentials("office", "pa ss:word").await?;
    let with_password = guarded.url();
    let mut allowed = Agent::start_with(
        &url,
        &unique_marker("proxy-auth"),
        RAW_QUEUE,
        &["--proxy", with_password.as_str()],
    )
    .await?;
    allowed.wait_for_state("connected", LIMIT).await?;

    let wrong = with_password.replacen("office", "visitor", 1);
    let mut refused = Agent::start_with(
        &url,
        &unique_marker("proxy-refused"),
        RAW_QUEUE,
        &flags(&["--reconnect-attempts", "1", "--proxy", wrong.as_str()]),
    )
    .await?;
    let gave_up = refused.wait_for_state("gaveUp", LIMIT).await?;
    assert_eq!(gave_up["payload"]["problem"], "proxy_failed", "{gave_up}");
    let error = gave_up["payload"]["lastError"].as_str().unwrap_or_default();
    assert!(
        !error.contains("pa ss"),
        "the password never shows: {error}"
    );
    Ok(())
}

/// A network that lets no websocket through (the server takes long-polling only): the
/// agent falls back to long-polling, says so, heartbeats, prints text and a Buffer byte
/// for byte, and still finds a frozen server within pingInterval + pingTimeout.
#[tokio::test]
async fn where_websockets_are_refused_long_polling_carries_heartbeat_jobs_and_freeze_detection(
) -> Result<()> {
    let (interval, timeout) = (1_000, 1_000);
    let server =
        OriginalServer::start_with(0, interval, timeout, &["--transports", "polling"]).await?;
    let (mut agent, client_id) =
        connected(&server, "polling", &flags(&["--reconnect-attempts", "50"])).await?;
    let state = agent
        .seen
        .iter()
        .rev()
        .find(|e| e["payload"]["state"] == "connected")
        .cloned()
        .unwrap_or_default();
    assert_eq!(state["payload"]["transport"], "polling", "{state}");
    let since = state["payload"]["since"].as_u64().unwrap_or_default();
    // A PING that came over a poll, after the handshake.
    agent
        .wait_for(LIMIT, "a heartbeat over long-polling", |e| {
            e["type"] == "heartbeat"
                && e["payload"]["lastPingAt"]
                    .as_u64()
                    .is_some_and(|at| at >= since + interval / 2)
        })
        .await?;

    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    let text = unique_marker("Over long-polling");
    let answer = server.start_print(&client_id, &text).await?;
    assert_eq!(answer["message"], START_PRINT_ACCEPTED, "{answer}");
    let printed = wait_for_printed(RAW_QUEUE, text.as_bytes(), LIMIT).await?;
    assert_eq!(printed, text.as_bytes());
    let mut bytes = unique_marker("polling-buffer").into_bytes();
    bytes.extend(0..=255u8);
    let job_id = format!("{client_id}-buffer");
    server
        .emit_binary_job(&client_id, &job_id, &bytes, None)
        .await?;
    let printed = wait_for_printed(RAW_QUEUE, &bytes, LIMIT).await?;
    assert_eq!(printed, bytes, "a Buffer over polling prints byte for byte");

    server.process.signal("STOP")?;
    let lost = agent.wait_for_state("reconnecting", LIMIT).await?;
    let last_beat = agent
        .seen
        .iter()
        .rev()
        .find(|e| e["type"] == "heartbeat" && e["payload"]["deadAt"].is_u64())
        .ok_or_else(|| anyhow::anyhow!("no heartbeat with a deadline"))?;
    let dead_at = last_beat["payload"]["deadAt"].as_u64().unwrap_or_default();
    let ping_at = last_beat["payload"]["lastPingAt"]
        .as_u64()
        .unwrap_or_default();
    assert_eq!(dead_at - ping_at, interval + timeout, "{last_beat}");
    // Declared dead at the deadline; the first retry is one delay (at most 300 ms)
    // later, and the machine may be loaded: within the bound + 1 s.
    let retry_at = lost["payload"]["retryAt"].as_u64().unwrap_or_default();
    assert!(
        (dead_at..=dead_at + 1_000).contains(&retry_at),
        "declared dead {} ms after the deadline",
        retry_at as i64 - dead_at as i64
    );
    server.process.signal("CONT")?;
    Ok(())
}

/// The agent's own binary emits (a Buffer for the server's handler) reach a socket.io 4
/// server byte for byte, over a websocket and over long-polling alike.
#[tokio::test]
async fn a_binary_emit_reaches_the_server_as_a_buffer_over_both_transports() -> Result<()> {
    use printrelay_agent::connection::{self, placeholder, ConnectionConfig, ReconnectPolicy};
    for transports in ["polling,websocket", "polling"] {
        let server =
            OriginalServer::start_with(0, 10_000, 5_000, &["--transports", transports]).await?;
        let config = ConnectionConfig {
            servers: vec![server.url().parse()?],
            socket_path: connection::DEFAULT_SOCKET_PATH.into(),
            ca_file: None,
            proxy: printrelay_agent::proxy::ProxySetting::None,
            client_id: unique_marker("binary-emit"),
            token: None,
            policy: ReconnectPolicy::default(),
            max_frame_bytes: connection::frame_cap(1 << 20),
        };
        let info = printrelay_agent::protocol::ClientInfo {
            client_id: config.client_id.clone(),
            protocol: printrelay_agent::protocol::PROTOCOL_VERSION,
            app: printrelay_agent::protocol::AppInfo {
                name: "test".into(),
                version: "0".into(),
            },
            host: printrelay_agent::protocol::HostInfo {
                hostname: "test".into(),
                os: "linux".into(),
                arch: "x86_64".into(),
            },
            printers: Vec::new(),
            selected_printer: None,
        };
        let (handle, _events) = connection::spawn(config, &info);
        let mut state = handle.watch_state();
        tokio::time::timeout(LIMIT, state.wait_for(|s| s.is_connected())).await??;
        let bytes: Vec<u8> = (0..=255u8).collect();
        handle
            .emit_binary(
                "upload",
                serde_json::json!({"name": transports, "file": placeholder(0)}),
                vec![bytes.clone()],
            )
            .await?;
        let deadline = Instant::now() + LIMIT;
        let upload = loop {
            let uploads = server.uploads().await?;
            if let Some(upload) = uploads.into_iter().find(|u| u["name"] == transports) {
                break upload;
            }
            ensure!(Instant::now() < deadline, "no upload over {transports}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let received: Vec<u8> = upload["bytes"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|x| x.as_u64())
                    .map(|x| x as u8)
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(received, bytes, "over {transports}: {upload}");
        handle.shutdown().await;
    }
    Ok(())
}
