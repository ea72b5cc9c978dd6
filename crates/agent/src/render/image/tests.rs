//! Images made in memory, placed, and read back with poppler-utils (`pdfinfo`,
//! `pdfimages`, `pdftoppm`), which these tests need.

use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::protocol::{Finite, Margins, Mm, Orientation, PageSize, PaperName};
use crate::render::geometry::A4_MM;

/// A 16 x 8 grey JPEG, left half black, right half white, without EXIF (ImageMagick:
/// `convert -size 8x8 xc:black -size 8x8 xc:white +append -strip -colorspace Gray`).
const BLACK_WHITE_JPEG: &[u8] = &[
    0xff, 0xd8, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x03, 0x02, 0x02, 0x03, 0x02, 0x02, 0x03, 0x03, 0x03,
    0x03, 0x04, 0x03, 0x03, 0x04, 0x05, 0x08, 0x05, 0x05, 0x04, 0x04, 0x05, 0x0a, 0x07, 0x07, 0x06,
    0x08, 0x0c, 0x0a, 0x0c, 0x0c, 0x0b, 0x0a, 0x0b, 0x0b, 0x0d, 0x0e, 0x12, 0x10, 0x0d, 0x0e, 0x11,
    0x0e, 0x0b, 0x0b, 0x10, 0x16, 0x10, 0x11, 0x13, 0x14, 0x15, 0x15, 0x15, 0x0c, 0x0f, 0x17, 0x18,
    0x16, 0x14, 0x18, 0x12, 0x14, 0x15, 0x14, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x08, 0x00, 0x10,
    0x01, 0x01, 0x11, 0x00, 0xff, 0xc4, 0x00, 0x15, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x0a, 0xff, 0xc4, 0x00, 0x14, 0x10,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0x2a, 0x95, 0x50, 0xff, 0xd9,
];

/// A grey PNG of noise (so it does not compress to nothing).
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let pixels: Vec<u8> = (0..width * height)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("PNG header");
    writer.write_image_data(&pixels).expect("PNG data");
    writer.finish().expect("PNG end");
    out
}

/// `jpeg` with an EXIF block (big-endian TIFF, one IFD entry) giving `orientation`.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut app1 = vec![0xFF, 0xE1, 0x00, 34];
    app1.extend_from_slice(b"Exif\0\0MM\0\x2A\0\0\0\x08");
    app1.extend_from_slice(&[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    app1.extend_from_slice(&orientation.to_be_bytes());
    app1.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    [&jpeg[..2], &app1, &jpeg[2..]].concat()
}

/// A PNG chunk with its CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = !0u32;
    for &byte in kind.iter().chain(data) {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    let length = u32::try_from(data.len()).expect("small chunk");
    [&length.to_be_bytes()[..], kind, data, &(!crc).to_be_bytes()].concat()
}

#[cfg_attr(windows, allow(dead_code))]
fn run(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils) is needed by these tests: {e}"));
    assert!(output.status.success(), "{tool} {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[cfg_attr(windows, allow(dead_code))]
fn saved(pdf: &[u8]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(file.path(), pdf).expect("write the PDF");
    file
}

/// The first page's size in points, per `pdfinfo`.
#[cfg_attr(windows, allow(dead_code))]
fn page_size_pt(pdf: &[u8]) -> (f64, f64) {
    let file = saved(pdf);
    let info = run("pdfinfo", &[&file.path().to_string_lossy()]);
    assert!(info.contains("Pages:           1\n"), "{info}");
    let line = info
        .lines()
        .find(|l| l.starts_with("Page size:"))
        .expect("page size");
    let words: Vec<&str> = line.split_whitespace().collect();
    (
        words[2].parse().expect("width"),
        words[4].parse().expect("height"),
    )
}

/// Width, height and interpolation of every image in the PDF, per `pdfimages -list`.
#[cfg_attr(windows, allow(dead_code))]
fn images(pdf: &[u8]) -> Vec<(u32, u32, String)> {
    let file = saved(pdf);
    let list = run("pdfimages", &["-list", &file.path().to_string_lossy()]);
    list.lines()
        .skip_while(|line| !line.starts_with("---"))
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split_whitespace().collect();
            (
                c[3].parse().expect("w"),
                c[4].parse().expect("h"),
                c[9].to_owned(),
            )
        })
        .collect()
}

