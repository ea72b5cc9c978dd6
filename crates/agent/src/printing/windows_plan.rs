//! What the Windows backend asks of winspool and GDI, as plain values: device-mode
//! settings from job options, the meaning of spooler job status bits, the text font,
//! where text and PDF pages go on the paper, and which pages to print. Pure and
//! platform-neutral so it is unit-tested everywhere; `windows/` applies it.

use crate::protocol::{Orientation, PrintOptions, Sides};

use super::{PrinterState, SpoolerJobState};

/// Text typography, the same as the PDF path's (decision 0002): 11 pt type, lines
/// 1.45 times that, 48 pt margins from the paper's edge.
const FONT_POINTS: f32 = 11.0;
const LINE_SPACING: f32 = 1.45;
const MARGIN_POINTS: f32 = 48.0;
/// PDF pages are rasterized at most this fine; GDI stretches them to the device.
const MAX_RASTER_DPI: i32 = 300;
/// And at most this many pixels (A2 at 300 dpi), so a plotter's roll paper cannot
/// ask for gigabytes.
const MAX_RASTER_PIXELS: f32 = 36_000_000.0;

/// Device-mode (DEVMODE) fields to set for a GDI job; `None` keeps the driver's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceSettings {
    /// `dmCopies` (collated).
    pub copies: Option<i16>,
    /// `dmOrientation`: 1 portrait, 2 landscape.
    pub orientation: Option<i16>,
    pub paper: Option<Paper>,
    /// `dmDuplex`: 1 simplex, 2 long edge (vertical), 3 short edge (horizontal).
    pub duplex: Option<i16>,
}

/// A paper size as DEVMODE names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// A `DMPAPER_*` id.
    Standard(i16),
    /// `dmPaperWidth` x `dmPaperLength` in tenths of a millimetre.
    Custom { width: i16, length: i16 },
}

/// The device-mode fields for `copies` and the job's layout options.
pub fn device_settings(copies: u32, options: &PrintOptions) -> DeviceSettings {
    DeviceSettings {
        copies: (copies > 1).then(|| copies.min(i16::MAX as u32) as i16),
        orientation: options.orientation.map(|o| match o {
            Orientation::Portrait => 1,
            Orientation::Landscape => 2,
        }),
        paper: options.media.as_deref().and_then(paper),
        duplex: options.sides.map(|s| match s {
            Sides::OneSided => 1,
            Sides::TwoSidedLongEdge => 2,
            Sides::TwoSidedShortEdge => 3,
        }),
    }
}

/// How `copies` are made: by the driver (device-mode copies) when it can make that
/// many (`driver_max`, its `DC_COPIES`), else by printing the document that many
/// times. Returns (device-mode copies, times to print the document).
pub fn copies_plan(copies: u32, driver_max: u32) -> (u32, u32) {
    let copies = copies.max(1);
    if copies <= driver_max {
        (copies, 1)
    } else {
        (1, copies)
    }
}

/// Standard papers: DMPAPER id, short names, size in tenths of a millimetre.
const PAPERS: &[(i16, &[&str], i16, i16)] = &[
    (1, &["letter"], 2159, 2794),
    (5, &["legal"], 2159, 3556),
    (7, &["executive"], 1842, 2667),
    (3, &["tabloid", "ledger"], 2794, 4318),
    (8, &["a3"], 2970, 4200),
    (9, &["a4"], 2100, 2970),
    (11, &["a5"], 1480, 2100),
    (70, &["a6"], 1050, 1480),
    (13, &["b5", "jis-b5"], 1820, 2570),
    (20, &["env10", "com10"], 1048, 2413),
    (27, &["dl", "envdl"], 1100, 2200),
];

/// What a printer's default device mode says of its paper, and the papers its driver
/// lists (`DC_PAPERS` ids beside `DC_PAPERSIZE` sizes, tenths of a millimetre).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefaultPaper {
    /// `dmPaperSize`, when `DM_PAPERSIZE` is set.
    pub id: Option<i16>,
    /// `dmPaperWidth` x `dmPaperLength`, when both are set.
    pub size: Option<(i16, i16)>,
    pub driver_papers: Vec<(u16, (i32, i32))>,
}

impl DefaultPaper {
    /// The paper in millimetres, portrait: the id among the driver's own papers (label
    /// printers name their sizes with ids of their own), else among the standard ones,
    /// else the explicit width and length.
    pub fn millimetres(&self) -> Option<(f64, f64)> {
        let from_driver = self.id.and_then(|id| {
            let id = u16::try_from(id).ok()?;
            self.driver_papers
                .iter()
                .find(|(paper, _)| *paper == id)
                .map(|(_, size)| *size)
        });
        let standard = self.id.and_then(|id| {
            PAPERS
                .iter()
                .find(|(paper, ..)| *paper == id)
                .map(|(_, _, w, l)| (i32::from(*w), i32::from(*l)))
        });
        let explicit = self.size.map(|(w, l)| (i32::from(w), i32::from(l)));
        let (width, length) = from_driver.or(standard).or(explicit)?;
        if width <= 0 || length <= 0 {
            return None;
        }
        let (short, long) = (width.min(length), width.max(length));
        Some((f64::from(short) / 10.0, f64::from(long) / 10.0))
    }
}

