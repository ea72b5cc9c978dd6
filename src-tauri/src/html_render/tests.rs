use printrelay_agent::protocol::{Fit, Margins, Mm, PageSize, PrintOptions};
use printrelay_agent::render::chromium::{Page, INLINE_ADDRESS};
use printrelay_agent::render::geometry::A4_MM;
use printrelay_agent::render::process::RenderRequest;
use printrelay_agent::render::RenderSettings;

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

fn close_pair((a, b): (f64, f64), (c, d): (f64, f64)) -> bool {
    close(a, c) && close(b, d)
}

/// The request the agent writes for `options`, read back as the renderer reads it.
fn job(options: PrintOptions) -> Job {
    let page = Page {
        html: "<p>票</p>".into(),
        address: None,
        options,
    };
    let settings = RenderSettings {
        timeout: std::time::Duration::from_secs(30),
        browser: None,
        max_bytes: 1 << 20,
        paper: A4_MM,
    };
    let bytes = serde_json::to_vec(&RenderRequest::new(&page, &settings)).expect("json");
    parse_request(&bytes).expect("request")
}

fn measured(width_px: f64, height_px: f64, css_size: &str) -> Measured {
    Measured {
        width_px,
        height_px,
        css_size: css_size.into(),
    }
}

fn label() -> PrintOptions {
    PrintOptions {
        page_size: Some(PageSize::Custom {
            width: Mm(100.0),
            height: Mm(150.0),
        }),
        margins: Some(Margins::all(5.0)),
        ..PrintOptions::default()
    }
}

#[test]
fn a_job_with_a_page_size_prints_on_it_whatever_the_css_says() {
    let job = job(label());
    assert_eq!(job.address.as_str(), INLINE_ADDRESS);
    assert_eq!(job.html, "<p>票</p>");
    let settings = job
        .print_settings(&measured(300.0, 500.0, "A4"))
        .expect("settings");
    assert!(close(settings.page_width, 100.0 / 25.4), "{settings:?}");
    assert!(close(settings.page_height, 150.0 / 25.4), "{settings:?}");
    for margin in [
        settings.margin_top,
        settings.margin_right,
        settings.margin_bottom,
        settings.margin_left,
    ] {
        assert!(close(margin, 5.0 / 25.4), "{settings:?}");
    }
    assert!(close(settings.scale, 1.0));
    assert!(settings.print_backgrounds);
    assert!(close_pair(
        job.viewport_px(),
        (90.0 / 25.4 * 96.0, 140.0 / 25.4 * 96.0)
    ));
}

#[test]
fn without_a_page_size_the_css_size_wins_else_the_default_paper() {
    let job = job(PrintOptions {
        print_background: Some(false),
        scale: Some(printrelay_agent::protocol::Finite(0.5)),
        ..PrintOptions::default()
    });
    assert!(job.print.prefer_css_page_size);
    let a5 = job.print_settings(&measured(0.0, 0.0, "A5")).expect("a5");
    assert!(close_pair(
        (a5.page_width, a5.page_height),
        (148.0 / 25.4, 210.0 / 25.4)
    ));
    assert!(close(a5.scale, 0.5));
    assert!(!a5.print_backgrounds);
    let none = job.print_settings(&measured(0.0, 0.0, "")).expect("none");
    assert!(close_pair(
        (none.page_width, none.page_height),
        (210.0 / 25.4, 297.0 / 25.4)
    ));
    let auto = job
        .print_settings(&measured(0.0, 0.0, "auto"))
        .expect("auto");
    assert_eq!(auto, none);
    let turned = job
        .print_settings(&measured(0.0, 0.0, "landscape"))
        .expect("turned");
    assert!(close_pair(
        (turned.page_width, turned.page_height),
        (297.0 / 25.4, 210.0 / 25.4)
    ));
}

#[test]
fn css_sizes_are_read_in_every_unit_and_name() {
    let mm = |w: f64, h: f64| Some((w / 25.4, h / 25.4));
    let cases: [(&str, Option<(f64, f64)>); 19] = [
        ("A5", mm(148.0, 210.0)),
        ("a5 landscape", mm(210.0, 148.0)),
        ("landscape A5", mm(210.0, 148.0)),
        ("A4 portrait", mm(210.0, 297.0)),
        ("148mm 210mm", mm(148.0, 210.0)),
        ("10cm 15cm", mm(100.0, 150.0)),
        ("4in 6in", Some((4.0, 6.0))),
        ("100mm", mm(100.0, 100.0)),
        ("288pt 432pt", Some((4.0, 6.0))),
        ("384px 576px", Some((4.0, 6.0))),
        ("letter", Some((8.5, 11.0))),
        ("LEGAL", Some((8.5, 14.0))),
        ("ledger landscape", Some((17.0, 11.0))),
        ("auto", None),
        ("", None),
        ("landscape", None),
        ("100mm 150mm landscape", None),
        ("-4in 6in", None),
        ("A7", None),
    ];
    for (value, expected) in cases {
        let got = css_page_size(value);
        let same = match (got, expected) {
            (Some(got), Some(expected)) => close_pair(got, expected),
            (None, None) => true,
            _ => false,
        };
        assert!(same, "{value:?}: {got:?}, expected {expected:?}");
    }
    assert_eq!(css_orientation_only("landscape"), Some(true));
    assert_eq!(css_orientation_only(" Portrait "), Some(false));
    assert_eq!(css_orientation_only("A5 landscape"), None);
    assert_eq!(css_orientation_only(""), None);
    for name in ["A3", "A6", "B4", "B5", "jis-b5"] {
        assert!(css_page_size(name).is_some(), "{name}");
    }
}

