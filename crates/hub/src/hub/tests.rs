//! Tests of `hub`, each on both engines (see `store::testdb`).

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::*;
use crate::on_both_engines;
use crate::store::JobQuery;

/// A hub over `database` (fresh).
async fn hub(database: &Database, retention: Retention) -> Hub {
    // The sender may go: nothing here waits for a shutdown.
    let (_closing, closing_rx) = tokio::sync::watch::channel(false);
    Hub::open(
        database,
        None,
        closing_rx,
        retention,
        crate::cluster::NODE_TIMEOUT,
        None,
    )
    .await
    .expect("hub")
}

/// Every job, newest first.
async fn all_jobs(hub: &Hub) -> Vec<crate::store::Job> {
    hub.read(|store| {
        store.jobs(&JobQuery {
            limit: 1000,
            ..Default::default()
        })
    })
    .await
    .expect("jobs")
}

on_both_engines!(async concurrent_submissions_are_each_answered_and_all_stored);
/// Many submitters at once (some with the same job id): each gets the right `created`,
/// every distinct job is stored once, and its `queued` is published exactly once.
async fn concurrent_submissions_are_each_answered_and_all_stored(database: Database) {
    let hub = hub(&database, Retention::default()).await;
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
    assert_eq!(all_jobs(&hub).await.len(), 200);
    let mut published = HashSet::new();
    while let Ok(Change::Job(change)) = changes.try_recv() {
        assert_eq!(change.state, "queued");
        assert!(published.insert(change.job_id), "published twice");
    }
    assert_eq!(published.len(), 200);
}

on_both_engines!(async reads_do_not_wait_for_the_writer);
/// Reads use their own connection: they are answered while the writing connection
/// is held (as during a group commit's fsync).
async fn reads_do_not_wait_for_the_writer(database: Database) {
    let hub = hub(&database, Retention::default()).await;
    hub.submit("job", "pc-1", &json!({}), None)
        .await
        .expect("stored");
    // Held on a thread of its own (a lock held across an await could stall the runtime).
    let (held, is_held) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let writer = Arc::clone(&hub.writer);
    let holder = std::thread::spawn(move || {
        let _held = lock(&writer);
        let _ = held.send(());
        let _ = released.recv();
    });
    is_held.await.expect("the writer is held");
    assert_eq!(all_jobs(&hub).await.len(), 1);
    assert_eq!(hub.clients().await.expect("clients").len(), 0);
    assert!(hub.job("job").await.expect("read").is_some());
    release.send(()).expect("the holder waits");
    holder.join().expect("no panic");
}

on_both_engines!(async upkeep_expires_on_time_and_purges_old_finished_jobs);
/// The upkeep expires waiting jobs whose time passed and publishes it, and purges
/// finished jobs past retention (with their statuses), keeping younger ones.
async fn upkeep_expires_on_time_and_purges_old_finished_jobs(database: Database) {
    let retention = Retention {
        default_expiry_ms: None,
        finished_ms: Some(0),
    };
    let hub = hub(&database, retention).await;
    let mut changes = hub.changes().subscribe();
    let now = now_ms();
    hub.submit("late", "pc-1", &json!({}), Some(now - 1))
        .await
        .expect("stored");
    hub.submit("waits", "pc-1", &json!({}), Some(now + 3_600_000))
        .await
        .expect("stored");
    assert_eq!(
        hub.pending("pc-1").await.expect("count"),
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
    let state = async |id: &str| hub.job(id).await.expect("read").map(|j| j.state);
    assert_eq!(state("late").await.as_deref(), Some("expired"));
    assert_eq!(state("waits").await.as_deref(), Some("queued"));
    // Retention 0: the finished one goes at the next purge, the waiting one stays.
    hub.upkeep(true);
    hub.submit("marker", "pc-1", &json!({}), None)
        .await
        .expect("stored after the upkeep, in the same queue");
    assert_eq!(state("late").await, None);
    assert_eq!(state("waits").await.as_deref(), Some("queued"));
}