/// The page rendered in grey at 72 dpi (one pixel a point): width, height, pixels.
#[cfg_attr(windows, allow(dead_code))]
fn rendered(pdf: &[u8]) -> (usize, usize, Vec<u8>) {
    let file = saved(pdf);
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("page");
    let (input, output) = (file.path().to_string_lossy(), out.to_string_lossy());
    run(
        "pdftoppm",
        &["-gray", "-r", "72", "-singlefile", &input, &output],
    );
    let pgm = std::fs::read(dir.path().join("page.pgm")).expect("pdftoppm's page");
    // P5 <width> <height> <maxval>, one whitespace byte, then the pixels.
    let header: Vec<&[u8]> = pgm.splitn(5, u8::is_ascii_whitespace).collect();
    let number = |bytes: &[u8]| -> usize { String::from_utf8_lossy(bytes).parse().expect("PGM") };
    let (width, height) = (number(header[1]), number(header[2]));
    (width, height, header[4].to_vec())
}

fn options(dpi: Option<u32>) -> PrintOptions {
    let dpi = dpi.map(|dpi| Finite(f64::from(dpi)));
    PrintOptions {
        dpi,
        ..PrintOptions::default()
    }
}

fn assert_near(actual: (f64, f64), expected: (f64, f64), tolerance: f64) {
    let ok =
        (actual.0 - expected.0).abs() <= tolerance && (actual.1 - expected.1).abs() <= tolerance;
    assert!(ok, "{actual:?} is not {expected:?} ± {tolerance}");
}

// Wine cannot start poppler: the Windows build runs the placement tests only.
#[cfg(not(windows))]
#[test]
fn a_203_dpi_label_gets_a_page_its_size_with_its_pixels_as_they_are() {
    let pdf = image_to_pdf(&png(812, 1218), &options(Some(203)), A4_MM).expect("PDF");
    // 101.6 x 152.4 mm ± 0.1 mm.
    assert_near(page_size_pt(&pdf), (288.0, 432.0), mm_to_pt(0.1));
    assert_eq!(images(&pdf), vec![(812, 1218, "no".to_owned())]);
}

// Wine cannot start poppler: the Windows build runs the placement tests only.
#[cfg(not(windows))]
#[test]
fn a6_fit_page_takes_a_wide_image_whole_without_resampling() {
    let options = PrintOptions {
        page_size: Some(PageSize::Named(PaperName::A6)),
        fit: Some(Fit::Page),
        ..options(Some(100))
    };
    let pdf = image_to_pdf(&png(600, 200), &options, A4_MM).expect("PDF");
    assert_near(page_size_pt(&pdf), (mm_to_pt(105.0), mm_to_pt(148.0)), 0.01);
    assert_eq!(images(&pdf), vec![(600, 200, "no".to_owned())]);
    // 105 x 35 mm centred on the page: blank above and below, noise across the middle.
    let (width, height, pixels) = rendered(&pdf);
    let row = |y: usize| &pixels[y * width..(y + 1) * width];
    assert!(row(20).iter().chain(row(height - 20)).all(|&p| p == 255));
    assert!(row(height / 2).iter().filter(|&&p| p < 255).count() > width * 9 / 10);
}

