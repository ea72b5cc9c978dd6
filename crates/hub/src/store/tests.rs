//! Tests of `store`, each on both engines (see `testdb`).

use super::testdb::TestDb;
use super::*;
use crate::on_both_engines;

mod claim;
mod schema;

/// The session's durability: SQLite's `synchronous` (FULL is 2), PostgreSQL's
/// `synchronous_commit`.
fn durability(store: &Store) -> Result<String, StoreError> {
    let sql = match store.db {
        Db::Sqlite(_) => "SELECT CAST(synchronous AS TEXT) FROM pragma_synchronous",
        Db::Postgres(_) => "SELECT current_setting('synchronous_commit')",
    };
    Ok(store
        .db
        .query_opt(sql, &[], |r| r.text(0))?
        .unwrap_or_default())
}

fn open(test: &TestDb) -> Result<Store, StoreError> {
    Store::open(&test.database(), None)
}

/// Queues `jobs` in one batch; what each came to.
fn insert_jobs(store: &mut Store, jobs: &[NewJob], now: u64) -> Result<Vec<Inserted>, StoreError> {
    let writes: Vec<Write<'_>> = jobs.iter().map(Write::Job).collect();
    Ok(store
        .write(&writes, now)?
        .into_iter()
        .filter_map(|w| match w {
            Written::Job(inserted) => Some(inserted),
            _ => None,
        })
        .collect())
}

fn new_job(job_id: &str, client_id: &str) -> NewJob {
    NewJob {
        job_id: job_id.into(),
        client_id: client_id.into(),
        payload: serde_json::json!({"jobId": job_id}).to_string(),
        expires_at: None,
    }
}

on_both_engines!(a_batch_queues_new_jobs_and_leaves_taken_ids_alone);
/// One batch: new ids are created in order, a taken id (stored before, or earlier in
/// the same batch) keeps its job and tells its state.
fn a_batch_queues_new_jobs_and_leaves_taken_ids_alone(test: &TestDb) -> Result<(), StoreError> {
    let mut store = open(test)?;
    insert_jobs(&mut store, &[new_job("old", "pc-1")], 1)?;
    store.delivered(&["old".to_owned()], "sid-1", 2)?;
    let mut again = new_job("a", "pc-2");
    again.payload = "{}".into();
    let inserted = insert_jobs(
        &mut store,
        &[
            new_job("a", "pc-1"),
            new_job("old", "pc-1"),
            again,
            new_job("b", "pc-1"),
        ],
        3,
    )?;
    assert_eq!(
        inserted,
        [
            Inserted::Created,
            Inserted::Exists("delivered".into()),
            Inserted::Exists("queued".into()),
            Inserted::Created
        ]
    );
    // The first `a` won: its client and payload are the stored ones.
    let a = store.deliverable("pc-1", "sid-2", 10, 100)?;
    let ids: Vec<&str> = a.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["old", "a", "b"]);
    assert_eq!(a[1].1, serde_json::json!({"jobId": "a"}));
    assert!(store.deliverable("pc-2", "sid-3", 10, 100)?.is_empty());
    Ok(())
}

on_both_engines!(a_batch_applies_jobs_and_statuses_in_order);
/// Jobs and statuses in one batch apply in order: a status may follow its job's
/// submission in the same commit; one for an unknown job or that goes back changes nothing.
fn a_batch_applies_jobs_and_statuses_in_order(test: &TestDb) -> Result<(), StoreError> {
    let mut store = open(test)?;
    let job = new_job("a", "pc-1");
    let received = serde_json::json!({"jobId": "a", "state": "received"});
    let spooled = serde_json::json!({"jobId": "a", "state": "spooled"});
    let unknown = serde_json::json!({"jobId": "nope", "state": "completed"});
    let written = store.write(
        &[
            Write::Job(&job),
            Write::Status(&spooled),
            Write::Status(&received),
            Write::Status(&unknown),
        ],
        1,
    )?;
    let moved: Vec<Option<String>> = written
        .iter()
        .map(|w| match w {
            Written::Job(inserted) => Some(format!("{inserted:?}")),
            Written::Status(Applied::Moved(change)) => Some(change.state.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        moved,
        [Some("Created".into()), Some("spooled".into()), None, None]
    );
    let stored = store.job("a")?.map(|j| (j.state, j.events.len()));
    assert_eq!(stored, Some(("spooled".into(), 2)));
    Ok(())
}

on_both_engines!(delivered_changes_only_queued_jobs);
/// Marking a delivery: queued jobs change to `delivered`, re-sent ones and jobs that
/// moved on meanwhile do not change.
fn delivered_changes_only_queued_jobs(test: &TestDb) -> Result<(), StoreError> {
    let mut store = open(test)?;
    let jobs = ["q", "d", "c"].map(|id| new_job(id, "pc-1"));
    insert_jobs(&mut store, &jobs, 1)?;
    store.delivered(&["d".to_owned(), "c".to_owned()], "sid-1", 2)?;
    let completed = serde_json::json!({"jobId": "c", "state": "completed"});
    store.write(&[Write::Status(&completed)], 3)?;
    let ids = ["q", "d", "c"].map(String::from);
    let changes = store.delivered(&ids, "sid-2", 4)?;
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.job_id.as_str(), c.client_id.as_str()))
            .collect::<Vec<_>>(),
        [("q", "pc-1")]
    );
    let states: Vec<String> = ids
        .iter()
        .map(|id| {
            store
                .job(id)
                .map(|j| j.map(|j| j.state).unwrap_or_default())
        })
        .collect::<Result<_, _>>()?;
    assert_eq!(states, ["delivered", "delivered", "completed"]);
    // `d` was re-sent on sid-2, so that socket is not sent it again.
    assert!(store.deliverable("pc-1", "sid-2", 10, 100)?.is_empty());
    Ok(())
}

