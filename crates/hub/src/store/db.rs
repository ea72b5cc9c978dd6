//! The store's engine layer: each statement is written once, in SQL both SQLite and
//! PostgreSQL run (placeholders `?1..?N`, translated for PostgreSQL in [`super::pg`]), and
//! run here by whichever engine the hub was given. Statements are prepared once per
//! connection and cached by their text.

use rusqlite::types::{ToSqlOutput, ValueRef};

use super::pg::Pg;
use super::StoreError;

/// One open connection, of either engine.
#[derive(Debug)]
pub(super) enum Db {
    Sqlite(rusqlite::Connection),
    /// Boxed: its runtime and caches make it several times larger.
    Postgres(Box<Pg>),
}

/// A statement's parameter: the store only binds integers and text.
#[derive(Debug, Clone, Copy)]
pub(super) enum Param<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(value: Option<i64>) -> Self {
        Self::OptInt(value)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Self {
        Self::Text(value)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(value: &'a String) -> Self {
        Self::Text(value)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Self::OptText(value)
    }
}

/// The parameters of a statement, each turned into a [`Param`].
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::db::Param::from($value)),*] as &[$crate::store::db::Param<'_>]
    };
}
pub(super) use args;

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Param::Int(value) | Param::OptInt(Some(value)) => ToSqlOutput::from(value),
            Param::Text(text) | Param::OptText(Some(text)) => {
                ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))
            }
            Param::OptInt(None) | Param::OptText(None) => ToSqlOutput::from(rusqlite::types::Null),
        })
    }
}

/// One row of a result, read by column index with typed getters.
pub(super) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    fn get<S, P>(&self, index: usize) -> Result<S, StoreError>
    where
        S: rusqlite::types::FromSql,
        P: for<'a> postgres::types::FromSql<'a> + Into<S>,
    {
        Ok(match self {
            Row::Sqlite(row) => row.get(index)?,
            Row::Postgres(row) => row.try_get::<_, P>(index)?.into(),
        })
    }

    pub fn int(&self, index: usize) -> Result<i64, StoreError> {
        self.get::<i64, i64>(index)
    }

    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        self.get::<Option<i64>, Option<i64>>(index)
    }

    /// A non-negative integer (times, counts); a negative one (never written) reads as 0.
    pub fn uint(&self, index: usize) -> Result<u64, StoreError> {
        Ok(self.int(index)?.max(0) as u64)
    }

    pub fn opt_uint(&self, index: usize) -> Result<Option<u64>, StoreError> {
        Ok(self.opt_int(index)?.map(|n| n.max(0) as u64))
    }

    pub fn text(&self, index: usize) -> Result<String, StoreError> {
        self.get::<String, String>(index)
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>, StoreError> {
        self.get::<Option<String>, Option<String>>(index)
    }
}

impl Db {
    /// Runs a statement that returns no rows; how many rows it changed.
    pub fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        match self {
            Db::Sqlite(db) => {
                let changed = db
                    .prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(params))?;
                Ok(changed as u64)
            }
            Db::Postgres(db) => db.execute(sql, params),
        }
    }

    /// Runs a query; `read` turns each row into a value.
    pub fn query<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        mut read: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Db::Sqlite(db) => {
                let mut statement = db.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                let mut values = Vec::new();
                while let Some(row) = rows.next()? {
                    values.push(read(&Row::Sqlite(row))?);
                }
                Ok(values)
            }
            Db::Postgres(db) => db
                .query(sql, params)?
                .iter()
                .map(|row| read(&Row::Postgres(row)))
                .collect(),
        }
    }

    /// The first row of a query, if any.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        read: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Db::Sqlite(db) => {
                let mut statement = db.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                rows.next()?.map(|row| read(&Row::Sqlite(row))).transpose()
            }
            Db::Postgres(db) => db
                .query(sql, params)?
                .first()
                .map(|row| read(&Row::Postgres(row)))
                .transpose(),
        }
    }

    /// Runs several statements without parameters (DDL, transaction control).
    pub fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(db) => Ok(db.execute_batch(sql)?),
            Db::Postgres(db) => db.batch(sql),
        }
    }

    /// Runs `work` in one transaction: committed when it succeeds, rolled back when it
    /// fails (or panics: the hub ignores a poisoned lock and goes on with the connection).
    pub fn transaction<T>(
        &self,
        work: impl FnOnce(&Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction_with("", work)
    }

    /// As [`Db::transaction`], with PostgreSQL `settings` (`SET LOCAL ...;`) sent with
    /// its `BEGIN` (one round trip).
    pub fn transaction_with<T>(
        &self,
        settings: &str,
        work: impl FnOnce(&Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Db::Sqlite(db) => db.execute_batch("BEGIN")?,
            Db::Postgres(db) => db.begin(settings)?,
        }
        let open = Open(self);
        let value = work(self)?;
        std::mem::forget(open);
        match self {
            Db::Sqlite(db) => {
                if let Err(error) = db.execute_batch("COMMIT") {
                    let _ = db.execute_batch("ROLLBACK");
                    return Err(error.into());
                }
            }
            // A failed COMMIT ends the transaction in PostgreSQL.
            Db::Postgres(db) => db.end("COMMIT")?,
        }
        Ok(value)
    }
}

/// A transaction under way; dropped before its commit, it rolls back.
struct Open<'a>(&'a Db);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        // A connection left in an aborted transaction would refuse every later statement.
        let _ = match self.0 {
            Db::Sqlite(db) => db.execute_batch("ROLLBACK").map_err(StoreError::from),
            Db::Postgres(db) => db.end("ROLLBACK"),
        };
    }
}
