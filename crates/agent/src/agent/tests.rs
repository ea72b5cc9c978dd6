//! Tests of `agent`.

use super::*;
use crate::printing::FakeBackend;

fn settings(server_url: &str) -> Settings {
    Settings {
        server_url: server_url.into(),
        client_id: "pc-1".into(),
        ..Settings::default()
    }
}

#[tokio::test(start_paused = true)]
async fn new_settings_apply_at_once_and_bad_ones_change_nothing() {
    let store = Store::in_memory().expect("store");
    let agent = Agent::start(
        settings(""),
        Arc::new(FakeBackend::with_printer("P")),
        store,
    )
    .await
    .expect("start");
    let mut state = agent.connection().watch_state();
    assert_eq!(agent.connection().state(), ConnectionState::Idle);

    let bad = settings("not a url");
    assert!(matches!(
        agent.update_settings(bad).await,
        Err(SettingsError::ServerUrl(_))
    ));
    assert_eq!(agent.snapshot().await.settings.server_url, "");

    // Port 9 (discard) on loopback refuses: the point is that an attempt starts.
    agent
        .update_settings(settings("http://127.0.0.1:9"))
        .await
        .expect("valid");
    let started = state
        .wait_for(|s| !matches!(s, ConnectionState::Idle))
        .await
        .map(|s| s.clone());
    assert!(
        matches!(started, Ok(ConnectionState::Connecting { attempt: 1, .. })),
        "a connect round started: {started:?}"
    );
    assert_eq!(
        agent.snapshot().await.settings.server_url,
        "http://127.0.0.1:9"
    );
}

mod pipeline_tests {
    use super::*;
    use crate::printing::FakeBackend;
    use crate::protocol::JobState;

    async fn agent_with(backend: Arc<FakeBackend>) -> Agent {
        let settings = Settings {
            server_url: String::new(),
            client_id: "pc-1".into(),
            ..Settings::default()
        };
        Agent::start(settings, backend, Store::in_memory().expect("store"))
            .await
            .expect("start")
    }

    /// Longest wait for one job state (virtual time on a paused clock).
    const STATE_BOUND: std::time::Duration = std::time::Duration::from_secs(60);

    async fn until_state(
        events: &mut broadcast::Receiver<AgentEvent>,
        job_id: &str,
        state: JobState,
    ) -> JobRecord {
        until_state_within(events, job_id, state, STATE_BOUND).await
    }

    /// Waits for `job_id` to reach `state`. Fails the test after `bound`, when the
    /// events end, or when the receiver lagged: the awaited event may be among the
    /// lost ones, and waiting on would only hang.
    async fn until_state_within(
        events: &mut broadcast::Receiver<AgentEvent>,
        job_id: &str,
        state: JobState,
        bound: std::time::Duration,
    ) -> JobRecord {
        let wait = async {
            loop {
                match events.recv().await {
                    Ok(AgentEvent::Job(job)) if job.job_id == job_id && job.state == state => {
                        return job;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(missed)) => panic!(
                        "missed {missed} agent events while waiting for {job_id} to be {state:?}"
                    ),
                    Err(broadcast::error::RecvError::Closed) => {
                        panic!("the agent's events ended before {job_id} was {state:?}")
                    }
                }
            }
        };
        tokio::time::timeout(bound, wait)
            .await
            .unwrap_or_else(|_| panic!("{job_id} was not {state:?} within {bound:?}"))
    }

    #[tokio::test]
    async fn paused_jobs_are_stored_then_printed_on_resume_and_can_be_cancelled() {
        let backend = Arc::new(FakeBackend::with_printer("P"));
        let agent = agent_with(Arc::clone(&backend)).await;
        let mut events = agent.subscribe();
        agent.set_paused(true);
        let first = agent.test_print(None).await;
        let second = agent.test_print(None).await;
        until_state(&mut events, &first, JobState::Received).await;
        until_state(&mut events, &second, JobState::Received).await;
        assert_eq!(backend.submitted_count(), 0, "nothing prints while paused");
        assert!(agent.snapshot().await.paused);

        let cancelled = agent.cancel_job(&second).await.expect("cancel");
        assert_eq!(cancelled.state, JobState::Cancelled);
        assert!(matches!(
            agent.cancel_job(&second).await,
            Err(ControlError::AlreadyFinished {
                state: JobState::Cancelled,
                ..
            })
        ));
        assert!(matches!(
            agent.cancel_job("nope").await,
            Err(ControlError::NotFound(_))
        ));

        agent.set_paused(false);
        until_state(&mut events, &first, JobState::Completed).await;
        assert_eq!(
            backend.submitted_count(),
            1,
            "the cancelled job never printed"
        );
    }