on_both_engines!(writes_without_fsync_leave_full_durability_in_force);
/// Presence and `delivered` skip the fsync; every other write keeps it (SQLite FULL,
/// PostgreSQL `synchronous_commit` on).
fn writes_without_fsync_leave_full_durability_in_force(test: &TestDb) -> Result<(), StoreError> {
    let mut store = open(test)?;
    let durable = durability(&store)?;
    assert!(["2", "on"].contains(&durable.as_str()), "{durable}");
    let presence = |online| Presence {
        client_id: "pc-1".into(),
        sid: "sid-1".into(),
        node_id: "node-1".into(),
        online,
        at: 1,
    };
    store.write(&[Write::Presence(&presence(true))], 1)?;
    let info = serde_json::from_value(serde_json::json!({
        "clientId": "pc-1", "protocol": 1, "app": {"name": "a", "version": "1"},
        "host": {"hostname": "h", "os": "linux", "arch": "x86_64"},
        "printers": [], "selectedPrinter": null,
    }))
    .expect("client_info");
    store.client_info("pc-1", &info, 2)?;
    insert_jobs(&mut store, &[new_job("job-1", "pc-1")], 3)?;
    let changes = store.delivered(&["job-1".to_owned()], "sid-1", 4)?;
    assert_eq!(
        changes.into_iter().map(|c| c.state).collect::<Vec<_>>(),
        ["delivered"]
    );
    store.write(&[Write::Presence(&presence(false))], 5)?;
    assert_eq!(durability(&store)?, durable);
    // And what was written without an fsync is there.
    let client = store.client("pc-1")?;
    assert_eq!(
        client.map(|c| (c.connected, c.info.is_some())),
        Some((false, true))
    );
    Ok(())
}

fn cancel(store: &mut Store, job_id: &str, agent_lacks_it: bool, now: u64) -> CancelOutcome {
    let order = CancelOrder {
        job_id: job_id.into(),
        agent_lacks_it,
    };
    match store
        .write(&[Write::Cancel(&order)], now)
        .expect("write")
        .pop()
    {
        Some(Written::Cancel(outcome)) => outcome,
        other => panic!("not a cancel outcome: {other:?}"),
    }
}

on_both_engines!(cancelling_ends_waiting_jobs_and_asks_agents_for_the_rest);
/// A queued job ends `cancelled` at the hub and is never handed out; one its agent holds
/// is only marked (never re-sent, asked of the agent), and ends at the hub only when the
/// agent says it never stored it; an ended job stays as it ended.
fn cancelling_ends_waiting_jobs_and_asks_agents_for_the_rest(
    test: &TestDb,
) -> Result<(), StoreError> {
    let mut store = open(test)?;
    let jobs = ["q", "d", "r", "c"].map(|id| new_job(id, "pc-1"));
    insert_jobs(&mut store, &jobs, 1)?;
    store.delivered(&["d", "r", "c"].map(String::from), "sid-1", 2)?;
    for (job, state) in [("r", "received"), ("c", "completed")] {
        let status = serde_json::json!({"jobId": job, "state": state});
        store.write(&[Write::Status(&status)], 3)?;
    }
    let CancelOutcome::AtHub(change) = cancel(&mut store, "q", false, 4) else {
        panic!("a queued job is cancelled at the hub");
    };
    assert_eq!(change.state, "cancelled");
    assert_eq!(
        change.error.as_ref().map(|e| e["code"].clone()),
        Some("cancelled".into())
    );
    for (job, state) in [("d", "delivered"), ("r", "received")] {
        assert_eq!(
            cancel(&mut store, job, false, 5),
            CancelOutcome::Requested {
                client_id: "pc-1".into(),
                state: state.into()
            }
        );
    }
    assert_eq!(
        cancel(&mut store, "c", false, 5),
        CancelOutcome::Finished("completed".into())
    );
    assert_eq!(
        cancel(&mut store, "nope", false, 5),
        CancelOutcome::NotFound
    );
    // Neither the cancelled job nor the one the agent is asked about goes out again.
    assert!(store.deliverable("pc-1", "sid-2", 6, 100)?.is_empty());
    assert_eq!(store.cancel_requests("pc-1")?, ["d", "r"]);
    let d = store.job("d")?.expect("d");
    assert_eq!((d.delivered_at, d.cancel_requested_at), (Some(2), Some(5)));
    // The agent answered it never stored `d`: it ends at the hub; `r` it has.
    assert!(matches!(
        cancel(&mut store, "d", true, 7),
        CancelOutcome::AtHub(_)
    ));
    assert_eq!(
        cancel(&mut store, "r", true, 7),
        CancelOutcome::Finished("received".into())
    );
    assert_eq!(store.cancel_requests("pc-1")?, ["r"]);
    Ok(())
}

