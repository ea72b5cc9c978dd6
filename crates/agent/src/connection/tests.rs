//! State-machine tests of the supervisor on a paused clock, against local sockets that
//! refuse or never answer (the real servers are exercised in tests/).

use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use url::Url;

use super::*;

fn policy(attempts: u32) -> ReconnectPolicy {
    ReconnectPolicy {
        attempts,
        delay_ms: 1_000,
        delay_max_ms: 5_000,
        connect_timeout_ms: 2_000,
        background_retry_ms: 0,
    }
}

fn config(url: Option<Url>, attempts: u32) -> ConnectionConfig {
    ConnectionConfig {
        servers: url.into_iter().collect(),
        socket_path: DEFAULT_SOCKET_PATH.into(),
        ca_file: None,
        proxy: crate::proxy::ProxySetting::None,
        client_id: "pc-1".into(),
        token: None,
        policy: policy(attempts),
        max_frame_bytes: super::session::frame_cap(crate::protocol::DEFAULT_MAX_JOB_BYTES),
    }
}

/// A loopback URL where nothing listens: every connect is refused at once.
async fn refused_url() -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    Url::parse(&format!("http://127.0.0.1:{port}")).expect("url")
}

/// Collects every state published from now on, until `done` matches one.
async fn states_until(
    watch: &mut watch::Receiver<ConnectionState>,
    done: impl Fn(&ConnectionState) -> bool,
) -> Vec<ConnectionState> {
    let mut seen = Vec::new();
    loop {
        watch.changed().await.expect("supervisor alive");
        let state = watch.borrow_and_update().clone();
        let finished = done(&state);
        seen.push(state);
        if finished {
            return seen;
        }
    }
}

fn summary(states: &[ConnectionState]) -> Vec<String> {
    states
        .iter()
        .map(|s| match s {
            ConnectionState::Connecting { attempt, .. } => format!("connecting {attempt}"),
            ConnectionState::Reconnecting { attempt, .. } => format!("reconnecting {attempt}"),
            ConnectionState::GaveUp { attempts, .. } => format!("gaveUp {attempts}"),
            other => format!("{other:?}"),
        })
        .collect()
}

