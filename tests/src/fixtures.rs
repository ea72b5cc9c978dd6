//! The documents HTML and image tests and the benchmark print: the pages in
//! tests/fixtures/html (the label with JsBarcode from tests/node put in) and PNGs made in
//! memory.

use anyhow::{Context, Result};
use base64::Engine as _;

use crate::repo_root;

/// Standard base64, as jobs carry it.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A file of tests/fixtures/html.
pub fn html_fixture(name: &str) -> Result<String> {
    let path = repo_root().join("tests/fixtures/html").join(name);
    std::fs::read_to_string(&path).with_context(|| path.display().to_string())
}

/// The A5 invoice: Chinese and English, 40 rows over two pages, CSS `@page { size: A5 }`.
pub fn invoice_html() -> Result<String> {
    html_fixture("invoice.html")
}

/// The 100 x 150 mm shipping label: a PNG logo, and a Code 128 of `PR-2026-0042` that
/// JsBarcode (npm `jsbarcode`, installed in tests/node) draws into an inline SVG on load.
pub fn label_html() -> Result<String> {
    let script = repo_root().join("tests/node/node_modules/jsbarcode/dist/JsBarcode.all.min.js");
    let script = std::fs::read_to_string(&script)
        .with_context(|| format!("{} (npm ci in tests/node)", script.display()))?;
    Ok(html_fixture("label.html")?
        .replace("/*JSBARCODE*/", &script)
        .replace("/*LOGO*/", &b64(&png(120, 120)?)))
}

/// A grey-scale PNG of `width` x `height` with diagonal stripes, so no two rows match.
pub fn png(width: u32, height: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    let pixels: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| if (x + y) % 40 < 8 { 0 } else { 255 }))
        .collect();
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}
