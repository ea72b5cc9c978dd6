//! Local printers: the [`PrinterBackend`] trait, its system implementation and a fake for tests.
//!
//! Every backend call blocks (FFI into CUPS or winspool): callers run them in
//! `tokio::task::spawn_blocking`, never on a runtime thread.

#[cfg(not(windows))]
mod cups_ipp;
mod fake;
mod fonts;
mod layout;
pub mod paper;
#[cfg(not(windows))]
mod system;
pub mod text_pdf;
#[cfg(windows)]
mod windows;
// Used by `windows/` only; compiled everywhere so its tests run on every platform.
#[cfg_attr(not(windows), allow(dead_code))]
mod windows_plan;

pub use fake::{FakeBackend, FakeSubmission};

/// The real spooler of this machine: CUPS on Linux and macOS (`system.rs`), winspool
/// and GDI on Windows (`windows/`). Make one and share it: it caches the printer list
/// for a moment.
#[derive(Debug, Default)]
pub struct SystemBackend {
    #[cfg(not(windows))]
    destinations: system::Destinations,
}

use crate::protocol::{Document, PrintOptions};

/// The printer types are the wire's: the agent reports them as they are.
pub use crate::protocol::{PrinterInfo, PrinterState};

/// What the spooler says of one submitted job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpoolerJobState {
    /// Still queued or printing.
    Active,
    Completed,
    Cancelled,
    /// Ended by an error in the spooler (a filter or the device's backend failed).
    Aborted,
    /// The spooler no longer knows the job.
    Unknown,
}

/// A failed printer operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("printer {0:?} not found")]
    PrinterNotFound(String),
    #[error("no printer is selected and the system has no default printer")]
    NoPrinter,
    #[error("cannot write the spool file: {0}")]
    SpoolFile(String),
    #[error("the spooler refused the job: {0}")]
    Spooler(String),
    /// The spooler cannot take a job now (its queue is full, or it is busy) but may
    /// later: the job waits and is submitted again.
    #[error("the spooler is busy, try again later: {0}")]
    SpoolerBusy(String),
}

/// A job as handed to a backend.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    /// Queue name ([`PrinterInfo::system_name`]).
    pub printer: &'a str,
    /// Shown in the spooler's queue; carries the job id so a restarted agent can find it.
    pub document_name: &'a str,
    pub document: &'a Document,
    pub copies: u32,
    pub options: &'a PrintOptions,
}

/// Access to the machine's printers. All methods block.
pub trait PrinterBackend: Send + Sync + std::fmt::Debug + 'static {
    /// All printers the spooler knows.
    fn printers(&self) -> Vec<PrinterInfo>;
    /// Submits a job and returns the spooler's job id.
    fn submit(&self, job: Submission<'_>) -> Result<u64, PrintError>;
    /// The spooler's view of a job submitted earlier.
    fn job_state(&self, printer: &str, spooler_job_id: u64) -> SpoolerJobState;
    /// The spooler's view of several jobs on one printer, in the order asked. Backends
    /// that can should look at the queue once for all of them (a burst has hundreds).
    fn job_states(&self, printer: &str, spooler_job_ids: &[u64]) -> Vec<SpoolerJobState> {
        spooler_job_ids
            .iter()
            .map(|id| self.job_state(printer, *id))
            .collect()
    }
    /// The spooler id of a job on `printer` named `document_name`, if the spooler still knows it.
    fn find_job(&self, printer: &str, document_name: &str) -> Option<u64>;
    /// Cancels a job the spooler holds.
    fn cancel(&self, printer: &str, spooler_job_id: u64) -> Result<(), PrintError>;
    /// The printer's default paper, width and height in millimetres, if it says: the
    /// page of an HTML job whose CSS names none.
    fn default_paper_mm(&self, _printer: &str) -> Option<(f64, f64)> {
        None
    }
    /// True when the spooler drops printed jobs from its list, so a job it no longer
    /// knows may well have printed (Windows). CUPS keeps finished jobs in its history:
    /// there a job it stops knowing was lost, and ends `spooler_lost`.
    fn forgets_printed_jobs(&self) -> bool {
        false
    }
}

/// Picks the queue for a job: the explicit name if it exists, else the system default.
pub fn resolve_printer(
    printers: &[PrinterInfo],
    wanted: Option<&str>,
) -> Result<PrinterInfo, PrintError> {
    match wanted {
        Some(name) => printers
            .iter()
            .find(|p| p.system_name == name || p.name == name)
            .cloned()
            .ok_or_else(|| PrintError::PrinterNotFound(name.to_owned())),
        None => printers
            .iter()
            .find(|p| p.is_default)
            .cloned()
            .ok_or(PrintError::NoPrinter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer(name: &str, is_default: bool) -> PrinterInfo {
        PrinterInfo {
            name: format!("{name} display"),
            system_name: name.into(),
            is_default,
            state: PrinterState::Ready,
            raw_queue: false,
        }
    }

    #[test]
    fn resolves_by_queue_name_display_name_or_default() {
        let list = [printer("A", false), printer("B", true)];
        assert_eq!(
            resolve_printer(&list, Some("A")).map(|p| p.system_name),
            Ok("A".into())
        );
        assert_eq!(
            resolve_printer(&list, Some("A display")).map(|p| p.system_name),
            Ok("A".into())
        );
        assert_eq!(
            resolve_printer(&list, None).map(|p| p.system_name),
            Ok("B".into())
        );
        assert_eq!(
            resolve_printer(&list, Some("C")),
            Err(PrintError::PrinterNotFound("C".into()))
        );
        assert_eq!(
            resolve_printer(&list[..1], None),
            Err(PrintError::NoPrinter)
        );
    }
}