    /// A server's acked `print` is answered once the job is stored: received, duplicate
    /// for an id the agent had, rejected with its code; jobs sent together all get theirs.
    #[tokio::test]
    async fn acked_prints_are_answered_once_stored() {
        use crate::protocol::{ErrorCode, PrintAck, PrintAckState};
        let backend = Arc::new(FakeBackend::with_printer("P"));
        let agent = agent_with(Arc::clone(&backend)).await;
        agent.set_paused(true);
        let limits = crate::protocol::Limits {
            max_job_bytes: 1 << 20,
        };
        let job = |id: &str| {
            crate::protocol::parse_print(
                serde_json::json!({"jobId": id, "contentType": "text", "content": "x"}),
                limits,
            )
            .expect("valid job")
        };
        let mut answers = Vec::new();
        let mut items = Vec::new();
        for item in [
            Ok(job("ack-1")),
            Ok(job("ack-1")),
            Err(
                crate::protocol::parse_print(serde_json::json!({"jobId": "ack-2"}), limits)
                    .expect_err("no content"),
            ),
        ] {
            let (reply, answer) = tokio::sync::oneshot::channel();
            answers.push(answer);
            items.push(match item {
                Ok(job) => Incoming::Job {
                    job,
                    ack: Some(reply),
                },
                Err(rejected) => Incoming::Rejected {
                    rejected,
                    ack: Some(reply),
                },
            });
        }
        for item in items {
            agent.jobs.send(item).await.expect("worker");
        }
        let mut got = Vec::new();
        for answer in answers {
            got.push(answer.await.expect("answered"));
        }
        assert_eq!(
            got[..2],
            [PrintAck::received("ack-1"), PrintAck::duplicate("ack-1")]
        );
        assert_eq!(
            (got[2].job_id.as_str(), got[2].state),
            ("ack-2", PrintAckState::Rejected)
        );
        assert_eq!(
            got[2].error.as_ref().map(|e| e.code),
            Some(ErrorCode::InvalidPayload)
        );
        // The same payload again is the job already stored.
        let (reply, answer) = tokio::sync::oneshot::channel();
        let rejected = crate::protocol::parse_print(serde_json::json!({"jobId": "ack-2"}), limits)
            .expect_err("no content");
        agent
            .jobs
            .send(Incoming::Rejected {
                rejected,
                ack: Some(reply),
            })
            .await
            .expect("worker");
        assert_eq!(
            answer.await.expect("answered"),
            PrintAck::duplicate("ack-2")
        );
        assert_eq!(backend.submitted_count(), 0, "paused: nothing printed");
    }

    /// A job the spooler took and then stopped knowing ends `failed` `spooler_lost` after
    /// a grace period, instead of staying `spooled` (and watched again at every start).
    #[tokio::test(start_paused = true)]
    async fn a_job_the_spooler_forgets_fails_spooler_lost_after_a_grace_period() {
        let backend = Arc::new(FakeBackend {
            answer: Some(crate::printing::SpoolerJobState::Unknown),
            ..FakeBackend::with_printer("P")
        });
        let agent = agent_with(backend).await;
        let mut events = agent.subscribe();
        let job = agent.test_print(None).await;
        until_state(&mut events, &job, JobState::Spooled).await;
        let spooled_at = tokio::time::Instant::now();
        // Ended, not left spooled: the grace period is 30 s, the bound well beyond it.
        let failed = until_state_within(
            &mut events,
            &job,
            JobState::Failed,
            std::time::Duration::from_secs(600),
        )
        .await;
        assert!(spooled_at.elapsed() >= std::time::Duration::from_secs(30));
        let code = failed.error.map(|e| e.code);
        assert_eq!(code, Some(crate::protocol::ErrorCode::SpoolerLost));
    }

