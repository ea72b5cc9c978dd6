//! The OS spooler on Linux and macOS: CUPS through the `printers` crate, and one IPP
//! request of our own for a job's state (`cups_ipp`).

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use printers::common::base::job::PrinterJobOptions;
use printers::common::base::printer::Printer;

use crate::protocol::{Document, Orientation, Sides};

use super::cups_ipp::{self, CupsJobState};
use super::{
    PrintError, PrinterBackend, PrinterInfo, PrinterState, SpoolerJobState, Submission,
    SystemBackend,
};

/// The CUPS destinations, listed at most once per [`Destinations::FRESH`]. Each lookup
/// by name lists every destination (an IPP request and the lpoptions files, ~2 ms), and
/// a job needs two lookups: a burst of jobs would spend more time listing than printing.
#[derive(Debug, Default)]
pub(super) struct Destinations(Mutex<Option<(Instant, Vec<Printer>)>>);

impl Destinations {
    /// How old a listing may be; short enough that the state shown is current.
    const FRESH: Duration = Duration::from_secs(1);

    /// Every destination, listed again when the last listing is stale or `refresh`.
    fn list(&self, refresh: bool) -> Vec<Printer> {
        let mut cached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match cached.as_ref() {
            Some((at, printers)) if !refresh && at.elapsed() < Self::FRESH => printers.clone(),
            _ => {
                let printers = printers::get_printers();
                *cached = Some((Instant::now(), printers.clone()));
                printers
            }
        }
    }

    /// The destination named `name` (queue or display name); a name the listing lacks
    /// is looked up again at once, so a queue added a moment ago is found.
    fn find(&self, name: &str) -> Option<Printer> {
        let matches = |p: &Printer| p.system_name == name || p.name == name;
        self.list(false)
            .into_iter()
            .find(matches)
            .or_else(|| self.list(true).into_iter().find(matches))
    }
}

/// The job attributes handed to CUPS.
fn spooler_properties(job: &Submission<'_>) -> Vec<(&'static str, String)> {
    let mut properties = vec![("copies", job.copies.to_string())];
    match job.document {
        // Printer languages must pass through CUPS untouched.
        Document::Raw(_) => properties.push(("raw", "true".into())),
        Document::Pdf(_) => properties.push(("document-format", "application/pdf".into())),
        Document::Text(_) => properties.push(("document-format", "text/plain".into())),
        // The worker renders these to PDF (or fetches them) before a backend sees them.
        Document::Remote { .. } | Document::Html(_) | Document::Image(_) => {}
    }
    let options = job.options;
    if let Some(media) = &options.media {
        properties.push(("media", media.clone()));
    }
    if let Some(sides) = options.sides {
        let value = match sides {
            Sides::OneSided => "one-sided",
            Sides::TwoSidedLongEdge => "two-sided-long-edge",
            Sides::TwoSidedShortEdge => "two-sided-short-edge",
        };
        properties.push(("sides", value.into()));
    }
    if let Some(orientation) = options.orientation {
        // IPP enum values: 3 portrait, 4 landscape.
        let value = match orientation {
            Orientation::Portrait => "3",
            Orientation::Landscape => "4",
        };
        properties.push(("orientation-requested", value.into()));
    }
    if let Some(ranges) = &options.page_ranges {
        properties.push(("page-ranges", ranges.clone()));
    }
    if options.fit_to_page == Some(true) {
        properties.push(("fit-to-page", "true".into()));
    }
    properties
}

/// CUPS names queues without a driver "Local Raw Printer".
fn is_raw_queue(driver_name: &str) -> bool {
    driver_name == "Local Raw Printer"
}

/// Lays text out as PDF pages with a font covering Chinese; `None` leaves the text to
/// the spooler's own filter (no such font on this machine, or rendering failed).
fn render_text(text: &str) -> Option<Vec<u8>> {
    let font = super::fonts::text_font()?;
    let data = std::fs::read(&font.path).ok()?;
    match super::text_pdf::render(text, data, font.index) {
        Ok(pdf) => Some(pdf),
        Err(error) => {
            tracing::warn!(%error, "text rendering failed; the spooler's text filter prints it");
            None
        }
    }
}

impl PrinterBackend for SystemBackend {
    fn printers(&self) -> Vec<PrinterInfo> {
        self.destinations
            .list(false)
            .into_iter()
            .map(|p| PrinterInfo {
                state: spooler_state(&p.state),
                raw_queue: is_raw_queue(&p.driver_name),
                name: p.name,
                system_name: p.system_name,
                is_default: p.is_default,
            })
            .collect()
    }

