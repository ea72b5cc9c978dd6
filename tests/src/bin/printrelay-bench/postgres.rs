//! The cluster bench's PostgreSQL: a throwaway server (`tests/postgres/start.sh` in a
//! temp dir on a free port), a fresh database per measurement, its memory, and its stop
//! when dropped. Runs on the bench's task.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context, Result};
use printrelay_e2e::{procs, repo_root, unique_marker};

/// A throwaway PostgreSQL cluster, stopped when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    admin: String,
    /// Its processes just after it started (postmaster and background workers).
    idle_processes: usize,
}

impl Postgres {
    /// The server binaries as `tests/postgres/start.sh` finds them: `PG_BIN`, else the
    /// newest `/usr/lib/postgresql/*/bin` with an `initdb`.
    pub fn server_binaries() -> Option<PathBuf> {
        if let Some(bin) = std::env::var_os("PG_BIN") {
            let bin = PathBuf::from(bin);
            return bin.join("initdb").exists().then_some(bin);
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .collect();
        found.sort_by_key(|bin| {
            bin.parent()
                .and_then(Path::file_name)
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        found.pop()
    }

    pub async fn start(bin: PathBuf) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let out = tokio::process::Command::new("sh")
            .arg(repo_root().join("tests/postgres/start.sh"))
            .arg(dir.path())
            .arg(port.to_string())
            .env("PG_BIN", &bin)
            .output()
            .await
            .context("running tests/postgres/start.sh")?;
        // From here on, drop stops whatever start.sh left running.
        let mut server = Self {
            dir,
            bin,
            admin: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            idle_processes: 0,
        };
        if !out.status.success() || !server.admin.starts_with("postgres://") {
            bail!(
                "tests/postgres/start.sh failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        server.idle_processes = server.memory_kib()?.2;
        Ok(server)
    }

    /// Waits (at most 10 s) until no client backend is left: only the server's own
    /// processes, as many as just after it started.
    pub async fn wait_for_idle(&self) {
        for _ in 0..100 {
            if self
                .memory_kib()
                .is_ok_and(|(_, _, processes)| processes <= self.idle_processes)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The URL of a new, empty database.
    pub async fn create_database(&self, tag: &str) -> Result<String> {
        let name = unique_marker(tag).replace('-', "_").to_lowercase();
        let psql = self.bin.join("psql");
        let psql = if psql.exists() {
            psql
        } else {
            PathBuf::from("psql")
        };
        let status = tokio::process::Command::new(psql)
            .arg(&self.admin)
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .status()
            .await
            .context("running psql")?;
        ensure!(status.success(), "psql could not create database {name}");
        let (server, _) = self
            .admin
            .rsplit_once('/')
            .ok_or_else(|| anyhow!("admin URL without a database: {}", self.admin))?;
        Ok(format!("{server}/{name}"))
    }

    /// RSS and PSS (KiB) summed over the postmaster and its children, and how many.
    pub fn memory_kib(&self) -> Result<(u64, u64, usize)> {
        let pid_file = self.dir.path().join("data/postmaster.pid");
        let pid: u32 = std::fs::read_to_string(&pid_file)?
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| anyhow!("no pid in {}", pid_file.display()))?;
        let tree = procs::tree(pid)?;
        let (rss, pss) = procs::totals(&tree);
        Ok((rss, pss, tree.len()))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.dir.path().join("data");
        // The server refuses to run as root: start.sh ran it as user postgres.
        let mut command = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            std::process::Command::new(pg_ctl)
        };
        let stopped = command
            .arg("-D")
            .arg(&data)
            .args(["-m", "fast", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
        if !stopped.is_ok_and(|s| s.success()) {
            eprintln!(
                "warning: could not stop the bench's PostgreSQL in {}",
                data.display()
            );
        }
    }
}

/// Whether this process runs as root (`id -u` is 0), as start.sh decides.
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
