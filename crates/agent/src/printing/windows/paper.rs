//! The printer's default paper as its driver states it: the default device mode's paper
//! id, looked up among the papers the driver lists (`DeviceCapabilitiesW`). Blocking;
//! called by the job worker on the blocking pool (the page of an HTML job without one).
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ptr;

use windows_sys::Win32::Foundation::POINT;
use windows_sys::Win32::Graphics::Gdi::{DM_PAPERLENGTH, DM_PAPERSIZE, DM_PAPERWIDTH};
use windows_sys::Win32::Storage::Xps::{DeviceCapabilitiesW, DC_PAPERS, DC_PAPERSIZE};

use super::spooler::Printer;
use super::wide;
use crate::printing::windows_plan::{DefaultPaper, DeviceSettings};

/// Papers a driver may list; more are ignored.
const MAX_PAPERS: usize = 1024;

/// `printer`'s default paper in millimetres (portrait), if its driver says.
pub fn default_paper_mm(printer: &str) -> Option<(f64, f64)> {
    let mode = Printer::open(printer)
        .ok()?
        .device_mode(&DeviceSettings::default())
        .ok()?;
    // SAFETY: `as_ptr` points at the DEVMODEW the driver wrote, alive with `mode`.
    let devmode = unsafe { &*mode.as_ptr() };
    // SAFETY: printers set the paper fields of the union's printer variant.
    let (id, width, length) = unsafe {
        let fields = devmode.Anonymous1.Anonymous1;
        (
            fields.dmPaperSize,
            fields.dmPaperWidth,
            fields.dmPaperLength,
        )
    };
    let has = |flag| devmode.dmFields & flag != 0;
    let paper = DefaultPaper {
        id: has(DM_PAPERSIZE).then_some(id),
        size: (has(DM_PAPERWIDTH) && has(DM_PAPERLENGTH)).then_some((width, length)),
        driver_papers: driver_papers(printer),
    };
    paper.millimetres()
}

/// The papers the driver lists: ids beside sizes in tenths of a millimetre.
fn driver_papers(printer: &str) -> Vec<(u16, (i32, i32))> {
    let name = wide(printer);
    let count = |capability| {
        // SAFETY: `name` is NUL-terminated; with a null output the call only counts.
        let n = unsafe {
            DeviceCapabilitiesW(
                name.as_ptr(),
                ptr::null(),
                capability,
                ptr::null_mut(),
                ptr::null(),
            )
        };
        usize::try_from(n).unwrap_or(0).min(MAX_PAPERS)
    };
    let papers = count(DC_PAPERS);
    if papers == 0 || count(DC_PAPERSIZE) != papers {
        return Vec::new();
    }
    let mut ids = vec![0u16; papers];
    let mut sizes = vec![POINT { x: 0, y: 0 }; papers];
    // SAFETY: each buffer holds the count the driver gave for its capability (WORDs for
    // DC_PAPERS, POINTs for DC_PAPERSIZE); the output parameter is typed PWSTR only.
    let (got_ids, got_sizes) = unsafe {
        (
            DeviceCapabilitiesW(
                name.as_ptr(),
                ptr::null(),
                DC_PAPERS,
                ids.as_mut_ptr(),
                ptr::null(),
            ),
            DeviceCapabilitiesW(
                name.as_ptr(),
                ptr::null(),
                DC_PAPERSIZE,
                sizes.as_mut_ptr().cast(),
                ptr::null(),
            ),
        )
    };
    if usize::try_from(got_ids).ok() != Some(papers)
        || usize::try_from(got_sizes).ok() != Some(papers)
    {
        return Vec::new();
    }
    ids.into_iter()
        .zip(sizes.into_iter().map(|p| (p.x, p.y)))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::printing::windows_plan::{paper, DefaultPaper, Paper};

    /// The paper a CUPS queue's PPD names as its default (`*DefaultPageSize:`), read
    /// through Wine's `Z:` drive: what winspool is to report.
    fn ppd_default_mm(queue: &str) -> Option<(f64, f64)> {
        let ppd = std::fs::read_to_string(format!("Z:\\etc\\cups\\ppd\\{queue}.ppd")).ok()?;
        let name = ppd
            .lines()
            .find_map(|line| line.strip_prefix("*DefaultPageSize:"))?
            .trim();
        let Some(Paper::Standard(id)) = paper(name) else {
            return None;
        };
        DefaultPaper {
            id: Some(id),
            ..DefaultPaper::default()
        }
        .millimetres()
    }

    /// Under Wine (scripts/test.sh runs this build's tests there), winspool reaches the
    /// CUPS queues scripts/setup.sh made: each one's default paper is its PPD's (here
    /// A4 for PrintRelayPDF, Letter for PrintRelayPDFOut).
    #[test]
    fn a_queue_says_the_default_paper_of_its_ppd() {
        for queue in ["PrintRelayPDF", "PrintRelayPDFOut"] {
            let Some(expected) = ppd_default_mm(queue) else {
                crate::skip::skip_or_fail(&format!("no PPD for {queue} (scripts/setup.sh test)"))
                    .expect("the queue on CI");
                continue;
            };
            let got = super::default_paper_mm(queue).expect("a default paper");
            assert!(
                (got.0 - expected.0).abs() < 1.0 && (got.1 - expected.1).abs() < 1.0,
                "{queue}: {got:?}, its PPD says {expected:?}"
            );
        }
    }
}
