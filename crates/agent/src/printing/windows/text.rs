//! Text jobs on Windows: laid out with the printer font's real widths (shared
//! pagination, `printing/layout.rs`) and drawn line by line through GDI.

use crate::printing::layout;
use crate::printing::windows_plan::{
    copies_plan, device_settings, pick_face, selected_pages, TextFrame,
};
use crate::printing::{PrintError, Submission};

use super::gdi::PrinterDc;
use super::spooler;

/// Prints `text` on `job.printer`; returns the spooler's job id.
pub fn print(job: &Submission<'_>, text: &str) -> Result<u32, PrintError> {
    let (device_copies, repeats) = copies_plan(job.copies, spooler::driver_copies(job.printer));
    let mode = spooler::Printer::open(job.printer)?
        .device_mode(&device_settings(device_copies, job.options))?;
    let mut dc = PrinterDc::create(job.printer, &mode)?;
    let frame = TextFrame::for_device(&dc.caps());
    let face = pick_face(&dc.chinese_faces());
    tracing::debug!(?face, ?frame, "laying out a text job");
    dc.use_font(face.as_deref(), frame.font_px)?;
    let pages = layout::paginate(
        text,
        frame.area.width as f32,
        frame.lines_per_page(),
        &mut |c| dc.char_width(c),
    );
    let selected = selected_pages(job.options.page_ranges.as_deref(), pages.len());
    let id = dc.start_document(job.document_name)?;
    for _ in 0..repeats {
        for &index in &selected {
            dc.start_page()?;
            for (row, line) in pages[index].iter().enumerate() {
                let top = frame.area.top + row as i32 * frame.line_px;
                dc.text(frame.area.left, top, line);
            }
            dc.end_page()?;
        }
    }
    dc.end_document()?;
    Ok(id)
}
