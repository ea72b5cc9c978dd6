//! An in-memory spooler for unit tests of the job logic.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::{PrintError, PrinterBackend, PrinterInfo, PrinterState, SpoolerJobState, Submission};

/// Records submissions; every job completes at once unless `submit_delay` is set.
#[derive(Debug, Default)]
pub struct FakeBackend {
    /// Printers it reports.
    pub printers: Vec<PrinterInfo>,
    /// How long `submit` blocks, to imitate a slow spooler.
    pub submit_delay: Duration,
    /// Every accepted job.
    pub submitted: Mutex<Vec<FakeSubmission>>,
    /// How many submissions to refuse as "busy" before taking jobs again.
    pub busy_refusals: AtomicUsize,
    /// What the spooler says of every job it took (`None`: completed at once).
    pub answer: Option<SpoolerJobState>,
    /// Refuse to cancel jobs.
    pub refuse_cancel: bool,
}

/// A job the fake spooler accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSubmission {
    pub printer: String,
    pub document_name: String,
    pub bytes: Vec<u8>,
    pub copies: u32,
}

impl FakeBackend {
    /// A backend with one ready default printer called `name`.
    pub fn with_printer(name: &str) -> Self {
        Self {
            printers: vec![PrinterInfo {
                name: name.into(),
                system_name: name.into(),
                is_default: true,
                state: PrinterState::Ready,
                raw_queue: false,
            }],
            ..Self::default()
        }
    }

    /// How many jobs were submitted so far.
    pub fn submitted_count(&self) -> usize {
        self.submitted.lock().map(|s| s.len()).unwrap_or(0)
    }
}

impl PrinterBackend for FakeBackend {
    fn printers(&self) -> Vec<PrinterInfo> {
        self.printers.clone()
    }

    fn submit(&self, job: Submission<'_>) -> Result<u64, PrintError> {
        std::thread::sleep(self.submit_delay);
        let refuse = self
            .busy_refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if refuse.is_ok() {
            return Err(PrintError::SpoolerBusy("too many jobs".into()));
        }
        if !self.printers.iter().any(|p| p.system_name == job.printer) {
            return Err(PrintError::PrinterNotFound(job.printer.into()));
        }
        let mut submitted = self
            .submitted
            .lock()
            .map_err(|_| PrintError::Spooler("fake spooler poisoned".into()))?;
        submitted.push(FakeSubmission {
            printer: job.printer.into(),
            document_name: job.document_name.into(),
            bytes: job.document.bytes().to_vec(),
            copies: job.copies,
        });
        Ok(submitted.len() as u64)
    }

    fn job_state(&self, _printer: &str, _spooler_job_id: u64) -> SpoolerJobState {
        self.answer.unwrap_or(SpoolerJobState::Completed)
    }

    fn find_job(&self, _printer: &str, document_name: &str) -> Option<u64> {
        let submitted = self.submitted.lock().ok()?;
        submitted
            .iter()
            .position(|job| job.document_name == document_name)
            .map(|index| index as u64 + 1)
    }

    fn cancel(&self, _printer: &str, _spooler_job_id: u64) -> Result<(), PrintError> {
        if self.refuse_cancel {
            return Err(PrintError::Spooler("not allowed to cancel".into()));
        }
        Ok(())
    }
}