/// Maps a media name (`A4`, `Letter`, or a PWG name such as `iso_a4_210x297mm` or
/// `om_label_100x150mm`) to a paper; sizes that match no standard paper are custom.
pub fn paper(media: &str) -> Option<Paper> {
    let lower = media.to_ascii_lowercase();
    if let Some((id, ..)) = PAPERS
        .iter()
        .find(|(_, names, ..)| names.contains(&lower.as_str()))
    {
        return Some(Paper::Standard(*id));
    }
    let (width, length) = pwg_size(&lower)?;
    let standard = PAPERS.iter().find(|(_, _, w, l)| {
        (i32::from(*w) - i32::from(width)).abs() <= 10
            && (i32::from(*l) - i32::from(length)).abs() <= 10
    });
    Some(match standard {
        Some((id, ..)) => Paper::Standard(*id),
        None => Paper::Custom { width, length },
    })
}

/// The size at the end of a PWG self-describing name (`..._100x150mm`, `..._4x6in`),
/// in tenths of a millimetre.
fn pwg_size(name: &str) -> Option<(i16, i16)> {
    let size = name.rsplit('_').next()?;
    let (numbers, tenths_per_unit) = if let Some(mm) = size.strip_suffix("mm") {
        (mm, 10.0)
    } else {
        (size.strip_suffix("in")?, 254.0)
    };
    let (w, l) = numbers.split_once('x')?;
    let tenths = |v: &str| -> Option<i16> {
        let value = v.parse::<f32>().ok()? * tenths_per_unit;
        (value >= 1.0 && value <= f32::from(i16::MAX)).then(|| value.round() as i16)
    };
    Some((tenths(w)?, tenths(l)?))
}

/// Spooler job status bits (`JOB_INFO_1::Status`).
mod status {
    pub const DELETING: u32 = 0x4;
    pub const PRINTED: u32 = 0x80;
    pub const DELETED: u32 = 0x100;
    pub const COMPLETE: u32 = 0x1000;
}

/// What a job's status bits mean to the agent. `PRINTED`/`COMPLETE` (handed to the
/// printer) is `completed`, as CUPS says once its backend sent the job; deleting
/// without having printed is `cancelled`; everything else is still active.
pub fn job_state(status_bits: u32) -> SpoolerJobState {
    if status_bits & (status::PRINTED | status::COMPLETE) != 0 {
        SpoolerJobState::Completed
    } else if status_bits & (status::DELETING | status::DELETED) != 0 {
        SpoolerJobState::Cancelled
    } else {
        SpoolerJobState::Active
    }
}

/// Printer status bits (`PRINTER_INFO_2::Status`) the agent tells apart.
mod printer_status {
    pub const PAUSED: u32 = 0x1;
    pub const ERROR: u32 = 0x2;
    pub const PAPER_JAM: u32 = 0x8;
    pub const PAPER_OUT: u32 = 0x10;
    pub const OFFLINE: u32 = 0x80;
    pub const PRINTING: u32 = 0x400;
    pub const NOT_AVAILABLE: u32 = 0x1000;
    pub const PROCESSING: u32 = 0x4000;
}

/// What a printer's status bits mean to the agent: paused wins, then anything that
/// stops paper coming out (offline, error, jam, out of paper, not available), then
/// printing; no bits is ready.
pub fn printer_state(status_bits: u32) -> PrinterState {
    use printer_status::*;
    if status_bits & PAUSED != 0 {
        PrinterState::Paused
    } else if status_bits & (OFFLINE | ERROR | PAPER_JAM | PAPER_OUT | NOT_AVAILABLE) != 0 {
        PrinterState::Offline
    } else if status_bits & (PRINTING | PROCESSING) != 0 {
        PrinterState::Printing
    } else {
        PrinterState::Ready
    }
}

/// Font families for text jobs, best first: the Chinese UI fonts every Windows has,
/// then CJK fonts common where Windows programs run on Linux (Wine). WenQuanYi comes
/// before Noto there because its glyph names survive Wine's PostScript driver, which
/// keeps printed text searchable.
const TEXT_FACES: &[&str] = &[
    "Microsoft YaHei",
    "微软雅黑",
    "SimSun",
    "宋体",
    "NSimSun",
    "Microsoft JhengHei",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "AR PL UMing CN",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Droid Sans Fallback",
];

/// The family to print text with, from the families that cover Chinese on this
/// printer: a preferred one, else any (vertical `@` families never).
pub fn pick_face(available: &[String]) -> Option<String> {
    TEXT_FACES
        .iter()
        .find(|face| available.iter().any(|a| a.eq_ignore_ascii_case(face)))
        .map(|face| (*face).to_owned())
        .or_else(|| available.iter().find(|a| !a.starts_with('@')).cloned())
}

