//! The page of an HTML or image job, from its options: paper size with the orientation
//! applied, margins, the printable box. Pure; shared by every renderer (Chromium,
//! WebView2) and the image placer, on the job worker's task.

use crate::protocol::{Fit, Margins, Orientation, PrintOptions};

/// Millimetres in an inch.
pub const MM_PER_INCH: f64 = 25.4;
/// PDF points in an inch.
pub const POINTS_PER_INCH: f64 = 72.0;
/// ISO A4, the paper when neither the job nor the printer names one.
pub const A4_MM: (f64, f64) = (210.0, 297.0);
/// CSS pixels per inch.
pub const PX_PER_INCH: f64 = 96.0;
/// The zoom renderers take (Chromium's `printToPDF`, WebView2's print settings).
pub const SCALE_RANGE: std::ops::RangeInclusive<f64> = 0.1..=2.0;

/// The zoom `fit` asks of a document laid out at `measured` CSS pixels (width, height)
/// on a printable area of `printable_in` inches: the printable width over the
/// document's (`width`), or the smaller of that and the heights' (`page`), within
/// [`SCALE_RANGE`]; 1 for `none` or a document that measured nothing. Shared by every
/// HTML renderer, so they scale alike.
pub fn fit_scale(fit: Fit, printable_in: (f64, f64), measured: (f64, f64)) -> f64 {
    let (width, height) = (printable_in.0 * PX_PER_INCH, printable_in.1 * PX_PER_INCH);
    let (doc_width, doc_height) = measured;
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let wanted = match fit {
        Fit::Width if positive(doc_width) => width / doc_width,
        Fit::Page if positive(doc_width) && positive(doc_height) => {
            (width / doc_width).min(height / doc_height)
        }
        Fit::None | Fit::Width | Fit::Page => 1.0,
    };
    if wanted.is_finite() {
        wanted.clamp(*SCALE_RANGE.start(), *SCALE_RANGE.end())
    } else {
        1.0
    }
}

/// Millimetres as PDF points.
pub fn mm_to_pt(mm: f64) -> f64 {
    mm / MM_PER_INCH * POINTS_PER_INCH
}

/// Millimetres as inches (what Chromium's `printToPDF` takes).
pub fn mm_to_in(mm: f64) -> f64 {
    mm / MM_PER_INCH
}

/// A page and its margins, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageGeometry {
    pub width_mm: f64,
    pub height_mm: f64,
    pub margins: Margins,
}

impl PageGeometry {
    /// The job's `pageSize` (else `fallback`, the printer's default paper), turned by its
    /// `orientation`: landscape puts the long side across, portrait down; without an
    /// orientation a custom size stays as given. Margins are the job's, else none.
    pub fn from_options(options: &PrintOptions, fallback: (f64, f64)) -> PageGeometry {
        let (width, height) = options.page_size.map_or(fallback, |size| size.size_mm());
        let (width_mm, height_mm) = match options.orientation {
            Some(Orientation::Landscape) => (width.max(height), width.min(height)),
            Some(Orientation::Portrait) => (width.min(height), width.max(height)),
            None => (width, height),
        };
        PageGeometry {
            width_mm,
            height_mm,
            margins: options.margins.unwrap_or_default(),
        }
    }

    /// The printable width and height in millimetres (never negative).
    pub fn printable_mm(&self) -> (f64, f64) {
        let m = &self.margins;
        (
            (self.width_mm - m.left.0 - m.right.0).max(0.0),
            (self.height_mm - m.top.0 - m.bottom.0).max(0.0),
        )
    }

    /// The page in PDF points.
    pub fn size_pt(&self) -> (f64, f64) {
        (mm_to_pt(self.width_mm), mm_to_pt(self.height_mm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Mm, PageSize, PaperName};

    fn options(size: Option<PageSize>, orientation: Option<Orientation>) -> PrintOptions {
        PrintOptions {
            page_size: size,
            orientation,
            ..PrintOptions::default()
        }
    }

    #[test]
    fn named_paper_custom_label_and_fallback() {
        let a5 =
            PageGeometry::from_options(&options(Some(PageSize::Named(PaperName::A5)), None), A4_MM);
        assert_eq!((a5.width_mm, a5.height_mm), (148.0, 210.0));
        let label = PageSize::Custom {
            width: Mm(100.0),
            height: Mm(150.0),
        };
        let page = PageGeometry::from_options(&options(Some(label), None), A4_MM);
        assert_eq!((page.width_mm, page.height_mm), (100.0, 150.0));
        let fallback = PageGeometry::from_options(&options(None, None), (215.9, 279.4));
        assert_eq!((fallback.width_mm, fallback.height_mm), (215.9, 279.4));
    }

    #[test]
    fn orientation_puts_the_long_side_across_or_down() {
        let a4 = Some(PageSize::Named(PaperName::A4));
        let landscape =
            PageGeometry::from_options(&options(a4, Some(Orientation::Landscape)), A4_MM);
        assert_eq!((landscape.width_mm, landscape.height_mm), (297.0, 210.0));
        let wide = Some(PageSize::Custom {
            width: Mm(150.0),
            height: Mm(100.0),
        });
        let portrait =
            PageGeometry::from_options(&options(wide, Some(Orientation::Portrait)), A4_MM);
        assert_eq!((portrait.width_mm, portrait.height_mm), (100.0, 150.0));
    }

    #[test]
    fn margins_shrink_the_printable_box_and_points_follow_millimetres() {
        let page = PageGeometry {
            width_mm: 100.0,
            height_mm: 150.0,
            margins: Margins {
                top: Mm(5.0),
                right: Mm(2.0),
                bottom: Mm(5.0),
                left: Mm(3.0),
            },
        };
        assert_eq!(page.printable_mm(), (95.0, 140.0));
        let (w, h) = page.size_pt();
        assert!(
            (w - 283.4646).abs() < 1e-3 && (h - 425.1969).abs() < 1e-3,
            "{w} {h}"
        );
        assert!((mm_to_in(25.4) - 1.0).abs() < 1e-12);
    }
}
