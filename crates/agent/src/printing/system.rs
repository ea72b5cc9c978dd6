//! The OS spooler through the `printers` crate: CUPS on Linux and macOS, winspool on Windows.

use std::io::Write;

use printers::common::base::job::{PrinterJobOptions, PrinterJobState};
use printers::common::base::printer::PrinterState as CratePrinterState;

use super::{PrintError, PrinterBackend, PrinterInfo, PrinterState, SpoolerJobState, Submission};

/// The real spooler of this machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemBackend;

fn convert_state(state: &CratePrinterState) -> PrinterState {
    match state {
        CratePrinterState::READY => PrinterState::Ready,
        CratePrinterState::PRINTING => PrinterState::Printing,
        CratePrinterState::PAUSED => PrinterState::Paused,
        CratePrinterState::OFFLINE => PrinterState::Offline,
        CratePrinterState::UNKNOWN => PrinterState::Unknown,
    }
}

impl PrinterBackend for SystemBackend {
    fn printers(&self) -> Vec<PrinterInfo> {
        printers::get_printers()
            .into_iter()
            .map(|p| PrinterInfo {
                state: convert_state(&p.state),
                name: p.name,
                system_name: p.system_name,
                is_default: p.is_default,
            })
            .collect()
    }

    fn submit(&self, job: Submission<'_>) -> Result<u64, PrintError> {
        let printer = printers::get_printer_by_name(job.printer)
            .ok_or_else(|| PrintError::PrinterNotFound(job.printer.to_owned()))?;
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
        let copies = job.copies.to_string();
        let properties = [("copies", copies.as_str())];
        let options = PrinterJobOptions {
            name: Some(job.document_name),
            raw_properties: &properties,
            ..PrinterJobOptions::none()
        };
        printer
            .print_file(&path, options)
            .map_err(|e| PrintError::Spooler(e.message))
    }

    fn job_state(&self, printer: &str, spooler_job_id: u64) -> SpoolerJobState {
        let Some(printer) = printers::get_printer_by_name(printer) else {
            return SpoolerJobState::Unknown;
        };
        if printer
            .get_active_jobs()
            .iter()
            .any(|job| job.id == spooler_job_id)
        {
            return SpoolerJobState::Active;
        }
        match printer
            .get_job_history()
            .into_iter()
            .find(|job| job.id == spooler_job_id)
            .map(|job| job.state)
        {
            Some(PrinterJobState::COMPLETED) => SpoolerJobState::Completed,
            Some(PrinterJobState::CANCELLED) => SpoolerJobState::Cancelled,
            Some(_) => SpoolerJobState::Active,
            None => SpoolerJobState::Unknown,
        }
    }

    fn find_job(&self, printer: &str, document_name: &str) -> Option<u64> {
        let printer = printers::get_printer_by_name(printer)?;
        printer
            .get_active_jobs()
            .into_iter()
            .chain(printer.get_job_history())
            .find(|job| job.name == document_name)
            .map(|job| job.id)
    }
}