/// A `client_info` for tests that do not read it.
fn client_info() -> ClientInfo {
    ClientInfo {
        client_id: "pc-test".into(),
        protocol: crate::protocol::PROTOCOL_VERSION,
        app: crate::protocol::AppInfo {
            name: "test".into(),
            version: "0".into(),
        },
        host: crate::protocol::HostInfo {
            hostname: "test".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
        },
        printers: Vec::new(),
        selected_printer: None,
    }
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_exactly_the_configured_attempts() {
    let url = refused_url().await;
    let started = tokio::time::Instant::now();
    let (handle, _events) = spawn(config(Some(url), 4), &client_info());
    let mut state = handle.watch_state();
    let seen = states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    assert_eq!(
        summary(&seen),
        [
            "connecting 1",
            "reconnecting 2",
            "reconnecting 3",
            "reconnecting 4",
            "gaveUp 4"
        ]
    );
    // Three waits, each at most delayMax.
    assert!(started.elapsed() <= Duration::from_millis(3 * 5_000));
    assert!(started.elapsed() >= Duration::from_millis(500 + 1_000 + 2_000));
    match handle.state() {
        ConnectionState::GaveUp {
            last_error,
            problem,
            ..
        } => {
            assert!(last_error.contains("cannot reach"), "{last_error}");
            // A refused connection is "nothing answers there", in words for the UI.
            assert_eq!(problem, Problem::ServerUnreachable);
        }
        other => panic!("unexpected {other:?}"),
    }

    // Nothing more happens by itself...
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(matches!(handle.state(), ConnectionState::GaveUp { .. }));
    // ...until a manual reconnect starts a fresh round.
    handle.reconnect().await;
    let seen = states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    assert_eq!(summary(&seen)[0], "connecting 1");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_fails_the_attempt_by_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = Url::parse(&format!("http://{}", listener.local_addr().expect("addr"))).expect("url");
    // Accept connections and hold them without a word, like a frozen server.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let (handle, _events) = spawn(config(Some(url), 2), &client_info());
    let mut state = handle.watch_state();
    let seen = states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    match seen.last() {
        Some(ConnectionState::GaveUp {
            attempts: 2,
            last_error,
            problem,
            retry_at: None,
        }) => {
            assert_eq!(last_error, "no answer within 2000 ms");
            assert_eq!(*problem, Problem::Timeout);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn changing_the_server_reconnects_at_once_and_policy_changes_do_not() {
    let first = refused_url().await;
    let (handle, _events) = spawn(config(Some(first.clone()), 1), &client_info());
    let mut state = handle.watch_state();
    states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;

    // Same server, other policy: stays where it is.
    handle.configure(config(Some(first), 3)).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(matches!(
        handle.state(),
        ConnectionState::GaveUp { attempts: 1, .. }
    ));

    // Another server: a new round starts at once, with the new policy.
    handle.configure(config(Some(refused_url().await), 3)).await;
    let seen = states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    assert_eq!(
        summary(&seen),
        [
            "connecting 1",
            "reconnecting 2",
            "reconnecting 3",
            "gaveUp 3"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_server_it_stays_idle_and_emits_fail_cleanly() {
    let (handle, _events) = spawn(config(None, 5), &client_info());
    // The transitions reader sees every state the supervisor publishes, so each
    // command's effect is awaited rather than read before it happened.
    let mut transitions = handle
        .take_transitions()
        .expect("the first taker gets them");
    assert_eq!(transitions.recv().await, Some(ConnectionState::Idle));
    assert_eq!(
        handle.emit("job_status", json!({})).await,
        Err(EmitError::NotConnected)
    );
    // Reconnect without a server starts no attempt: the next state is idle again.
    handle.reconnect().await;
    assert_eq!(transitions.recv().await, Some(ConnectionState::Idle));
    handle.shutdown().await;
    assert_eq!(transitions.recv().await, Some(ConnectionState::Stopped));
    assert_eq!(transitions.recv().await, None, "nothing after stopped");
    assert_eq!(
        handle.emit("job_status", json!({})).await,
        Err(EmitError::SupervisorGone)
    );
}

/// After giving up, one attempt every `backgroundRetryMs`, staying `gaveUp` with the time
/// of the next one; with 0, nothing more happens until Reconnect.
#[tokio::test(start_paused = true)]
async fn after_giving_up_it_tries_in_the_background_unless_turned_off() {
    let mut settings = config(Some(refused_url().await), 1);
    settings.policy.background_retry_ms = 30_000;
    let (handle, _events) = spawn(settings.clone(), &client_info());
    let mut state = handle.watch_state();
    let first = states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    let Some(ConnectionState::GaveUp {
        retry_at: Some(first_retry),
        ..
    }) = first.last().cloned()
    else {
        panic!("no background retry announced: {first:?}");
    };
    let started = tokio::time::Instant::now();
    let again = states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    assert_eq!(
        summary(&again),
        ["gaveUp 1"],
        "no new round, one quiet attempt"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    match again.last() {
        Some(ConnectionState::GaveUp {
            retry_at: Some(next),
            ..
        }) => assert!(*next >= first_retry, "{next} < {first_retry}"),
        other => panic!("unexpected {other:?}"),
    }

    settings.policy.background_retry_ms = 0;
    handle.configure(settings).await;
    // The change applies at the next wait: one more attempt, then none.
    let parked = states_until(&mut state, |s| {
        matches!(s, ConnectionState::GaveUp { retry_at: None, .. })
    })
    .await;
    assert_eq!(summary(&parked), ["gaveUp 1"]);
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(!state.has_changed().unwrap_or(true), "it stays gaveUp");
}

/// A nudge (network back, woke from sleep) tries at once instead of at the next
/// scheduled attempt; a kicked or stopped connection ignores it.
#[tokio::test(start_paused = true)]
async fn a_nudge_retries_at_once_while_waiting_to_retry() {
    let mut settings = config(Some(refused_url().await), 1);
    settings.policy.background_retry_ms = 3_600_000;
    let (handle, _events) = spawn(settings, &client_info());
    let mut state = handle.watch_state();
    states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    let started = tokio::time::Instant::now();
    handle.nudge().await;
    let again = states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    assert_eq!(summary(&again), ["gaveUp 1"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    handle.disconnect().await;
    states_until(&mut state, |s| *s == ConnectionState::Stopped).await;
    handle.nudge().await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(handle.state(), ConnectionState::Stopped);
}

/// Every state the supervisor publishes reaches the transitions reader, in order, even
/// when the watch has long moved on (a reader that looked only now would see `gaveUp`).
#[tokio::test(start_paused = true)]
async fn every_transition_is_kept_in_order_for_its_reader() {
    let (handle, _events) = spawn(config(Some(refused_url().await), 3), &client_info());
    let mut state = handle.watch_state();
    states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    let mut transitions = handle
        .take_transitions()
        .expect("the first taker gets them");
    assert!(handle.take_transitions().is_none(), "one reader");
    let mut seen = Vec::new();
    while let Ok(state) = transitions.try_recv() {
        seen.push(state);
    }
    assert_eq!(
        summary(&seen),
        [
            "connecting 1",
            "reconnecting 2",
            "reconnecting 3",
            "gaveUp 3"
        ]
    );
}

/// Several servers (hub nodes): a round tries them in the order given, then round-robin,
/// one per attempt, and a fresh round starts again at the first.
#[tokio::test(start_paused = true)]
async fn several_servers_are_tried_in_order_then_round_robin() {
    let (accepted, mut order) = tokio::sync::mpsc::unbounded_channel();
    let mut servers = Vec::new();
    for index in 0..3 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        servers.push(Url::parse(&format!("http://127.0.0.1:{port}")).expect("url"));
        let accepted = accepted.clone();
        // Takes the connection and closes it: the attempt fails at once.
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = accepted.send(index);
                drop(stream);
            }
        });
    }
    let config = ConnectionConfig {
        servers,
        ..config(None, 5)
    };
    let (handle, _events) = spawn(config, &client_info());
    let mut state = handle.watch_state();
    states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    let mut seen = Vec::new();
    while let Ok(index) = order.try_recv() {
        seen.push(index);
    }
    // An attempt may knock twice (websocket, then long-polling) on the same server.
    seen.dedup();
    assert_eq!(seen, [0, 1, 2, 0, 1]);
    handle.reconnect().await;
    states_until(&mut state, |s| {
        matches!(s, ConnectionState::Connecting { .. })
    })
    .await;
    assert_eq!(
        order.recv().await,
        Some(0),
        "a fresh round starts at the first"
    );
}