    /// A spooler that refuses to cancel is reported as the spooler's refusal.
    #[tokio::test]
    async fn a_refused_cancel_is_the_spoolers_refusal() {
        let backend = Arc::new(FakeBackend {
            answer: Some(crate::printing::SpoolerJobState::Active),
            refuse_cancel: true,
            ..FakeBackend::with_printer("P")
        });
        let agent = agent_with(backend).await;
        let mut events = agent.subscribe();
        let job = agent.test_print(None).await;
        until_state(&mut events, &job, JobState::Spooled).await;
        assert!(matches!(
            agent.cancel_job(&job).await,
            Err(ControlError::Spooler(_))
        ));
    }

    #[tokio::test]
    async fn jobs_wait_for_a_busy_spooler_and_print_in_order_without_failing() {
        let backend = Arc::new(FakeBackend {
            busy_refusals: 3.into(),
            ..FakeBackend::with_printer("P")
        });
        let agent = agent_with(Arc::clone(&backend)).await;
        let mut events = agent.subscribe();
        let first = agent.test_print(None).await;
        let second = agent.test_print(None).await;
        let both = async {
            until_state(&mut events, &first, JobState::Completed).await;
            until_state(&mut events, &second, JobState::Completed).await;
        };
        // Waits of 100, 200 and 400 ms; a job failed instead would never complete.
        tokio::time::timeout(std::time::Duration::from_secs(10), both)
            .await
            .expect("both completed");
        let names: Vec<String> = backend
            .submitted
            .lock()
            .expect("lock")
            .iter()
            .map(|s| s.document_name.clone())
            .collect();
        assert_eq!(
            names,
            [
                crate::jobs::document_name(&first),
                crate::jobs::document_name(&second)
            ]
        );
        let failed = agent
            .query_jobs(JobQuery {
                states: vec![JobState::Failed],
                ..JobQuery::default()
            })
            .await
            .expect("query");
        assert_eq!(failed.total, 0);
    }

    #[tokio::test]
    async fn a_reprint_is_a_new_job_linked_to_the_original() {
        let backend = Arc::new(FakeBackend::with_printer("P"));
        let agent = agent_with(Arc::clone(&backend)).await;
        let mut events = agent.subscribe();
        let original = agent.test_print(None).await;
        until_state(&mut events, &original, JobState::Completed).await;
        let copy = agent.reprint(&original).await.expect("reprint");
        assert_ne!(copy, original);
        let done = until_state(&mut events, &copy, JobState::Completed).await;
        assert_eq!(done.reprint_of.as_deref(), Some(original.as_str()));
        assert_eq!(backend.submitted_count(), 2);
        let submitted = backend.submitted.lock().expect("lock").clone();
        assert_eq!(submitted[0].bytes, submitted[1].bytes);
        let page = agent
            .query_jobs(JobQuery {
                text: Some(copy.clone()),
                ..JobQuery::default()
            })
            .await
            .expect("query");
        assert_eq!(page.total, 1);
        assert!(matches!(
            agent.reprint("missing").await,
            Err(ControlError::NotFound(_))
        ));
    }
}

mod history_tests {
    use super::*;
    use crate::printing::FakeBackend;

    #[tokio::test(start_paused = true)]
    async fn connection_changes_are_kept_in_the_history() {
        let mut settings = Settings {
            server_url: "http://127.0.0.1:9".into(),
            client_id: "pc-1".into(),
            ..Settings::default()
        };
        settings.reconnect.attempts = 3;
        let agent = Agent::start(
            settings,
            Arc::new(FakeBackend::with_printer("P")),
            Store::in_memory().expect("store"),
        )
        .await
        .expect("start");
        // The history is written before the state is announced (`forward_connection`),
        // so once `gaveUp` is announced the history holds it.
        let (shown, mut events) = agent.subscribe_with_connection();
        if !matches!(shown, Some(ConnectionState::GaveUp { .. })) {
            let gave_up = async {
                loop {
                    match events.recv().await {
                        Ok(AgentEvent::Connection(ConnectionState::GaveUp { .. })) => return,
                        Ok(_) => {}
                        Err(error) => panic!("connection events: {error}"),
                    }
                }
            };
            tokio::time::timeout(std::time::Duration::from_secs(600), gave_up)
                .await
                .expect("gave up");
        }
        let kinds: Vec<String> = agent
            .snapshot()
            .await
            .connection_events
            .iter()
            .map(|e| e.event["state"].as_str().unwrap_or_default().to_owned())
            .collect();
        // Attempts 2 and 3 are one "reconnecting" entry, not two.
        assert_eq!(kinds, ["gaveUp", "reconnecting", "connecting"]);
    }
}
