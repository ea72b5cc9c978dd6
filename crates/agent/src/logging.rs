//! Logging set-up: tracing to stderr and to a file in the log folder that rotates by
//! size and by day ([`rotating`]); [`Throttle`] keeps a repeated warning to a line a
//! minute.

mod rotating;
mod throttle;

use std::path::Path;

pub use rotating::RotatingFile;
pub use throttle::Throttle;

use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

/// Lines waiting for the file writer. The crate's default (128,000) allocates and touches
/// ~4 MB up front, a third of the idle agent; past this many, logging waits for the disk
/// instead of dropping lines.
const BUFFERED_LINES: usize = 2_048;

/// Keeps the file writer flushing; hold it for the life of the program.
pub type LogGuard = tracing_appender::non_blocking::WorkerGuard;

/// Installs the global subscriber. `RUST_LOG` overrides the default `info` level.
/// Returns `None` for the guard when the log folder cannot be used (stderr still works).
pub fn init(log_dir: &Path, file_prefix: &str) -> Option<LogGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer().with_writer(std::io::stderr).with_target(false);
    let appender = RotatingFile::open(log_dir, file_prefix, rotating::MAX_BYTES).ok();
    match appender {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(BUFFERED_LINES)
                .lossy(false)
                .finish(appender);
            let file = fmt::layer().with_writer(writer).with_ansi(false);
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(stderr)
                .with(file)
                .try_init();
            Some(guard)
        }
        None => {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(stderr)
                .try_init();
            tracing::warn!(dir = %log_dir.display(), "cannot write log files; logging to stderr only");
            None
        }
    }
}