// Wine cannot start poppler: the Windows build runs the placement tests only.
#[cfg(not(windows))]
#[test]
fn exif_orientation_turns_the_image_and_its_page() {
    // 16 x 8 px at 16 dpi: 1 x 0.5 in, 72 x 36 pt.
    let plain = image_to_pdf(BLACK_WHITE_JPEG, &options(Some(16)), A4_MM).expect("PDF");
    assert_near(page_size_pt(&plain), (72.0, 36.0), 0.01);
    let (_, _, pixels) = rendered(&plain);
    assert!(
        pixels[18 * 72 + 9] < 64 && pixels[18 * 72 + 63] > 192,
        "black | white"
    );

    // 6: a quarter turn clockwise, the black left half on top; pixels kept as stored.
    let jpeg = with_orientation(BLACK_WHITE_JPEG, 6);
    let turned = image_to_pdf(&jpeg, &options(Some(16)), A4_MM).expect("PDF");
    assert_near(page_size_pt(&turned), (36.0, 72.0), 0.01);
    assert_eq!(images(&turned), vec![(16, 8, "no".to_owned())]);
    let (width, height, pixels) = rendered(&turned);
    assert_eq!((width, height), (36, 72));
    assert!(
        pixels[9 * 36 + 18] < 64 && pixels[63 * 36 + 18] > 192,
        "black over white"
    );

    // 8: a quarter turn anticlockwise, the black half at the bottom.
    let jpeg = with_orientation(BLACK_WHITE_JPEG, 8);
    let turned = image_to_pdf(&jpeg, &options(Some(16)), A4_MM).expect("PDF");
    let (_, _, pixels) = rendered(&turned);
    assert!(
        pixels[9 * 36 + 18] > 192 && pixels[63 * 36 + 18] < 64,
        "white over black"
    );
}

#[test]
fn exif_orientation_is_read_and_defaults_to_upright() {
    assert_eq!(exif_orientation(&with_orientation(BLACK_WHITE_JPEG, 6)), 6);
    assert_eq!(exif_orientation(&with_orientation(BLACK_WHITE_JPEG, 9)), 1);
    assert_eq!(exif_orientation(BLACK_WHITE_JPEG), 1);
    assert_eq!(exif_orientation(&png(4, 4)), 1);
    assert_eq!(exif_orientation(b"nothing"), 1);
}

#[test]
fn what_is_not_an_image_is_unreadable() {
    let error = image_to_pdf(b"%PDF-1.7 not an image", &options(None), A4_MM);
    assert!(matches!(error, Err(ImageError::Unreadable(_))), "{error:?}");
    let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
    garbage.extend_from_slice(&[0x55; 64]);
    let error = image_to_pdf(&garbage, &options(None), A4_MM);
    assert!(matches!(error, Err(ImageError::Unreadable(_))), "{error:?}");
}

#[test]
fn a_truncated_png_is_an_error_not_a_panic() {
    let whole = png(64, 64);
    // Cut in its pixel data: the header reads, decoding fails when the PDF is written.
    let error = image_to_pdf(&whole[..whole.len() / 2], &options(None), A4_MM);
    assert!(matches!(error, Err(ImageError::Unreadable(_))), "{error:?}");
    // Cut in its header.
    let error = image_to_pdf(&whole[..20], &options(None), A4_MM);
    assert!(matches!(error, Err(ImageError::Unreadable(_))), "{error:?}");
}

