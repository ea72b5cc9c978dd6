//! PDF jobs on Windows: each page rasterized with `hayro` (pure Rust) at the printer's
//! resolution, at most 300 dpi, and stretched onto a GDI page (decision 0003).

use std::sync::Arc;

use hayro::hayro_interpret::font::FontQuery;
use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};

use crate::printing::windows_plan::{
    copies_plan, device_settings, place_page, raster_size, selected_pages,
};
use crate::printing::{PrintError, Submission};

use super::gdi::PrinterDc;
use super::spooler;

/// Prints the PDF `bytes` on `job.printer`; returns the spooler's job id.
pub fn print(job: &Submission<'_>, bytes: &[u8]) -> Result<u32, PrintError> {
    let pdf = Pdf::new(bytes.to_vec())
        .map_err(|e| PrintError::Spooler(format!("the PDF cannot be read: {e:?}")))?;
    let pages = pdf.pages();
    if pages.is_empty() {
        return Err(PrintError::Spooler("the PDF has no pages".into()));
    }
    let (device_copies, repeats) = copies_plan(job.copies, spooler::driver_copies(job.printer));
    let mode = spooler::Printer::open(job.printer)?
        .device_mode(&device_settings(device_copies, job.options))?;
    let mut dc = PrinterDc::create(job.printer, &mode)?;
    let caps = dc.caps();
    let fit = job.options.fit_to_page == Some(true);
    let selected = selected_pages(job.options.page_ranges.as_deref(), pages.len());
    let settings = interpreter_settings();
    let cache = RenderCache::new();
    let id = dc.start_document(job.document_name)?;
    for _ in 0..repeats {
        for &index in &selected {
            let page = &pages[index];
            let (width, height) = page.render_dimensions();
            let target = place_page(width, height, &caps, fit);
            let (raster_w, raster_h) = raster_size(&target, caps.dpi_x);
            let pixmap = hayro::render(
                page,
                &cache,
                &settings,
                &RenderSettings::default(),
                &PixmapSettings {
                    x_scale: f32::from(raster_w) / width.max(1.0),
                    y_scale: f32::from(raster_h) / height.max(1.0),
                    bg_color: WHITE,
                },
            );
            let (w, h) = (i32::from(pixmap.width()), i32::from(pixmap.height()));
            let bgr = to_bgr_rows(pixmap.data_as_u8_slice(), w as usize, h as usize);
            dc.start_page()?;
            dc.bitmap(&target, w, h, &bgr)?;
            dc.end_page()?;
        }
    }
    dc.end_document()?;
    Ok(id)
}

/// Standard fonts from hayro's embedded set; fonts a PDF names without embedding them
/// and that need Chinese (Adobe-GB1 and friends) from the system's CJK font.
fn interpreter_settings() -> InterpreterSettings {
    let cjk = crate::printing::fonts::text_font()
        .and_then(|font| Some((std::fs::read(&font.path).ok()?, font.index)));
    let cjk = cjk.map(|(data, index)| {
        (
            Arc::new(data) as hayro::hayro_interpret::font::FontData,
            index,
        )
    });
    InterpreterSettings {
        font_resolver: Arc::new(move |query| match query {
            FontQuery::Standard(font) => Some(font.get_font_data()),
            FontQuery::Fallback(wanted) => match (&wanted.character_collection, &cjk) {
                (Some(_), Some(font)) => Some(font.clone()),
                _ => Some(wanted.pick_standard_font().get_font_data()),
            },
        }),
        ..InterpreterSettings::default()
    }
}

/// Premultiplied RGBA on white (alpha is opaque after the white background) to the
/// 24-bit BGR rows, padded to 4 bytes, that a DIB wants.
fn to_bgr_rows(rgba: &[u8], width: usize, height: usize) -> Vec<u8> {
    let stride = (width * 3).div_ceil(4) * 4;
    let mut out = vec![0u8; stride * height];
    for (row, pixels) in rgba.chunks_exact(width * 4).take(height).enumerate() {
        let line = &mut out[row * stride..row * stride + width * 3];
        for (dst, src) in line.chunks_exact_mut(3).zip(pixels.chunks_exact(4)) {
            dst[0] = src[2];
            dst[1] = src[1];
            dst[2] = src[0];
        }
    }
    out
}