#[test]
fn fit_scales_as_the_agent_does() {
    let printable = (4.0, 6.0); // 384 x 576 px
    assert_eq!(fit_scale(None, printable, (768.0, 100.0)), None);
    assert_eq!(fit_scale(Some(Fit::None), printable, (768.0, 100.0)), None);
    assert_eq!(
        fit_scale(Some(Fit::Width), printable, (768.0, 100.0)),
        Some(0.5)
    );
    assert_eq!(
        fit_scale(Some(Fit::Page), printable, (384.0, 1152.0)),
        Some(0.5)
    );
    assert_eq!(
        fit_scale(Some(Fit::Page), printable, (192.0, 288.0)),
        Some(2.0)
    );
    assert_eq!(
        fit_scale(Some(Fit::Width), printable, (10_000.0, 1.0)),
        Some(0.1)
    );
    assert_eq!(
        fit_scale(Some(Fit::Width), printable, (0.0, 0.0)),
        Some(1.0)
    );
    // A fit job's scale comes from the page, not from `print.scale`.
    let job = job(PrintOptions {
        fit: Some(Fit::Width),
        ..label()
    });
    let settings = job
        .print_settings(&measured(90.0 / 25.4 * 96.0 * 2.0, 10.0, ""))
        .expect("settings");
    assert!(close(settings.scale, 0.5), "{settings:?}");
}

#[test]
fn the_ready_title_carries_the_measurements() {
    let title = r#"printrelay:ready:{"w":800,"h":1200.5,"css":"a5 landscape"}"#;
    assert_eq!(
        parse_ready_title(title),
        Some(measured(800.0, 1200.5, "a5 landscape"))
    );
    assert_eq!(parse_ready_title("Invoice 42"), None);
    assert_eq!(parse_ready_title("printrelay:ready:{"), None);
    assert!(READY_SCRIPT.contains(READY_TITLE_PREFIX));
}

#[test]
fn only_the_page_itself_is_the_document() {
    let address = Url::parse("https://erp.example.com/print/42?copy=1#top").expect("url");
    assert!(is_document(
        &address,
        "https://erp.example.com/print/42?copy=1"
    ));
    assert!(is_document(
        &address,
        "https://erp.example.com/print/42?copy=1#x"
    ));
    assert!(is_document(
        &address,
        "https://ERP.example.com:443/print/42?copy=1"
    ));
    assert!(!is_document(
        &address,
        "https://erp.example.com/print/43?copy=1"
    ));
    assert!(!is_document(&address, "https://erp.example.com/logo.png"));
    assert!(!is_document(&address, "not a url"));
    assert!(answered_by_tauri(
        "http://ipc.localhost/plugin%3Awindow%7Cshow"
    ));
    assert!(answered_by_tauri("http://tauri.localhost/index.html"));
    assert!(!answered_by_tauri("https://evil.localhost/"));
    assert!(!answered_by_tauri(INLINE_ADDRESS));
}

#[test]
fn bad_requests_say_what_is_wrong() {
    let good = serde_json::json!({
        "html": "<p>x</p>", "address": INLINE_ADDRESS, "fit": null, "printableIn": [8.0, 10.0],
        "print": {"paperWidth": 8.5, "paperHeight": 11.0, "marginTop": 0.25, "marginRight": 0.25,
                  "marginBottom": 0.25, "marginLeft": 0.25, "preferCSSPageSize": false,
                  "printBackground": true, "scale": 1.0, "landscape": false}
    });
    assert!(parse_request(good.to_string().as_bytes()).is_ok());
    let with = |pointer: &str, value: serde_json::Value| {
        let mut request = good.clone();
        if let Some(slot) = request.pointer_mut(pointer) {
            *slot = value;
        }
        parse_request(request.to_string().as_bytes())
    };
    assert!(matches!(parse_request(b"{"), Err(RequestError::Json(_))));
    assert!(matches!(
        with("/address", "file:///C:/x.html".into()),
        Err(RequestError::Address(_))
    ));
    assert!(matches!(
        with("/print/scale", "big".into()),
        Err(RequestError::Json(_))
    ));
    assert!(matches!(
        with("/printableIn", serde_json::json!([0.0, 1.0])),
        Err(RequestError::Print(_))
    ));
    let wide_margins = with("/print/marginLeft", 8.5.into()).expect("request");
    assert!(matches!(
        wide_margins.print_settings(&measured(1.0, 1.0, "")),
        Err(RequestError::Print(_))
    ));
}
