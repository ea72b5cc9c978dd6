//! A PostgreSQL connection for the store (the sync `postgres` crate): `?N` placeholders
//! turned into `$N`, prepared statements cached by SQL text, a new connection when the
//! old one was lost between transactions.
//!
//! The `postgres` crate runs its own small runtime: every call here must come from a
//! plain thread (the hub's blocking pool), never from async code, or it panics.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::str::FromStr;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};

use super::db::Param;
use super::StoreError;

/// One connection and its prepared statements. Used under the store's mutex only.
pub(super) struct Pg {
    config: postgres::Config,
    /// `None` while the connection is being replaced (never seen outside `client`).
    client: RefCell<Option<Client>>,
    /// By the statement's text as the store wrote it (`?N`).
    statements: RefCell<HashMap<String, Statement>>,
    /// Between `BEGIN` and its end: a lost connection is not replaced then (the rest of
    /// the transaction would run outside it).
    in_transaction: Cell<bool>,
    /// Sessions of the read-only store refuse writes.
    read_only: bool,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the config: it holds the password.
        f.debug_struct("Pg")
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl Pg {
    /// Connects to the database `url` names (without TLS).
    pub fn connect(url: &str, read_only: bool) -> Result<Self, StoreError> {
        let mut config = postgres::Config::from_str(url)?;
        if config.get_application_name().is_none() {
            config.application_name("printrelay-hub");
        }
        let pg = Self {
            config,
            client: RefCell::new(None),
            statements: RefCell::new(HashMap::new()),
            in_transaction: Cell::new(false),
            read_only,
        };
        pg.with_client(|_| Ok(()))?;
        Ok(pg)
    }

    /// A new session: read-only when asked, statement texts as written (`\` is not an
    /// escape in string literals, as in SQLite).
    fn open(&self) -> Result<Client, StoreError> {
        let mut client = self.config.connect(NoTls)?;
        let mut setup = String::from("SET standard_conforming_strings = on;");
        if self.read_only {
            setup.push_str("SET default_transaction_read_only = on;");
        }
        client.batch_execute(&setup)?;
        Ok(client)
    }

    /// Runs `work` on the connection, connecting first when there is none or it was lost
    /// (outside a transaction only).
    fn with_client<T>(
        &self,
        work: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = self.client.borrow_mut();
        let lost = slot.as_ref().is_none_or(Client::is_closed);
        if lost && !self.in_transaction.get() {
            if let Some(old) = slot.take() {
                tracing::warn!("the PostgreSQL connection was lost; connecting again");
                close(old);
            }
            self.statements.borrow_mut().clear();
            *slot = Some(self.open()?);
        }
        match slot.as_mut() {
            Some(client) => work(client),
            None => Err(StoreError::ConnectionLost),
        }
    }

    /// The prepared statement for `sql` (as the store wrote it), prepared on first use.
    fn prepared(&self, client: &mut Client, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(&placeholders(sql))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        self.with_client(|client| {
            let statement = self.prepared(client, sql)?;
            Ok(client.execute(&statement, &values(params))?)
        })
    }

    pub fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<postgres::Row>, StoreError> {
        if never_matches(sql, params) {
            return Ok(Vec::new());
        }
        self.with_client(|client| {
            let statement = self.prepared(client, sql)?;
            Ok(client.query(&statement, &values(params))?)
        })
    }

    pub fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.with_client(|client| Ok(client.batch_execute(sql)?))
    }

    /// `BEGIN`, then `settings` for this transaction, in one round trip.
    pub fn begin(&self, settings: &str) -> Result<(), StoreError> {
        self.batch(&format!("BEGIN;{settings}"))?;
        self.in_transaction.set(true);
        Ok(())
    }

    /// `COMMIT` or `ROLLBACK`: the transaction is over either way.
    pub fn end(&self, sql: &str) -> Result<(), StoreError> {
        let ended = self.batch(sql);
        self.in_transaction.set(false);
        ended
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            close(client);
        }
    }
}

/// Closes a connection on a thread of its own: closing runs the crate's runtime, which
/// panics on a thread that runs async code (the hub and its tests drop stores there).
fn close(client: Client) {
    let closing = std::thread::Builder::new()
        .name("pg-close".into())
        .spawn(move || drop(client));
    match closing {
        Ok(thread) => {
            let _ = thread.join();
        }
        // No thread to be had (the connection was dropped with the attempt).
        Err(error) => tracing::warn!(%error, "cannot close a PostgreSQL connection"),
    }
}

/// The statement with each `?N` outside string literals written `$N`.
pub(super) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_literal = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => in_literal = !in_literal,
            '?' if !in_literal && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

fn values<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| match param {
            Param::Int(value) => value as &(dyn ToSql + Sync),
            Param::OptInt(value) => value,
            Param::Text(text) => text,
            Param::OptText(text) => text,
        })
        .collect()
}

/// PostgreSQL text cannot hold U+0000, so no stored value has one (ids with control
/// characters are refused at submission): a read given one finds nothing, as SQLite
/// would, instead of failing on the parameter.
fn never_matches(sql: &str, params: &[Param<'_>]) -> bool {
    let nul = |text: &str| text.contains('\0');
    sql.trim_start()
        .get(..6)
        .is_some_and(|verb| verb.eq_ignore_ascii_case("SELECT"))
        && params.iter().any(|param| match param {
            Param::Text(text) | Param::OptText(Some(text)) => nul(text),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_literals_only() {
        assert_eq!(
            placeholders(
                "SELECT '?1' || ?1, x FROM t WHERE a = ?12 AND b LIKE '%' ESCAPE '\\' AND c = ?2"
            ),
            "SELECT '?1' || $1, x FROM t WHERE a = $12 AND b LIKE '%' ESCAPE '\\' AND c = $2"
        );
    }
}
