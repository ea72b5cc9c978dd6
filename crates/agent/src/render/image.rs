//! Places an image job (PNG, JPEG, GIF, WebP) on one PDF page, as its options say. Pure
//! and blocking: the job worker runs it in `spawn_blocking`.
//!
//! The rules, all lengths in millimetres:
//!
//! - The image's pixels are never resampled: the PDF embeds them as they are (JPEG data
//!   as is), without interpolation so labels and barcodes stay crisp. Its EXIF
//!   orientation (1 when absent or unreadable) is applied with a transform; orientations
//!   5 to 8 swap width and height.
//! - Its natural size is its oriented pixels at `dpi` (else [`DEFAULT_DPI`]; the file's
//!   own density is ignored, it is too often wrong), times `scale` when given.
//! - Without `pageSize` the page is the natural size plus the margins (none by default),
//!   the image at the top-left of the printable box: a 812 x 1218 px label at 203 dpi
//!   gives a 101.6 x 152.4 mm page. `orientation` and the printer's paper play no part.
//! - With `pageSize` the page is [`PageGeometry::from_options`], and `fit` says where the
//!   image goes in its printable box: `none` at its natural size at the top-left, what
//!   overflows cut off by the page; `width` scaled (up or down) to the printable width,
//!   aspect kept, at the top-left; `page` scaled to fit whole, centred. Without `fit` and
//!   `scale`: like `page` when the natural size does not fit, else like `none`.
//! - One page, always.

use std::io::Cursor;

use krilla::error::KrillaError;
use krilla::geom::{Size, Transform};
use krilla::image::Image;
use krilla::page::PageSettings;
use krilla::Document;

use super::geometry::{mm_to_pt, PageGeometry, MM_PER_INCH};
use crate::protocol::{image_format, Fit, ImageFormat, PrintOptions};

/// Why an image could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Not a PNG/JPEG/GIF/WebP krilla can read (message says what).
    #[error("the image cannot be read: {0}")]
    Unreadable(String),
    /// More pixels than [`MAX_PIXELS`] (width x height given).
    #[error(
        "the image has {width} x {height} pixels, more than the {} megapixels printed",
        MAX_PIXELS / 1_000_000
    )]
    TooManyPixels { width: u32, height: u32 },
    /// krilla failed writing the PDF.
    #[error("cannot write the PDF: {0}")]
    Pdf(String),
}

/// Largest image placed, in pixels (width x height): 64 megapixels (A4 at 600 dpi is 35).
pub const MAX_PIXELS: u64 = 64_000_000;

/// Density of an image whose job gives no `dpi`: the CSS pixel, what a sender who did not
/// think about it most likely means.
pub const DEFAULT_DPI: f64 = 96.0;

/// Places `bytes` on one PDF page per the job's options (rules in the module's doc).
/// `paper` is the printer's default paper in mm (portrait), the fallback
/// [`PageGeometry::from_options`] takes: with these rules it is never consulted, since a
/// job without `pageSize` gets a page the size of its image. Pure and blocking (the
/// caller runs it in `spawn_blocking`).
pub fn image_to_pdf(
    bytes: &[u8],
    options: &PrintOptions,
    paper: (f64, f64),
) -> Result<Vec<u8>, ImageError> {
    let image = open(bytes)?;
    let (width, height) = image.size();
    // krilla has read the header only: refusing here costs nothing, whatever the pixels
    // would decompress to.
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooManyPixels { width, height });
    }
    if width == 0 || height == 0 {
        return Err(ImageError::Unreadable("the image has no pixels".into()));
    }
    let orientation = exif_orientation(bytes);
    let oriented = if orientation >= 5 {
        (height, width)
    } else {
        (width, height)
    };
    let placement = place(oriented, options, paper);

    let pt = |mm: f64| mm_to_pt(mm) as f32;
    let (page_w, page_h) = placement.page;
    let settings = PageSettings::from_wh(pt(page_w), pt(page_h))
        .ok_or_else(|| ImageError::Pdf(format!("a page of {page_w} x {page_h} mm")))?;
    let unit = Size::from_wh(1.0, 1.0).ok_or_else(|| ImageError::Pdf("unit size".into()))?;
    // krilla draws the image over the unit square, its first row at the top (origin
    // top-left, y down); orient it there, then stretch the square over the image's box.
    let [sx, ky, kx, sy, tx, ty] = orientation_matrix(orientation);
    let (x, y, w, h) = placement.image;
    let (x, y, w, h) = (pt(x), pt(y), pt(w), pt(h));
    let transform = Transform::from_row(sx * w, ky * h, kx * w, sy * h, tx * w + x, ty * h + y);

    let mut document = Document::new();
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();
    surface.push_transform(&transform);
    surface.draw_image(image, unit);
    surface.pop();
    surface.finish();
    page.finish();
    // Pixels are decoded only now: a truncated or corrupt image fails here.
    document.finish().map_err(|error| match error {
        KrillaError::Image(_, _, message) => ImageError::Unreadable(message),
        other => ImageError::Pdf(other.to_string()),
    })
}