#[test]
fn a_header_claiming_ten_gigapixels_is_refused_before_any_decoding() {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    // 8-bit grey, deflate, no interlace.
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    // A zlib stream of a few zero bytes: decoding would first allocate 10 GB.
    let idat = [0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01];
    let bomb = [
        &b"\x89PNG\r\n\x1a\n"[..],
        &chunk(b"IHDR", &ihdr),
        &chunk(b"IDAT", &idat),
        &chunk(b"IEND", &[]),
    ]
    .concat();
    let start = Instant::now();
    let error = image_to_pdf(&bomb, &options(None), A4_MM);
    assert_eq!(
        error,
        Err(ImageError::TooManyPixels {
            width: 100_000,
            height: 100_000
        })
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn orientation_matrices_put_the_first_pixel_where_exif_says() {
    // Where the stored first row's left and right ends land, in the unit square seen.
    let expected = [
        (1, (0.0, 0.0), (1.0, 0.0)),
        (2, (1.0, 0.0), (0.0, 0.0)),
        (3, (1.0, 1.0), (0.0, 1.0)),
        (4, (0.0, 1.0), (1.0, 1.0)),
        (5, (0.0, 0.0), (0.0, 1.0)),
        (6, (1.0, 0.0), (1.0, 1.0)),
        (7, (1.0, 1.0), (1.0, 0.0)),
        (8, (0.0, 1.0), (0.0, 0.0)),
    ];
    for (orientation, first, last) in expected {
        let [sx, ky, kx, sy, tx, ty] = orientation_matrix(orientation);
        let map = |(x, y): (f32, f32)| (sx * x + kx * y + tx, ky * x + sy * y + ty);
        assert_eq!(
            (map((0.0, 0.0)), map((1.0, 0.0))),
            (first, last),
            "{orientation}"
        );
    }
}

#[test]
fn without_page_size_the_page_is_the_image_plus_margins() {
    let options = PrintOptions {
        margins: Some(Margins {
            top: Mm(1.0),
            right: Mm(2.0),
            bottom: Mm(3.0),
            left: Mm(4.0),
        }),
        scale: Some(Finite(0.5)),
        orientation: Some(Orientation::Landscape),
        ..options(Some(203))
    };
    let placement = place((812, 1218), &options, A4_MM);
    assert_near(placement.page, (50.8 + 6.0, 76.2 + 4.0), 1e-9);
    let (x, y, w, h) = placement.image;
    assert_near((x, y), (4.0, 1.0), 1e-9);
    assert_near((w, h), (50.8, 76.2), 1e-9);
    // No dpi: 96, the CSS pixel.
    let placement = place((96, 192), &PrintOptions::default(), A4_MM);
    assert_near(placement.page, (25.4, 50.8), 1e-9);
}

#[test]
fn fit_places_the_image_in_the_printable_box() {
    let a6 = |fit, scale| PrintOptions {
        page_size: Some(PageSize::Named(PaperName::A6)),
        margins: Some(Margins::all(5.0)),
        fit,
        scale,
        ..options(Some(100))
    };
    // 600 x 200 px at 100 dpi: 152.4 x 50.8 mm; the printable box is 95 x 138 mm.
    let wide = (600, 200);
    let page = place(wide, &a6(Some(Fit::Page), None), A4_MM);
    assert_eq!(page.page, (105.0, 148.0));
    let (x, y, w, h) = page.image;
    let fitted_h = 50.8 * 95.0 / 152.4;
    assert_near((x, w), (5.0, 95.0), 1e-9);
    assert_near((y, h), (5.0 + (138.0 - fitted_h) / 2.0, fitted_h), 1e-9);
    // Width: the same size here, but at the top.
    let width = place(wide, &a6(Some(Fit::Width), None), A4_MM);
    assert_near((width.image.0, width.image.1), (5.0, 5.0), 0.0);
    assert_near((width.image.2, width.image.3), (95.0, fitted_h), 1e-9);
    // None: natural size, overflowing to the right.
    let none = place(wide, &a6(Some(Fit::None), None), A4_MM);
    assert_near((none.image.2, none.image.3), (152.4, 50.8), 1e-9);
    // Neither fit nor scale: too big, so like `page`; small enough, so like `none`.
    assert_eq!(place(wide, &a6(None, None), A4_MM), page);
    let small = place((200, 100), &a6(None, None), A4_MM);
    assert_near((small.image.2, small.image.3), (50.8, 25.4), 1e-9);
    assert_eq!((small.image.0, small.image.1), (5.0, 5.0));
    // A scale and no fit: the scaled natural size, even if it overflows.
    let scaled = place(wide, &a6(None, Some(Finite(2.0))), A4_MM);
    assert_near((scaled.image.2, scaled.image.3), (304.8, 101.6), 1e-9);
    // Width scales up too.
    let up = place((100, 100), &a6(Some(Fit::Width), None), A4_MM);
    assert_near((up.image.2, up.image.3), (95.0, 95.0), 1e-9);
}
