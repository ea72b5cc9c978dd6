//! Tests of the schema and of PostgreSQL's connection: migrations (on both engines),
//! hubs migrating at once, a lost connection made again.

use super::super::migrations::{self, known, sqlite_version};
use super::*;

/// The schema version as the engine keeps it.
fn version(db: &Db) -> Result<i64, StoreError> {
    match db {
        Db::Sqlite(_) => sqlite_version(db),
        Db::Postgres(_) => Ok(db
            .query_opt("SELECT version FROM printrelay_schema", &[], |r| r.int(0))?
            .unwrap_or(-1)),
    }
}

fn set_version(db: &Db, version: i64) -> Result<(), StoreError> {
    match db {
        Db::Sqlite(_) => db.batch(&format!("PRAGMA user_version = {version}")),
        Db::Postgres(_) => db
            .execute("UPDATE printrelay_schema SET version = ?1", args![version])
            .map(drop),
    }
}

fn index_exists(db: &Db, name: &str) -> Result<bool, StoreError> {
    let sql = match db {
        Db::Sqlite(_) => "SELECT COUNT(*) FROM sqlite_master WHERE name = ?1",
        Db::Postgres(_) => "SELECT COUNT(*) FROM pg_indexes WHERE indexname = ?1",
    };
    Ok(db.query_opt(sql, args![name], |r| r.int(0))? == Some(1))
}

on_both_engines!(migrations_refuse_a_newer_database_and_roll_back_a_failed_step);
/// A database from a newer hub is refused, not opened; a failed migration step leaves
/// the version it started from.
fn migrations_refuse_a_newer_database_and_roll_back_a_failed_step(
    test: &TestDb,
) -> Result<(), StoreError> {
    drop(open(test)?);
    let db = test.raw()?;
    assert_eq!(version(&db)?, known());
    set_version(&db, known() + 1)?;
    match open(test) {
        Err(StoreError::TooNew { found, known }) => {
            assert_eq!(
                (found, known),
                (super::migrations::known() + 1, super::migrations::known())
            );
        }
        other => panic!("opened a newer database: {other:?}"),
    }
    // Version 1 with only the last index of step 2 there: step 2 creates two indexes,
    // fails on the third, and leaves version 1 without the first two.
    set_version(&db, 1)?;
    db.batch("DROP INDEX job_events_job; DROP INDEX jobs_state_expiry")?;
    assert!(
        migrations::migrate(&db).is_err(),
        "jobs_state_updated exists already"
    );
    assert_eq!(version(&db)?, 1);
    assert!(!index_exists(&db, "job_events_job")?);
    assert!(index_exists(&db, "jobs_state_updated")?);
    Ok(())
}

/// Hubs starting at once against one fresh PostgreSQL database migrate it once, in turn
/// (the advisory lock), and all open it.
#[test]
fn hubs_starting_at_once_migrate_postgres_once() -> Result<(), StoreError> {
    let Some(test) = TestDb::postgres("hubs_starting_at_once_migrate_postgres_once") else {
        return Ok(());
    };
    let database = test.database();
    let opened: Vec<Result<Store, StoreError>> = std::thread::scope(|scope| {
        let starts: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| Store::open(&database, None)))
            .collect();
        starts
            .into_iter()
            .map(|start| start.join().expect("no panic"))
            .collect()
    });
    for store in opened {
        store?;
    }
    assert_eq!(version(&test.raw()?)?, known());
    Ok(())
}

/// A PostgreSQL connection lost between transactions (a restart, a failover) is made
/// again for the next call; at most the call that found it lost fails.
#[test]
fn a_lost_postgres_connection_is_made_again() -> Result<(), StoreError> {
    let Some(test) = TestDb::postgres("a_lost_postgres_connection_is_made_again") else {
        return Ok(());
    };
    let mut store = open(&test)?;
    insert_jobs(&mut store, &[new_job("a", "pc-1")], 1)?;
    let pid = store
        .db
        .query_opt("SELECT CAST(pg_backend_pid() AS BIGINT)", &[], |r| r.int(0))?;
    let killed = test.raw()?.query_opt(
        "SELECT CAST(pg_terminate_backend(CAST(CAST(?1 AS BIGINT) AS INTEGER)) AS TEXT)",
        args![pid],
        |r| r.text(0),
    )?;
    assert_eq!(killed.as_deref(), Some("true"));
    let _maybe_failed = store.job("a");
    assert_eq!(store.job("a")?.map(|j| j.state).as_deref(), Some("queued"));
    insert_jobs(&mut store, &[new_job("b", "pc-1")], 2)?;
    Ok(())
}