    fn submit(&self, job: Submission<'_>) -> Result<u64, PrintError> {
        let printer = self
            .destinations
            .find(job.printer)
            .ok_or_else(|| PrintError::PrinterNotFound(job.printer.to_owned()))?;
        let rendered;
        let job = match job.document {
            Document::Text(text) if !is_raw_queue(&printer.driver_name) => {
                match render_text(text) {
                    Some(pdf) => {
                        rendered = Document::Pdf(pdf);
                        Submission {
                            document: &rendered,
                            ..job
                        }
                    }
                    None => job,
                }
            }
            _ => job,
        };
        // Our own temp file, removed when dropped: the crate's `print()` leaves one behind.
        let mut file = tempfile::Builder::new()
            .prefix("printrelay-")
            .tempfile()
            .map_err(|e| PrintError::SpoolFile(e.to_string()))?;
        file.write_all(job.document.bytes())
            .and_then(|()| file.flush())
            .map_err(|e| PrintError::SpoolFile(e.to_string()))?;
        let path = file
            .path()
            .to_str()
            .ok_or_else(|| PrintError::SpoolFile("temp path is not UTF-8".into()))?
            .to_owned();
        let properties = spooler_properties(&job);
        let borrowed: Vec<(&str, &str)> =
            properties.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let options = PrinterJobOptions {
            name: Some(job.document_name),
            raw_properties: &borrowed,
            ..PrinterJobOptions::none()
        };
        printer.print_file(&path, options).map_err(|e| {
            if cups_ipp::last_error_is_temporary() {
                PrintError::SpoolerBusy(e.message)
            } else {
                PrintError::Spooler(e.message)
            }
        })
    }

    fn job_state(&self, printer: &str, spooler_job_id: u64) -> SpoolerJobState {
        match cups_ipp::job_state(printer, spooler_job_id) {
            // Not an answer about the job: it stays watched and is asked about again.
            CupsJobState::Active | CupsJobState::Held | CupsJobState::NoAnswer => {
                SpoolerJobState::Active
            }
            CupsJobState::Completed => SpoolerJobState::Completed,
            CupsJobState::Canceled => SpoolerJobState::Cancelled,
            CupsJobState::Aborted => SpoolerJobState::Aborted,
            CupsJobState::Unknown => SpoolerJobState::Unknown,
        }
    }

    fn job_states(&self, printer: &str, spooler_job_ids: &[u64]) -> Vec<SpoolerJobState> {
        // One look at the queue; only the jobs that left it are asked about one by one.
        let active = cups_ipp::active_job_ids(printer);
        spooler_job_ids
            .iter()
            .map(|id| match &active {
                Some(active) if active.contains(id) => SpoolerJobState::Active,
                _ => self.job_state(printer, *id),
            })
            .collect()
    }

    fn find_job(&self, printer: &str, document_name: &str) -> Option<u64> {
        let queue = self.destinations.find(printer)?;
        let id = queue
            .get_active_jobs()
            .into_iter()
            .chain(queue.get_job_history())
            .find(|job| job.name == document_name)
            .map(|job| job.id)?;
        // A held job has not printed. It may be one whose document never arrived (the
        // agent died inside the submission; CUPS would hold it until its timeout and then
        // abort it, unprinted): cancel it, and the job is printed again.
        if cups_ipp::job_state(printer, id) == CupsJobState::Held {
            tracing::info!(
                spooler_id = id,
                "a held job of ours from before a restart; cancelling it to print again"
            );
            return match queue.cancel_job(id) {
                Ok(_) => None,
                // Not cancelled: it stays the job we follow, rather than risk two.
                Err(error) => {
                    tracing::warn!(spooler_id = id, error = %error.message, "cannot cancel a held job");
                    Some(id)
                }
            };
        }
        Some(id)
    }

    fn default_paper_mm(&self, printer: &str) -> Option<(f64, f64)> {
        cups_ipp::media_default(printer).and_then(|name| super::paper::pwg_size_mm(&name))
    }

    fn cancel(&self, printer: &str, spooler_job_id: u64) -> Result<(), PrintError> {
        let printer = self
            .destinations
            .find(printer)
            .ok_or_else(|| PrintError::PrinterNotFound(printer.to_owned()))?;
        printer
            .cancel_job(spooler_job_id)
            .map_err(|e| PrintError::Spooler(e.message))
    }
}

/// The `printers` crate's printer state in the agent's terms.
fn spooler_state(state: &printers::common::base::printer::PrinterState) -> PrinterState {
    use printers::common::base::printer::PrinterState as Crate;
    match state {
        Crate::READY => PrinterState::Ready,
        Crate::PRINTING => PrinterState::Printing,
        Crate::PAUSED => PrinterState::Paused,
        Crate::OFFLINE => PrinterState::Offline,
        Crate::UNKNOWN => PrinterState::Unknown,
    }
}