on_both_engines!(jobs_are_found_by_text_and_time);
/// The list filters by a piece of the job or client id in any case and by creation time.
fn jobs_are_found_by_text_and_time(test: &TestDb) -> Result<(), StoreError> {
    let mut store = open(test)?;
    insert_jobs(&mut store, &[new_job("INV-1", "front-desk")], 10)?;
    insert_jobs(&mut store, &[new_job("label-2", "warehouse")], 20)?;
    insert_jobs(&mut store, &[new_job("inv-3", "warehouse")], 30)?;
    let ids = |query: JobQuery<'_>| -> Vec<String> {
        let query = JobQuery {
            limit: 100,
            ..query
        };
        store
            .jobs(&query)
            .expect("jobs")
            .into_iter()
            .map(|j| j.job_id)
            .collect()
    };
    assert_eq!(
        ids(JobQuery {
            text: Some("Inv"),
            ..Default::default()
        }),
        ["inv-3", "INV-1"]
    );
    assert_eq!(
        ids(JobQuery {
            text: Some("HOUSE"),
            ..Default::default()
        }),
        ["inv-3", "label-2"]
    );
    assert_eq!(
        ids(JobQuery {
            since: Some(20),
            until: Some(30),
            ..Default::default()
        }),
        ["label-2"]
    );
    assert_eq!(
        ids(JobQuery {
            text: Some("inv"),
            client_id: Some("warehouse"),
            ..Default::default()
        }),
        ["inv-3"]
    );
    // LIKE's wildcards in the text are plain characters.
    for wildcard in ["%", "_", "\\", "inv_"] {
        let found = ids(JobQuery {
            text: Some(wildcard),
            ..Default::default()
        });
        assert!(found.is_empty(), "{wildcard}: {found:?}");
    }
    // An id PostgreSQL cannot hold (U+0000) is not found, as in SQLite.
    assert!(store.job("INV\0-1")?.is_none());
    assert!(store
        .jobs(&JobQuery {
            client_id: Some("front\0"),
            limit: 10,
            ..Default::default()
        })?
        .is_empty());
    Ok(())
}

on_both_engines!(stats_count_finished_since_and_waiting_jobs);
/// The counters: finished since a moment, waiting whenever made, the oldest waiting.
fn stats_count_finished_since_and_waiting_jobs(test: &TestDb) -> Result<(), StoreError> {
    let mut store = open(test)?;
    let jobs = ["old-done", "done", "failed", "waiting", "held"].map(|id| new_job(id, "pc-1"));
    insert_jobs(&mut store, &jobs, 1)?;
    store.delivered(
        &["old-done", "done", "failed", "held"].map(String::from),
        "s",
        2,
    )?;
    let write = |store: &mut Store, job: &str, state: &str, now| {
        let status = serde_json::json!({"jobId": job, "state": state});
        store.write(&[Write::Status(&status)], now).map(|_| ())
    };
    write(&mut store, "old-done", "completed", 5)?;
    write(&mut store, "done", "completed", 50)?;
    write(&mut store, "failed", "failed", 60)?;
    write(&mut store, "held", "spooled", 60)?;
    let stats = store.job_stats(10)?;
    assert_eq!((stats.completed, stats.failed, stats.waiting), (1, 1, 2));
    let oldest = stats.oldest_waiting.expect("a job waits");
    assert_eq!((oldest.job_id.as_str(), oldest.created_at), ("waiting", 1));
    Ok(())
}
