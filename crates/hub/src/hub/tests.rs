//! Tests of `hub`.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::*;
use crate::store::JobQuery;

/// A hub over a fresh database; keep the folder alive as long as the hub.
fn hub() -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    // The sender may go: nothing here waits for a shutdown.
    let (_closing, closing_rx) = tokio::sync::watch::channel(false);
    let hub = Hub::open(
        &dir.path().join("hub.db"),
        None,
        closing_rx,
        Retention::default(),
    )
    .expect("hub");
    (hub, dir)
}

/// Many submitters at once (some with the same job id): each gets the right `created`,
/// every distinct job is stored once, and its `queued` is published exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_are_each_answered_and_all_stored() {
    let (hub, _dir) = hub();
    let mut changes = hub.changes().subscribe();
    let submitters: Vec<_> = (0..300)
        .map(|i| {
            let hub = hub.clone();
            // Every third one repeats the id of the one before it.
            let job_id = format!("job-{}", i - usize::from(i % 3 == 2));
            tokio::spawn(async move {
                let submitted = hub
                    .submit(
                        &job_id,
                        &format!("pc-{}", i % 7),
                        &json!({"jobId": job_id}),
                        None,
                    )
                    .await;
                (job_id, submitted)
            })
        })
        .collect();
    let mut created: HashMap<String, usize> = HashMap::new();
    for submitter in submitters {
        let (job_id, submitted) = submitter.await.expect("submitter");
        let submitted = submitted.expect("submitted");
        assert_eq!(submitted.state, "queued", "{job_id}: nobody is online");
        *created.entry(job_id).or_default() += usize::from(submitted.created);
    }
    assert_eq!(created.len(), 200);
    assert!(created.values().all(|&n| n == 1), "{created:?}");
    let stored = hub
        .store()
        .jobs(&JobQuery {
            limit: 1000,
            ..Default::default()
        })
        .expect("jobs");
    assert_eq!(stored.len(), 200);
    let mut published = HashSet::new();
    while let Ok(Change::Job(change)) = changes.try_recv() {
        assert_eq!(change.state, "queued");
        assert!(published.insert(change.job_id), "published twice");
    }
    assert_eq!(published.len(), 200);
}

/// Reads use their own connection: they are answered while the writing connection
/// is held (as during a group commit's fsync).
#[tokio::test]
async fn reads_do_not_wait_for_the_writer() {
    let (hub, _dir) = hub();
    hub.submit("job", "pc-1", &json!({}), None)
        .await
        .expect("stored");
    let _held = lock(&hub.writer);
    let jobs = hub
        .store()
        .jobs(&JobQuery {
            limit: 10,
            ..Default::default()
        })
        .expect("read");
    assert_eq!(jobs.len(), 1);
    assert_eq!(hub.clients().expect("clients").len(), 0);
}

/// The upkeep expires waiting jobs whose time passed and publishes it, and purges
/// finished jobs past retention (with their statuses), keeping younger ones.
#[tokio::test]
async fn upkeep_expires_on_time_and_purges_old_finished_jobs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_closing, closing_rx) = tokio::sync::watch::channel(false);
    let retention = Retention {
        default_expiry_ms: None,
        finished_ms: Some(0),
    };
    let hub = Hub::open(&dir.path().join("hub.db"), None, closing_rx, retention).expect("hub");
    let mut changes = hub.changes().subscribe();
    let now = now_ms();
    hub.submit("late", "pc-1", &json!({}), Some(now - 1))
        .await
        .expect("stored");
    hub.submit("waits", "pc-1", &json!({}), Some(now + 3_600_000))
        .await
        .expect("stored");
    assert_eq!(
        hub.pending("pc-1").expect("count"),
        1,
        "the late one is not sent"
    );
    hub.upkeep(false);
    let expired = loop {
        match changes.recv().await.expect("change") {
            Change::Job(job) if job.state == "expired" => break job,
            _ => {}
        }
    };
    assert_eq!(expired.job_id, "late");
    let state = |id: &str| hub.store().job(id).expect("read").map(|j| j.state);
    assert_eq!(state("late").as_deref(), Some("expired"));
    assert_eq!(state("waits").as_deref(), Some("queued"));
    // Retention 0: the finished one goes at the next purge, the waiting one stays.
    hub.upkeep(true);
    hub.submit("marker", "pc-1", &json!({}), None)
        .await
        .expect("stored after the upkeep, in the same queue");
    assert_eq!(state("late"), None);
    assert_eq!(state("waits").as_deref(), Some("queued"));
}
