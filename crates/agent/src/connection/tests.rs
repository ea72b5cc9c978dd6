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
    }
}

fn config(url: Option<Url>, attempts: u32) -> ConnectionConfig {
    ConnectionConfig {
        server_url: url,
        client_id: "pc-1".into(),
        token: None,
        policy: policy(attempts),
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

#[tokio::test(start_paused = true)]
async fn gives_up_after_exactly_the_configured_attempts() {
    let url = refused_url().await;
    let started = tokio::time::Instant::now();
    let (handle, _events) = spawn(config(Some(url), 4), json!({}));
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
        ConnectionState::GaveUp { last_error, .. } => {
            assert!(last_error.contains("cannot reach"), "{last_error}")
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
    let (handle, _events) = spawn(config(Some(url), 2), json!({}));
    let mut state = handle.watch_state();
    let seen = states_until(&mut state, |s| matches!(s, ConnectionState::GaveUp { .. })).await;
    match seen.last() {
        Some(ConnectionState::GaveUp {
            attempts: 2,
            last_error,
        }) => {
            assert_eq!(last_error, "no answer within 2000 ms");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn changing_the_server_reconnects_at_once_and_policy_changes_do_not() {
    let first = refused_url().await;
    let (handle, _events) = spawn(config(Some(first.clone()), 1), json!({}));
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
    let (handle, _events) = spawn(config(None, 5), json!({}));
    tokio::task::yield_now().await;
    assert_eq!(handle.state(), ConnectionState::Idle);
    assert_eq!(
        handle.emit("job_status", json!({})).await,
        Err(EmitError::NotConnected)
    );
    handle.reconnect().await;
    assert_eq!(handle.state(), ConnectionState::Idle);
    handle.shutdown().await;
    let mut state = handle.watch_state();
    if handle.state() != ConnectionState::Stopped {
        states_until(&mut state, |s| *s == ConnectionState::Stopped).await;
    }
    assert_eq!(
        handle.emit("job_status", json!({})).await,
        Err(EmitError::SupervisorGone)
    );
}
