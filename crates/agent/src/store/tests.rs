//! The store's tests: jobs, transitions, the outbox, pruning, queries.

use super::*;

impl Store {
    /// One job through [`Store::insert_all`].
    fn insert(
        &mut self,
        job: &PrintJob,
        reprint_of: Option<&str>,
        at: EpochMillis,
    ) -> Result<Inserted, StoreError> {
        let mut inserted = self.insert_all(&[(job.clone(), reprint_of.map(str::to_owned))], at)?;
        Ok(inserted.remove(0))
    }
}

fn job(id: &str) -> PrintJob {
    PrintJob {
        job_id: id.into(),
        title: "T".into(),
        document: Document::Text("hello".into()),
        printer: Some("Q".into()),
        copies: 2,
        options: crate::protocol::PrintOptions {
            media: Some("A4".into()),
            ..Default::default()
        },
        expires_at: None,
        origin: crate::protocol::Origin::Server,
    }
}

#[test]
fn a_known_job_id_is_a_duplicate_and_nothing_is_stored_twice() {
    let mut store = Store::in_memory().expect("store");
    assert!(matches!(
        store.insert(&job("a"), None, 1).expect("insert"),
        Inserted::New(record) if record.state == JobState::Received && record.received_at == 1
    ));
    match store.insert(&job("a"), None, 2).expect("insert") {
        Inserted::Duplicate(record) => assert_eq!(record.received_at, 1),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(store.recent(10).expect("recent").len(), 1);
    assert_eq!(store.pending_statuses(0, 10).expect("outbox").len(), 1);
}

/// `field` of each status waiting in the outbox, oldest first.
fn outbox_field(store: &Store, field: &str) -> Vec<Value> {
    store
        .pending_statuses(0, 10)
        .expect("outbox")
        .into_iter()
        .map(|(_, s)| s[field].clone())
        .collect()
}

#[test]
fn jobs_that_arrive_together_are_stored_in_order_and_repeats_are_duplicates() {
    let mut store = Store::in_memory().expect("store");
    store.insert(&job("a"), None, 1).expect("insert");
    let batch = [
        (job("b"), None),
        (job("a"), None),
        (job("c"), Some("b".to_owned())),
        (job("b"), None),
    ];
    let inserted = store.insert_all(&batch, 2).expect("insert all");
    let kinds: Vec<(&str, &str)> = inserted
        .iter()
        .map(|i| match i {
            Inserted::New(r) => ("new", r.job_id.as_str()),
            Inserted::Duplicate(r) => ("duplicate", r.job_id.as_str()),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("new", "b"),
            ("duplicate", "a"),
            ("new", "c"),
            ("duplicate", "b")
        ]
    );
    let outbox = outbox_field(&store, "jobId");
    assert_eq!(outbox, ["a", "b", "c"]);
    let reprint = store.get("c").expect("get").expect("stored");
    assert_eq!(reprint.reprint_of.as_deref(), Some("b"));
}

#[test]
fn writes_the_spooler_can_redo_leave_full_durability_in_force() {
    let mut store = Store::in_memory().expect("store");
    store.insert(&job("a"), None, 1).expect("insert");
    let mut record = store.get("a").expect("get").expect("exists");
    record.state = JobState::Spooled;
    record.spooler_job_id = Some(7);
    store.transition(&record).expect("transition");
    store.statuses_acked(&[1]).expect("acked");
    let synchronous: i64 = store
        .db
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .expect("pragma");
    assert_eq!(synchronous, 2, "FULL again for the next write");
    assert_eq!(
        store.get("a").expect("get").map(|r| r.state),
        Some(JobState::Spooled)
    );
}

#[test]
fn transitions_are_stored_and_queued_in_order() {
    let mut store = Store::in_memory().expect("store");
    store.insert(&job("a"), None, 1).expect("insert");
    let mut record = store.get("a").expect("get").expect("exists");
    record.state = JobState::Spooled;
    record.printer = Some("Q".into());
    record.spooler_job_id = Some(7);
    store.transition(&record).expect("transition");
    record.state = JobState::Completed;
    store.transition(&record).expect("transition");
    let states = outbox_field(&store, "state");
    assert_eq!(states, ["received", "spooled", "completed"]);
    let pending = store.pending_statuses(0, 10).expect("outbox");
    let ids: Vec<i64> = pending.iter().map(|(id, _)| *id).collect();
    // Acked out of order: exactly the acked one goes.
    store.statuses_acked(&[ids[1]]).expect("acked");
    let left: Vec<i64> = store
        .pending_statuses(0, 10)
        .expect("outbox")
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(left, [ids[0], ids[2]]);
    assert_eq!(store.pending_statuses(ids[0], 10).expect("after").len(), 1);
    // Settled by job: everything of `a` up to the final one.
    store
        .statuses_settled(&[(ids[2], "a".into())])
        .expect("settled");
    assert!(store.pending_statuses(0, 10).expect("outbox").is_empty());
    assert_eq!(
        store.get("a").expect("get").map(|r| r.spooler_job_id),
        Some(Some(7))
    );
}

#[test]
fn unfinished_jobs_come_back_and_their_documents_load() {
    let mut store = Store::in_memory().expect("store");
    store.insert(&job("a"), None, 1).expect("insert");
    store.insert(&job("b"), None, 2).expect("insert");
    store.mark_submit_started("b", "Q", 3).expect("mark");
    let mut test_page = job("c");
    test_page.origin = crate::protocol::Origin::Local;
    store.insert(&test_page, None, 4).expect("insert");
    let unfinished = store.unfinished().expect("unfinished");
    assert_eq!(unfinished.len(), 3);
    assert_eq!(unfinished[0].record.job_id, "a");
    assert!(!unfinished[0].submit_started);
    assert!(unfinished[1].submit_started);
    assert_eq!(store.load_job("a").expect("load"), Some(job("a")));
    // A test page stays the user's own after a restart (any printer allowed).
    assert_eq!(store.load_job("c").expect("load"), Some(test_page));
}

#[test]
fn survives_reopening_and_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("agent.db");
    Store::open(&path)
        .expect("open")
        .insert(&job("a"), None, 1)
        .expect("insert");
    assert!(Store::open(&path)
        .expect("reopen")
        .get("a")
        .expect("get")
        .is_some());
    let db = Connection::open(&path).expect("raw");
    db.pragma_update(None, "user_version", 99).expect("bump");
    drop(db);
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

fn finish(store: &mut Store, id: &str, state: JobState) {
    let mut record = store.get(id).expect("get").expect("exists");
    record.state = state;
    store.transition(&record).expect("transition");
}

fn ids(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .db
        .prepare("SELECT job_id FROM jobs")
        .expect("prepare")
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    ids.sort();
    ids
}

#[test]
fn pruning_removes_the_oldest_finished_jobs_beyond_the_limit() {
    let mut store = Store::in_memory().expect("store");
    for i in 0..5 {
        store
            .insert(&job(&format!("j{i}")), None, i)
            .expect("insert");
    }
    finish(&mut store, "j0", JobState::Completed);
    finish(&mut store, "j1", JobState::Failed);
    finish(&mut store, "j2", JobState::Cancelled);
    finish(&mut store, "j3", JobState::Completed);
    assert_eq!(store.prune(2).expect("prune"), 2);
    // j0 and j1 were the oldest finished jobs; j4 is still received.
    assert_eq!(ids(&store), ["j2", "j3", "j4"]);
    assert_eq!(
        store.prune(2).expect("prune again"),
        0,
        "nothing left to prune"
    );
}

#[test]
fn pruning_keeps_unfinished_jobs_and_does_not_count_them() {
    let mut store = Store::in_memory().expect("store");
    for i in 0..5 {
        store
            .insert(&job(&format!("j{i}")), None, i)
            .expect("insert");
    }
    // The two oldest are finished; the newer three are still received or spooled.
    finish(&mut store, "j0", JobState::Completed);
    finish(&mut store, "j1", JobState::Completed);
    let mut spooled = store.get("j3").expect("get").expect("exists");
    spooled.state = JobState::Spooled;
    store.transition(&spooled).expect("transition");
    // Counting the newer unfinished jobs towards the limit would remove both
    // finished ones; only j0 is beyond the newest finished one.
    assert_eq!(store.prune(1).expect("prune"), 1);
    assert_eq!(ids(&store), ["j1", "j2", "j3", "j4"]);
    assert_eq!(store.prune(0).expect("prune all finished"), 1);
    assert_eq!(
        ids(&store),
        ["j2", "j3", "j4"],
        "unfinished jobs are never pruned"
    );
}

/// The database, its journal files and its folder are the user's alone (see
/// `crate::private`): documents are stored here.
#[cfg(unix)]
mod private_files {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::private::tests::mode;
    use crate::private::{DIR_MODE, FILE_MODE};

    #[test]
    fn the_database_its_journal_files_and_its_folder_are_private() {
        let root = tempfile::tempdir().expect("temp dir");
        let path = root.path().join("data").join("agent.db");
        let _store = Store::open(&path).expect("open");
        assert_eq!(mode(&root.path().join("data")), DIR_MODE);
        for name in ["agent.db", "agent.db-wal", "agent.db-shm"] {
            let file = root.path().join("data").join(name);
            assert!(file.exists(), "{name} exists while the store is open");
            assert_eq!(mode(&file), FILE_MODE, "{name}");
        }
    }

    #[test]
    fn an_open_database_of_an_older_version_is_narrowed() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("data");
        std::fs::create_dir(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let path = dir.join("agent.db");
        drop(Store::open(&path).expect("first open"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let _store = Store::open(&path).expect("second open");
        assert_eq!(mode(&dir), DIR_MODE);
        assert_eq!(mode(&path), FILE_MODE);
    }
}

mod query {
    use super::*;
    use crate::protocol::PrintOptions;

    fn job(id: &str, title: &str) -> PrintJob {
        PrintJob {
            job_id: id.into(),
            title: title.into(),
            document: Document::Raw(vec![1, 2, 3]),
            printer: None,
            copies: 1,
            options: PrintOptions::default(),
            expires_at: None,
            origin: crate::protocol::Origin::Server,
        }
    }

    #[test]
    fn filters_by_state_printer_text_time_and_pages() {
        let mut store = Store::in_memory().expect("store");
        for i in 0..30u64 {
            let title = if i % 3 == 0 {
                "Invoice 50%_off"
            } else {
                "Label"
            };
            store
                .insert(&job(&format!("j{i:02}"), title), None, 1000 + i)
                .expect("insert");
            let mut record = store
                .get(&format!("j{i:02}"))
                .expect("get")
                .expect("exists");
            record.state = if i % 2 == 0 {
                JobState::Completed
            } else {
                JobState::Failed
            };
            record.printer = Some(if i < 15 { "A" } else { "B" }.into());
            store.transition(&record).expect("transition");
        }
        let page = |q: JobQuery| store.query(&q).expect("query");
        assert_eq!(page(JobQuery::default()).total, 30);
        assert_eq!(page(JobQuery::default()).jobs[0].job_id, "j29");
        let failed = page(JobQuery {
            states: vec![JobState::Failed],
            ..JobQuery::default()
        });
        assert_eq!(failed.total, 15);
        assert!(failed.jobs.iter().all(|j| j.state == JobState::Failed));
        assert_eq!(
            page(JobQuery {
                printer: Some("B".into()),
                ..JobQuery::default()
            })
            .total,
            15
        );
        // LIKE wildcards in the search text are literal.
        assert_eq!(
            page(JobQuery {
                text: Some("50%_".into()),
                ..JobQuery::default()
            })
            .total,
            10
        );
        assert_eq!(
            page(JobQuery {
                text: Some("%".into()),
                ..JobQuery::default()
            })
            .total,
            10
        );
        assert_eq!(
            page(JobQuery {
                since: Some(1010),
                until: Some(1020),
                ..JobQuery::default()
            })
            .total,
            10
        );
        let second = page(JobQuery {
            offset: 10,
            limit: 10,
            ..JobQuery::default()
        });
        assert_eq!(second.jobs.len(), 10);
        assert_eq!(second.jobs[0].job_id, "j19");
    }

    #[test]
    fn a_stored_job_can_be_loaded_for_a_reprint() {
        let mut store = Store::in_memory().expect("store");
        store.insert(&job("orig", "T"), None, 1).expect("insert");
        let loaded = store.load_job("orig").expect("load").expect("exists");
        assert_eq!(loaded.document, Document::Raw(vec![1, 2, 3]));
        let mut copy = loaded;
        copy.job_id = "local-copy".into();
        store.insert(&copy, Some("orig"), 2).expect("insert");
        assert_eq!(
            store
                .get("local-copy")
                .expect("get")
                .and_then(|r| r.reprint_of),
            Some("orig".into())
        );
    }
}

/// Every kind of document is stored as itself, with its page options, and the history
/// names it; a job rejected before it had a document has no kind.
#[test]
fn html_and_image_jobs_come_back_as_they_came_and_the_history_names_their_kind() {
    use crate::protocol::{Margins, PageSize, PaperName, RemoteKind};
    use crate::record::DocumentKind;
    let mut store = Store::in_memory().expect("store");
    let url = url::Url::parse("https://erp.example/label.png").expect("url");
    let documents = [
        (Document::Html("<p>票</p>".into()), DocumentKind::Html),
        (
            Document::Image(b"\x89PNG\r\n\x1a\n".to_vec()),
            DocumentKind::Image,
        ),
        (
            Document::Remote {
                url,
                kind: RemoteKind::Image,
            },
            DocumentKind::ImageUri,
        ),
    ];
    for (n, (document, kind)) in documents.into_iter().enumerate() {
        let mut sent = job(&format!("k{n}"));
        sent.document = document;
        sent.options.page_size = Some(PageSize::Named(PaperName::A6));
        sent.options.margins = Some(Margins::all(3.0));
        store.insert(&sent, None, 1).expect("insert");
        assert_eq!(
            store.load_job(&sent.job_id).expect("load"),
            Some(sent.clone())
        );
        let record = store.get(&sent.job_id).expect("get").expect("stored");
        assert_eq!(record.kind, Some(kind));
    }
    let error = JobError::new(ErrorCode::InvalidPayload, "not an object");
    store.insert_rejected("bad", &error, 2).expect("insert");
    assert_eq!(store.get("bad").expect("get").expect("stored").kind, None);
}
