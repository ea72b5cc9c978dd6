//! Which database the hub keeps its store in (`--db`): a SQLite file, or a PostgreSQL
//! server named by a URL. A URL may hold a password, so it is only ever shown redacted.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The hub's database, as `--db` names it.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (created if missing): the embedded single-node default.
    Sqlite(PathBuf),
    /// A PostgreSQL database, as a `postgres://` or `postgresql://` URL (libpq's syntax;
    /// the database must exist, the hub creates its tables).
    Postgres(String),
}

/// A `--db` value that starts like a PostgreSQL URL but cannot be read as one.
#[derive(Debug, thiserror::Error)]
#[error("not a PostgreSQL URL ({reason}); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME")]
pub struct InvalidDatabase {
    reason: String,
}

impl Database {
    /// A path, or a URL when the text starts with `postgres://` or `postgresql://`.
    pub fn parse(text: &str) -> Result<Self, InvalidDatabase> {
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Ok(Self::Sqlite(PathBuf::from(text)));
        }
        // Checked now, so a typo stops the hub at start with a message, not at first use.
        // The parser's message names the option, never the value (which may be a password).
        postgres::Config::from_str(text).map_err(|error| InvalidDatabase {
            reason: super::postgres_message(&error),
        })?;
        Ok(Self::Postgres(text.to_owned()))
    }

    /// True for a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

impl FromStr for Database {
    type Err = InvalidDatabase;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl<'de> serde::Deserialize<'de> for Database {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// For logs: the path, or `postgres://HOST:PORT/DBNAME` (no user, password or options).
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match self {
            Self::Sqlite(path) => return write!(f, "{}", path.display()),
            Self::Postgres(url) => url,
        };
        let Ok(config) = postgres::Config::from_str(url) else {
            return f.write_str("postgres://(invalid URL)");
        };
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let name = match host {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    #[cfg(unix)]
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                };
                // One port for all hosts, or one each; PostgreSQL's own default otherwise.
                let ports = config.get_ports();
                let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                format!("{name}:{port}")
            })
            .collect();
        write!(
            f,
            "postgres://{}/{}",
            hosts.join(","),
            config.get_dbname().unwrap_or_default()
        )
    }
}

/// As [`fmt::Display`]: a derived `Debug` would print the password.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(_) => f.debug_tuple("Postgres").field(&self.to_string()).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        assert_eq!(
            Database::parse("/srv/hub.db").ok(),
            Some(Database::Sqlite("/srv/hub.db".into()))
        );
        assert!(Database::parse("postgresql://u@h/d").is_ok_and(|d| d.is_postgres()));
        assert!(Database::parse("postgres://u@h:notaport/d").is_err());
    }

    #[test]
    fn the_password_is_never_shown() {
        let db =
            Database::parse("postgres://hub:s3cret@db.example:6543/printrelay?sslmode=disable")
                .expect("a URL");
        assert_eq!(db.to_string(), "postgres://db.example:6543/printrelay");
        let debug = format!("{db:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("db.example"),
            "{debug}"
        );
        let error =
            Database::parse("postgres://hub:s3cret@db.example:x/printrelay").expect_err("bad port");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
