//! The Windows spooler: printers and the default listed by winspool itself; raw jobs
//! written to winspool untouched; text laid out and PDF pages rasterized onto pages
//! through GDI (never sent RAW); job completion followed by the
//! spooler's job id. All calls block (the job worker runs them on the blocking pool).

mod gdi;
mod paper;
mod pdf;
mod spooler;
mod text;

use crate::protocol::Document;

use super::windows_plan::{job_state, printer_state};
use super::{PrintError, PrinterBackend, PrinterInfo, SpoolerJobState, Submission, SystemBackend};

impl PrinterBackend for SystemBackend {
    /// Windows removes a printed job from its queue (and Wine never lists jobs).
    fn forgets_printed_jobs(&self) -> bool {
        true
    }

    fn default_paper_mm(&self, printer: &str) -> Option<(f64, f64)> {
        paper::default_paper_mm(printer)
    }

    fn printers(&self) -> Vec<PrinterInfo> {
        let default = spooler::default_printer();
        spooler::list_printers()
            .into_iter()
            .map(|p| PrinterInfo {
                state: printer_state(p.status),
                // Raw data is chosen per job on Windows (`raw_base64`), not per queue.
                raw_queue: false,
                is_default: default.as_deref() == Some(p.name.as_str()),
                name: p.name.clone(),
                system_name: p.name,
            })
            .collect()
    }

    fn submit(&self, job: Submission<'_>) -> Result<u64, PrintError> {
        let id = match job.document {
            Document::Raw(bytes) => spooler::Printer::open(job.printer)?.write_raw(
                job.document_name,
                bytes,
                job.copies,
            )?,
            Document::Text(text) => text::print(&job, text)?,
            Document::Pdf(bytes) => pdf::print(&job, bytes)?,
            Document::Remote { url, .. } => {
                return Err(PrintError::Spooler(format!(
                    "the document at {url} was not fetched"
                )))
            }
            // The worker renders both to PDF before a backend sees them.
            Document::Html(_) | Document::Image(_) => {
                return Err(PrintError::Spooler("the document was not rendered".into()))
            }
        };
        Ok(u64::from(id))
    }

    fn job_state(&self, printer: &str, spooler_job_id: u64) -> SpoolerJobState {
        let (Ok(printer), Ok(id)) = (
            spooler::Printer::open(printer),
            u32::try_from(spooler_job_id),
        ) else {
            return SpoolerJobState::Unknown;
        };
        // A job the queue no longer lists is Unknown, not Completed: Windows removes
        // printed and deleted jobs alike (and Wine never lists jobs at all).
        printer
            .job_status(id)
            .map_or(SpoolerJobState::Unknown, job_state)
    }

    fn find_job(&self, printer: &str, document_name: &str) -> Option<u64> {
        spooler::Printer::open(printer)
            .ok()?
            .find_job(document_name)
            .map(u64::from)
    }

    fn cancel(&self, printer: &str, spooler_job_id: u64) -> Result<(), PrintError> {
        let id = u32::try_from(spooler_job_id)
            .map_err(|_| PrintError::Spooler(format!("no spooler job {spooler_job_id}")))?;
        spooler::Printer::open(printer)?.cancel(id)
    }
}

/// A NUL-terminated UTF-16 copy of `text`, as Win32 takes strings.
fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

/// The text of a fixed-size, NUL-padded UTF-16 field.
fn from_wide(field: &[u16]) -> String {
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    String::from_utf16_lossy(&field[..end])
}
