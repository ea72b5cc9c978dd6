//! Databases for the hub's tests: SQLite always; PostgreSQL when
//! `PRINTRELAY_TEST_POSTGRES` holds an admin URL (`tests/postgres/start.sh` prints one),
//! each test then in a fresh database of its own, dropped at its end.
//!
//! [`on_both_engines!`](crate::on_both_engines) turns one test body into a test per
//! engine (`name::sqlite`, `name::postgres`), so they run in parallel and fail apart.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::db::Db;
use super::{Database, StoreError};

/// The variable naming the PostgreSQL server the tests may create databases on.
pub const ENV: &str = "PRINTRELAY_TEST_POSTGRES";

/// One test's database.
#[derive(Debug)]
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres {
        admin: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    /// A SQLite file in a folder of its own.
    pub fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    /// A fresh PostgreSQL database, or `None` (said loudly) without the variable.
    pub fn postgres(test: &str) -> Option<Self> {
        let Ok(admin) = std::env::var(ENV) else {
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test} on PostgreSQL: set {ENV}=postgres://... \
                 (tests/postgres/start.sh DIR PORT prints one)"
            );
            return None;
        };
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "printrelay_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{ENV}: cannot connect: {e}"));
        // Left over from an earlier run that was killed, with the same process id.
        // One statement a call: several would run as one transaction, which these refuse.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            client
                .batch_execute(&sql)
                .unwrap_or_else(|e| panic!("{ENV}: cannot create {name}: {e:?}"));
        }
        let url = with_dbname(&admin, &name);
        Some(Self::Postgres { admin, name, url })
    }

    /// The database, as `--db` would name it.
    pub fn database(&self) -> Database {
        match self {
            Self::Sqlite(dir) => Database::Sqlite(dir.path().join("hub.db")),
            Self::Postgres { url, .. } => Database::Postgres(url.clone()),
        }
    }

    /// A bare connection to it (nothing migrated), for tests that reach under the store.
    pub(super) fn raw(&self) -> Result<Db, StoreError> {
        Ok(match self.database() {
            Database::Sqlite(path) => Db::Sqlite(rusqlite::Connection::open(path)?),
            Database::Postgres(url) => Db::Postgres(Box::new(super::pg::Pg::connect(&url, false)?)),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Self::Postgres { admin, name, .. } = self else {
            return;
        };
        let (admin, name) = (admin.clone(), name.clone());
        // Its own thread: the crate's runtime may not run where a test's runtime does.
        let dropped = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)?;
            client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("cannot drop a test database: {error}");
        }
    }
}

/// `url` naming database `name` instead (its query string kept).
fn with_dbname(url: &str, name: &str) -> String {
    let authority = url.find("://").map_or(0, |at| at + 3);
    let path = url[authority..]
        .find(['/', '?'])
        .map_or(url.len(), |at| authority + at);
    let query = url[path..].find('?').map_or("", |at| &url[path + at..]);
    format!("{}/{name}{query}", &url[..path])
}

/// Runs a test on both engines. `name(db: &TestDb) -> Result<(), StoreError>` becomes
/// the tests `name::sqlite` and `name::postgres`; with `async`,
/// `async fn name(db: Database)` runs on a 2-thread runtime of its own.
#[macro_export]
macro_rules! on_both_engines {
    ($name:ident) => {
        mod $name {
            use $crate::store::testdb::TestDb;

            #[test]
            fn sqlite() -> Result<(), $crate::store::StoreError> {
                super::$name(&TestDb::sqlite())
            }

            #[test]
            fn postgres() -> Result<(), $crate::store::StoreError> {
                match TestDb::postgres(stringify!($name)) {
                    Some(db) => super::$name(&db),
                    None => Ok(()),
                }
            }
        }
    };
    (async $name:ident) => {
        mod $name {
            use $crate::store::testdb::{run_async, TestDb};

            #[test]
            fn sqlite() {
                run_async(TestDb::sqlite(), super::$name);
            }

            #[test]
            fn postgres() {
                if let Some(db) = TestDb::postgres(stringify!($name)) {
                    run_async(db, super::$name);
                }
            }
        }
    };
}

/// Runs `test` on `db` in a runtime of its own, which is gone before the database is.
pub fn run_async<F: std::future::Future<Output = ()>>(
    db: TestDb,
    test: impl FnOnce(Database) -> F,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(test(db.database()));
    drop(runtime);
    drop(db);
}

#[cfg(test)]
mod tests {
    #[test]
    fn another_database_on_the_same_server() {
        assert_eq!(
            super::with_dbname("postgres://u:p@h:1/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:1/t1?sslmode=disable"
        );
        assert_eq!(super::with_dbname("postgres://h", "t1"), "postgres://h/t1");
    }
}