/// A printer page as GDI's `GetDeviceCaps` describes it, in device pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCaps {
    pub dpi_x: i32,
    pub dpi_y: i32,
    /// The whole sheet (`PHYSICALWIDTH`/`PHYSICALHEIGHT`).
    pub paper_width: i32,
    pub paper_height: i32,
    /// Unprintable edge at the left and top (`PHYSICALOFFSETX/Y`); the DC's origin.
    pub offset_x: i32,
    pub offset_y: i32,
    /// The printable area (`HORZRES`/`VERTRES`).
    pub printable_width: i32,
    pub printable_height: i32,
}

/// A rectangle in device pixels, relative to the DC's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub left: i32,
    pub top: i32,
    pub width: i32,
    pub height: i32,
}

/// Where text goes and how big it is on one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextFrame {
    pub area: Rect,
    /// Font height (em) in device pixels.
    pub font_px: i32,
    pub line_px: i32,
}

impl TextFrame {
    /// The frame for a device: margins measured from the paper's edge, never outside
    /// the printable area.
    pub fn for_device(caps: &DeviceCaps) -> Self {
        let px = |points: f32, dpi: i32| (points * dpi as f32 / 72.0).round() as i32;
        let margin_x = px(MARGIN_POINTS, caps.dpi_x);
        let margin_y = px(MARGIN_POINTS, caps.dpi_y);
        let left = (margin_x - caps.offset_x).max(0);
        let top = (margin_y - caps.offset_y).max(0);
        let right_edge = (caps.paper_width - margin_x - caps.offset_x).min(caps.printable_width);
        let bottom_edge = (caps.paper_height - margin_y - caps.offset_y).min(caps.printable_height);
        let font_px = px(FONT_POINTS, caps.dpi_y).max(1);
        Self {
            area: Rect {
                left,
                top,
                width: (right_edge - left).max(1),
                height: (bottom_edge - top).max(1),
            },
            font_px,
            line_px: ((font_px as f32) * LINE_SPACING).round().max(1.0) as i32,
        }
    }

    /// Whole lines that fit the area.
    pub fn lines_per_page(&self) -> usize {
        (self.area.height / self.line_px).max(1) as usize
    }
}

/// Where a PDF page of `width` x `height` points lands: at its actual size from the
/// paper's corner when it fits the paper and `fit` is off, else scaled down (or, with
/// `fit`, up) to the printable area and centred there.
pub fn place_page(width: f32, height: f32, caps: &DeviceCaps, fit: bool) -> Rect {
    let width = width.max(1.0);
    let height = height.max(1.0);
    let actual_w = width * caps.dpi_x as f32 / 72.0;
    let actual_h = height * caps.dpi_y as f32 / 72.0;
    let fits_paper =
        actual_w <= caps.paper_width as f32 + 1.0 && actual_h <= caps.paper_height as f32 + 1.0;
    if fits_paper && !fit {
        return Rect {
            left: -caps.offset_x,
            top: -caps.offset_y,
            width: actual_w.round() as i32,
            height: actual_h.round() as i32,
        };
    }
    let scale =
        (caps.printable_width as f32 / actual_w).min(caps.printable_height as f32 / actual_h);
    let w = (actual_w * scale).round() as i32;
    let h = (actual_h * scale).round() as i32;
    Rect {
        left: (caps.printable_width - w) / 2,
        top: (caps.printable_height - h) / 2,
        width: w.max(1),
        height: h.max(1),
    }
}

/// The bitmap size to rasterize a page placed at `target` with: the device's
/// resolution, at most [`MAX_RASTER_DPI`] and [`MAX_RASTER_PIXELS`] (and what a
/// 16-bit bitmap side allows).
pub fn raster_size(target: &Rect, dpi: i32) -> (u16, u16) {
    let mut factor = if dpi > MAX_RASTER_DPI {
        MAX_RASTER_DPI as f32 / dpi as f32
    } else {
        1.0
    };
    let pixels = target.width.max(1) as f32 * target.height.max(1) as f32 * factor * factor;
    if pixels > MAX_RASTER_PIXELS {
        factor *= (MAX_RASTER_PIXELS / pixels).sqrt();
    }
    let side = |v: i32| ((v as f32 * factor).round() as i64).clamp(1, i64::from(u16::MAX)) as u16;
    (side(target.width), side(target.height))
}

/// Zero-based indexes of the pages a range list such as `1-3,5` selects out of
/// `count`, in document order; `None` or a list that selects nothing means all.
pub fn selected_pages(ranges: Option<&str>, count: usize) -> Vec<usize> {
    let all = || (0..count).collect();
    let Some(ranges) = ranges else {
        return all();
    };
    let mut wanted = vec![false; count];
    for part in ranges.split(',') {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok(), b.parse::<usize>().ok()),
            None => (part.parse().ok(), part.parse().ok()),
        };
        // `-3` is "up to 3", `5-` "from 5".
        let first = first.unwrap_or(1).max(1);
        let last = last.unwrap_or(count).min(count);
        for page in first..=last {
            wanted[page - 1] = true;
        }
    }
    let chosen: Vec<usize> = (0..count).filter(|&i| wanted[i]).collect();
    if chosen.is_empty() {
        all()
    } else {
        chosen
    }
}

#[cfg(test)]
mod tests;
