//! The log file writer: `<prefix>.log` in the log folder, rotated when it would pass
//! [`MAX_BYTES`] and when the day changes, keeping [`KEPT`] older files
//! (`<prefix>.1.log` newest .. `<prefix>.5.log` oldest). Runs on tracing-appender's
//! writer thread, so a peer that makes the agent log a lot costs disk, boundedly.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Largest log file.
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Older files kept beside the current one.
pub const KEPT: usize = 5;

/// A log file that rotates by size and by day.
#[derive(Debug)]
pub struct RotatingFile {
    dir: PathBuf,
    prefix: String,
    max_bytes: u64,
    file: File,
    written: u64,
    /// Days since the epoch (UTC) of the current file's first line.
    day: u64,
}

fn today() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400)
}

impl RotatingFile {
    /// Opens (appending) `<prefix>.log` in `dir`, rotating past `max_bytes`.
    pub fn open(dir: &Path, prefix: &str, max_bytes: u64) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{prefix}.log"));
        let file = open_append(&path)?;
        let metadata = file.metadata()?;
        let written = metadata.len();
        let day = metadata
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or_else(today, |d| d.as_secs() / 86_400);
        Ok(Self {
            dir: dir.to_path_buf(),
            prefix: prefix.to_owned(),
            max_bytes,
            file,
            written,
            day,
        })
    }

    fn path(&self, index: usize) -> PathBuf {
        match index {
            0 => self.dir.join(format!("{}.log", self.prefix)),
            n => self.dir.join(format!("{}.{n}.log", self.prefix)),
        }
    }

    /// Shifts the files down one place (dropping the oldest) and starts an empty one.
    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let _ = std::fs::remove_file(self.path(KEPT));
        for index in (0..KEPT).rev() {
            let from = self.path(index);
            if from.exists() {
                std::fs::rename(&from, self.path(index + 1))?;
            }
        }
        self.file = open_append(&self.path(0))?;
        self.written = 0;
        self.day = today();
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Logs name clients and hosts: for this user only.
        options.mode(0o600);
    }
    options.open(path)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let full = self.written > 0 && self.written + buf.len() as u64 > self.max_bytes;
        if full || (self.written > 0 && today() != self.day) {
            self.rotate()?;
        }
        let written = self.file.write(buf)?;
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(dir: &Path) -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
            .expect("dir")
            .flatten()
            .map(|e| {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                (e.file_name().to_string_lossy().into_owned(), size)
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn a_flood_of_lines_keeps_at_most_six_files_each_under_the_cap() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = RotatingFile::open(dir.path(), "agent", 1_000).expect("open");
        let line = [b'x'; 99];
        for i in 0..10_000u32 {
            log.write_all(&line).expect("write");
            log.write_all(if i % 2 == 0 { b"\n" } else { b"\r" })
                .expect("write");
        }
        log.flush().expect("flush");
        let files = sizes(dir.path());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "agent.1.log",
                "agent.2.log",
                "agent.3.log",
                "agent.4.log",
                "agent.5.log",
                "agent.log"
            ]
        );
        assert!(files.iter().all(|(_, size)| *size <= 1_000), "{files:?}");
        // The newest lines are in the current file.
        let current = std::fs::read(dir.path().join("agent.log")).expect("read");
        assert!(!current.is_empty());
    }

    #[test]
    fn a_new_day_starts_a_new_file_and_old_lines_survive_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = RotatingFile::open(dir.path(), "agent", 1_000_000).expect("open");
        log.write_all(b"yesterday\n").expect("write");
        log.day -= 1;
        log.write_all(b"today\n").expect("write");
        drop(log);
        let mut again = RotatingFile::open(dir.path(), "agent", 1_000_000).expect("reopen");
        again.write_all(b"later today\n").expect("write");
        drop(again);
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("read");
        assert_eq!(read("agent.1.log"), "yesterday\n");
        assert_eq!(read("agent.log"), "today\nlater today\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("agent.log"))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
