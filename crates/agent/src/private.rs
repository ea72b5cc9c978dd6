//! Private files and folders: the settings (they hold the token) and the job database
//! (it holds documents) are for the user only: files 0600 and their folders 0700 on
//! Unix. On Windows they live in the user's profile, which is private already. Runs on
//! whichever task opens or saves them.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Mode of the agent's files on Unix: read and write for the owner only.
#[cfg(unix)]
pub const FILE_MODE: u32 = 0o600;
/// Mode of the agent's folders on Unix: the owner only.
#[cfg(unix)]
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and any missing parent) private to the user. An existing folder is
/// narrowed too, since older versions (and the log writer) created it world-readable;
/// narrowing a folder someone else owns fails, and that is only logged.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)?;
    #[cfg(unix)]
    narrow(dir, DIR_MODE);
    Ok(())
}

/// Narrows an existing file to the user (a file written by an older version); a
/// missing file is left missing.
pub fn narrow_file(path: &Path) {
    #[cfg(unix)]
    if path.is_file() {
        narrow(path, FILE_MODE);
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Narrows an existing folder to the user; a missing folder is left missing.
pub fn narrow_dir(dir: &Path) {
    #[cfg(unix)]
    if dir.is_dir() {
        narrow(dir, DIR_MODE);
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(unix)]
fn narrow(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let current = match std::fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o777,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read the permissions");
            return;
        }
    };
    if current != mode {
        if let Err(error) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            tracing::warn!(path = %path.display(), %error, "cannot make it private");
        }
    }
}

/// Creates `path` afresh (a leftover from an interrupted write is removed first, so its
/// mode is not inherited), readable by the user only.
fn create_new_file(path: &Path) -> io::Result<File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(path)
}

/// Replaces `path` with `bytes` atomically and durably: a private `temp` file in the same
/// folder is written and fsynced, renamed over `path`, and the folder is fsynced so the
/// rename itself survives a power cut. `path` is either the old or the new content.
pub fn write_atomic(path: &Path, temp: &Path, bytes: &[u8]) -> io::Result<()> {
    let written = create_new_file(temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(temp, path));
    if let Err(error) = renamed {
        let _ = std::fs::remove_file(temp);
        return Err(error);
    }
    sync_dir(path.parent().unwrap_or_else(|| Path::new(".")))
}

/// Makes the entries of `dir` (a rename) durable. Windows has no folder fsync in std;
/// NTFS journals the rename itself.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Prepares a SQLite database file before it is opened: its folder private, the file
/// created private if missing (SQLite gives its `-wal` and `-shm` files the mode of the
/// database file), and files of an older version narrowed.
pub fn prepare_database(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    #[cfg(unix)]
    {
        let mut options = OpenOptions::new();
        options.write(true).create(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
        options.open(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            narrow_file(Path::new(&name));
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
pub(crate) mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A path's permission bits, for the tests that check a file is private.
    pub(crate) fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn an_atomic_write_is_private_and_leaves_no_temp_file() {
        let root = tempfile::tempdir().expect("temp dir");
        let path = root.path().join("f.json");
        let temp = root.path().join("f.json.tmp");
        // A leftover temp file with a loose mode must not lend it to the new file.
        std::fs::write(&temp, "old").expect("leftover");
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        write_atomic(&path, &temp, b"new").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        assert_eq!(mode(&path), FILE_MODE);
        assert!(!temp.exists());
    }
}