/// The image as krilla reads it: its header only, pixels decoded when the PDF is written.
fn open(bytes: &[u8]) -> Result<Image, ImageError> {
    // Never interpolated: the printer gets the pixels as they are.
    const INTERPOLATE: bool = false;
    let data = bytes.to_vec().into();
    let image = match image_format(bytes) {
        Some(ImageFormat::Png) => Image::from_png(data, INTERPOLATE),
        Some(ImageFormat::Jpeg) => Image::from_jpeg(data, INTERPOLATE),
        Some(ImageFormat::Gif) => Image::from_gif(data, INTERPOLATE),
        Some(ImageFormat::Webp) => Image::from_webp(data, INTERPOLATE),
        None => Err("not a PNG, JPEG, GIF or WebP image".to_owned()),
    };
    image.map_err(ImageError::Unreadable)
}

/// The EXIF orientation of the image (JPEG, PNG, WebP), 1 to 8; 1 when it has none or it
/// cannot be read: a broken EXIF block should not cost the print.
fn exif_orientation(bytes: &[u8]) -> u32 {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return 1;
    };
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|field| field.value.get_uint(0))
        .filter(|value| (1..=8).contains(value))
        .unwrap_or(1)
}

/// How EXIF `orientation` maps the unit square the stored image fills onto the unit square
/// it is seen in (origin top-left, y down), as krilla's `Transform::from_row` takes it:
/// `[sx, ky, kx, sy, tx, ty]`, x' = sx x + kx y + tx, y' = ky x + sy y + ty.
fn orientation_matrix(orientation: u32) -> [f32; 6] {
    match orientation {
        2 => [-1.0, 0.0, 0.0, 1.0, 1.0, 0.0],  // mirrored left to right
        3 => [-1.0, 0.0, 0.0, -1.0, 1.0, 1.0], // turned half a turn
        4 => [1.0, 0.0, 0.0, -1.0, 0.0, 1.0],  // mirrored top to bottom
        5 => [0.0, 1.0, 1.0, 0.0, 0.0, 0.0],   // transposed
        6 => [0.0, 1.0, -1.0, 0.0, 1.0, 0.0],  // turned a quarter clockwise
        7 => [0.0, -1.0, -1.0, 0.0, 1.0, 1.0], // transposed across the other diagonal
        8 => [0.0, -1.0, 1.0, 0.0, 0.0, 1.0],  // turned a quarter anticlockwise
        _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    }
}

/// The page and where the image goes on it, in millimetres from the top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Placement {
    /// Width and height of the page.
    page: (f64, f64),
    /// The oriented image's box: x, y, width, height.
    image: (f64, f64, f64, f64),
}

/// Where an image of `pixels` (oriented, both at least 1) goes, per the module's rules.
fn place(pixels: (u32, u32), options: &PrintOptions, paper: (f64, f64)) -> Placement {
    // The parser admits dpi 10 to 2400 and scale 0.1 to 2; options made in code could
    // hold anything, and a zero would divide by zero below.
    let dpi = options
        .dpi
        .map(|dpi| dpi.0)
        .filter(|dpi| dpi.is_finite() && *dpi > 0.0)
        .unwrap_or(DEFAULT_DPI);
    let scale = options
        .scale
        .map(|factor| factor.0)
        .filter(|factor| factor.is_finite() && *factor > 0.0);
    let natural = |px: u32| f64::from(px) / dpi * MM_PER_INCH * scale.unwrap_or(1.0);
    let (width, height) = (natural(pixels.0), natural(pixels.1));

    if options.page_size.is_none() {
        let margins = options.margins.unwrap_or_default();
        return Placement {
            page: (
                width + margins.left.0 + margins.right.0,
                height + margins.top.0 + margins.bottom.0,
            ),
            image: (margins.left.0, margins.top.0, width, height),
        };
    }

    let geometry = PageGeometry::from_options(options, paper);
    let (room_w, room_h) = geometry.printable_mm();
    let (left, top) = (geometry.margins.left.0, geometry.margins.top.0);
    // A label exactly the printable size must not be shrunk by a rounding error.
    const SLACK_MM: f64 = 1e-6;
    let fit = match (options.fit, scale) {
        (Some(fit), _) => fit,
        (None, Some(_)) => Fit::None,
        (None, None) if width <= room_w + SLACK_MM && height <= room_h + SLACK_MM => Fit::None,
        (None, None) => Fit::Page,
    };
    let image = match fit {
        Fit::None => (left, top, width, height),
        Fit::Width => (left, top, room_w, height * room_w / width),
        Fit::Page => {
            let k = (room_w / width).min(room_h / height);
            let (w, h) = (width * k, height * k);
            (left + (room_w - w) / 2.0, top + (room_h - h) / 2.0, w, h)
        }
    };
    Placement {
        page: (geometry.width_mm, geometry.height_mm),
        image,
    }
}

#[cfg(test)]
mod tests;
