//! The print settings a job's options give (what runs without a browser, on every OS).

use super::*;
use crate::protocol::{Finite, Margins, Mm, PageSize, PaperName};
use crate::render::geometry::A4_MM;

fn near(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-6)
}

/// A 100 x 150 mm label page without margins.
fn label() -> PrintOptions {
    PrintOptions {
        page_size: Some(PageSize::Custom {
            width: Mm(100.0),
            height: Mm(150.0),
        }),
        margins: Some(Margins::all(0.0)),
        ..PrintOptions::default()
    }
}

#[test]
fn a_label_size_and_margins_become_inches_and_the_css_size_yields() {
    let options = label();
    let geometry = PageGeometry::from_options(&options, A4_MM);
    let params = print_params(&options, &geometry, None);
    assert!(near(&params["paperWidth"], 100.0 / 25.4), "{params}");
    assert!(near(&params["paperHeight"], 150.0 / 25.4), "{params}");
    assert!(near(&params["marginLeft"], 0.0));
    assert_eq!(params["preferCSSPageSize"], false);
    assert_eq!(params["printBackground"], true);
    assert!(near(&params["scale"], 1.0));
}

#[test]
fn without_a_page_size_the_css_page_wins_over_the_printer_paper() {
    let options = PrintOptions {
        print_background: Some(false),
        ..PrintOptions::default()
    };
    let letter = PaperName::Letter.size_mm();
    let geometry = PageGeometry::from_options(&options, letter);
    let params = print_params(&options, &geometry, None);
    assert_eq!(params["preferCSSPageSize"], true);
    assert!(
        near(&params["paperWidth"], 8.5) && near(&params["paperHeight"], 11.0),
        "{params}"
    );
    assert_eq!(params["printBackground"], false);
}

#[test]
fn fit_scales_the_measured_document_and_scale_is_taken_as_given() {
    let a4 = PrintOptions {
        page_size: Some(PageSize::Named(PaperName::A4)),
        margins: Some(Margins::all(10.0)),
        fit: Some(Fit::Width),
        ..PrintOptions::default()
    };
    let geometry = PageGeometry::from_options(&a4, A4_MM);
    // 190 mm printable = 718.11 px; a 1436.22 px wide document is halved.
    let params = print_params(&a4, &geometry, Some((px(190.0) * 2.0, 100.0)));
    assert!(near(&params["scale"], 0.5), "{params}");
    let page = PrintOptions {
        fit: Some(Fit::Page),
        ..a4.clone()
    };
    // Narrow but four pages tall: the height decides.
    let params = print_params(&page, &geometry, Some((100.0, px(277.0) * 4.0)));
    assert!(near(&params["scale"], 0.25), "{params}");
    // Never past what the renderer takes.
    let params = print_params(&page, &geometry, Some((1.0, 1.0)));
    assert!(near(&params["scale"], 2.0), "{params}");
    let scaled = PrintOptions {
        fit: None,
        scale: Some(Finite(0.8)),
        ..a4
    };
    assert!(near(&print_params(&scaled, &geometry, None)["scale"], 0.8));
}

/// A real Chromium renders a page whose script writes text, at the job's page size;
/// a page that asks for a refused host still prints. Without Chromium: a failure in CI,
/// a skip elsewhere.
#[cfg(unix)]
#[tokio::test]
async fn chromium_renders_a_scripted_page_at_the_job_size() -> Result<(), String> {
    if find(None).is_none() {
        return crate::skip::skip_or_fail("no Chromium on this machine");
    }
    let html = r#"<!doctype html><html><body><p id="t">static</p>
        <img src="http://refused.example/logo.png">
        <script>document.getElementById('t').textContent = 'drawn by script 打印';</script>
        </body></html>"#;
    let options = label();
    let settings = crate::render::RenderSettings {
        timeout: std::time::Duration::from_secs(60),
        browser: None,
        max_bytes: 64 << 20,
        paper: A4_MM,
    };
    let policy = FetchPolicy::new(&[], &[]);
    let page = Page {
        html: html.into(),
        address: None,
        options,
    };
    let pdf = render(page, &settings, &policy)
        .await
        .map_err(|e| e.to_string())?;
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("page.pdf");
    std::fs::write(&path, &pdf).map_err(|e| e.to_string())?;
    let info = std::process::Command::new("pdfinfo")
        .arg(&path)
        .output()
        .map_err(|e| e.to_string())?;
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("Pages:           1"), "{info}");
    // Chromium rounds the paper to its own units: within 0.5 mm is the promise.
    let size: Vec<f64> = info
        .lines()
        .find_map(|line| line.strip_prefix("Page size:"))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let mm: Vec<f64> = size.iter().map(|pt| pt / 72.0 * 25.4).collect();
    assert!(
        mm.len() == 2 && (mm[0] - 100.0).abs() <= 0.5 && (mm[1] - 150.0).abs() <= 0.5,
        "{info}"
    );
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("drawn by script 打印"), "{text}");
    Ok(())
}
