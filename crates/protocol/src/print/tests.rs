//! Parser tests: both shapes, every rule of protocol section 4, and arbitrary input.

use super::*;
use serde_json::json;

fn parse(payload: Value) -> Result<PrintJob, Rejected> {
    parse_print(payload, Limits::default())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn accepts_the_original_shape_with_a_local_id() {
    let job = parse(json!({"printData": "打印测试"})).expect("valid");
    assert!(job.job_id.starts_with("local-"));
    assert_eq!(job.document, Document::Text("打印测试".into()));
    assert_eq!(job.copies, 1);
}

#[test]
fn the_original_shape_may_carry_a_job_id() {
    let job = parse(json!({"printData": "x", "jobId": "sp-1"})).expect("valid");
    assert_eq!(job.job_id, "sp-1");
    assert_eq!(job.document, Document::Text("x".into()));
    let bad = parse(json!({"printData": "x", "jobId": 5})).expect_err("bad id");
    assert_eq!(bad.error.code, ErrorCode::InvalidJobId);
}

#[test]
fn accepts_every_v1_content_type() {
    let base = |kind: &str, content: String| json!({"jobId": "j", "contentType": kind, "content": content});
    assert_eq!(
        parse(base("text", "hi".into())).map(|j| j.document),
        Ok(Document::Text("hi".into()))
    );
    assert_eq!(
        parse(base("raw_base64", b64(b"\x1b@hello\n"))).map(|j| j.document),
        Ok(Document::Raw(b"\x1b@hello\n".to_vec()))
    );
    assert_eq!(
        parse(base("pdf_base64", b64(b"%PDF-1.4 x"))).map(|j| j.document),
        Ok(Document::Pdf(b"%PDF-1.4 x".to_vec()))
    );
    let remote = parse(base("pdf_uri", "https://erp.example.com/a.pdf".into())).expect("valid");
    assert!(matches!(
        remote.document,
        Document::Remote {
            kind: RemoteKind::Pdf,
            ..
        }
    ));
}

#[test]
fn reads_printer_copies_title_options_and_expiry() {
    let job = parse(json!({
        "jobId": "inv-1", "contentType": "text", "content": "x", "copies": 3,
        "printer": "Office", "title": "Invoice\n42",
        "options": {"media": "A4", "sides": "two-sided-long-edge", "orientation": "landscape",
                    "pageRanges": "1-3", "fitToPage": true},
        "createdAt": "2026-01-01T00:00:00Z", "expiresAt": "2999-01-01T00:00:00Z"
    }))
    .expect("valid");
    assert_eq!(job.copies, 3);
    assert_eq!(job.printer.as_deref(), Some("Office"));
    assert_eq!(job.title, "Invoice42");
    assert_eq!(job.options.sides, Some(Sides::TwoSidedLongEdge));
    assert_eq!(job.options.orientation, Some(Orientation::Landscape));
    assert_eq!(job.options.page_ranges.as_deref(), Some("1-3"));
    assert!(job.expires_at.is_some());
}

#[test]
fn every_broken_rule_has_its_code() {
    let ok = |extra: Value| {
        let mut base = json!({"jobId": "a", "contentType": "text", "content": "x"});
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        base
    };
    let cases = [
        (json!("text"), ErrorCode::InvalidPayload),
        (json!(null), ErrorCode::InvalidPayload),
        (json!([1, 2]), ErrorCode::InvalidPayload),
        (json!({"printData": 5}), ErrorCode::InvalidPayload),
        (json!({"printData": ""}), ErrorCode::EmptyContent),
        (json!({}), ErrorCode::InvalidPayload),
        (ok(json!({"jobId": ""})), ErrorCode::InvalidJobId),
        (ok(json!({"jobId": 7})), ErrorCode::InvalidJobId),
        (
            ok(json!({"jobId": "a".repeat(129)})),
            ErrorCode::InvalidJobId,
        ),
        (ok(json!({"jobId": "a\u{0}b"})), ErrorCode::InvalidJobId),
        (
            ok(json!({"contentType": "zip"})),
            ErrorCode::UnsupportedContentType,
        ),
        (ok(json!({"contentType": 5})), ErrorCode::InvalidPayload),
        (ok(json!({"content": 1})), ErrorCode::MissingContent),
        (
            ok(json!({"content": {"nested": [[[]]]}})),
            ErrorCode::MissingContent,
        ),
        (ok(json!({"content": ""})), ErrorCode::EmptyContent),
        (
            ok(json!({"contentType": "raw_base64", "content": "***"})),
            ErrorCode::InvalidContent,
        ),
        (
            ok(json!({"contentType": "raw_base64", "content": ""})),
            ErrorCode::EmptyContent,
        ),
        (
            ok(json!({"contentType": "pdf_base64", "content": b64(b"not a pdf")})),
            ErrorCode::InvalidContent,
        ),
        (
            ok(json!({"contentType": "pdf_uri", "content": "file:///etc/passwd"})),
            ErrorCode::InvalidContent,
        ),
        (
            ok(json!({"contentType": "raw_uri", "content": "not a url"})),
            ErrorCode::InvalidContent,
        ),
        (ok(json!({"copies": 0})), ErrorCode::InvalidCopies),
        (ok(json!({"copies": 100000})), ErrorCode::InvalidCopies),
        (ok(json!({"copies": -1})), ErrorCode::InvalidCopies),
        (ok(json!({"copies": "2"})), ErrorCode::InvalidCopies),
        (ok(json!({"copies": 1.5})), ErrorCode::InvalidCopies),
        (ok(json!({"printer": 3})), ErrorCode::InvalidPayload),
        (ok(json!({"printer": ""})), ErrorCode::InvalidPayload),
        (ok(json!({"title": []})), ErrorCode::InvalidPayload),
        (ok(json!({"options": "A4"})), ErrorCode::InvalidOptions),
        (
            ok(json!({"options": {"sides": "both"}})),
            ErrorCode::InvalidOptions,
        ),
        (
            ok(json!({"options": {"fitToPage": "yes"}})),
            ErrorCode::InvalidOptions,
        ),
        (
            ok(json!({"options": {"pageRanges": "1;rm -rf"}})),
            ErrorCode::InvalidOptions,
        ),
        (
            ok(json!({"options": {"media": "A4 -o evil"}})),
            ErrorCode::InvalidOptions,
        ),
        (
            ok(json!({"expiresAt": "yesterday"})),
            ErrorCode::InvalidTimestamp,
        ),
        (ok(json!({"createdAt": 5})), ErrorCode::InvalidTimestamp),
        (
            ok(json!({"expiresAt": "2001-01-01T00:00:00Z"})),
            ErrorCode::Expired,
        ),
    ];
    for (payload, code) in cases {
        let rejected = parse(payload.clone()).expect_err("must be rejected");
        assert_eq!(rejected.error.code, code, "payload {payload}");
    }
}

#[test]
fn a_rejected_v1_job_keeps_the_senders_id() {
    let rejected =
        parse(json!({"jobId": "abc", "contentType": "zip", "content": "x"})).expect_err("bad");
    assert_eq!(rejected.job_id, "abc");
}

#[test]
fn the_size_cap_applies_before_decoding() {
    let limits = Limits {
        max_job_bytes: 1000,
    };
    let big = "A".repeat(4000);
    for kind in ["text", "raw_base64"] {
        let payload = json!({"jobId": "big", "contentType": kind, "content": big});
        let rejected = parse_print(payload.clone(), limits).expect_err("too large");
        assert_eq!(rejected.error.code, ErrorCode::ContentTooLarge, "{kind}");
    }
    let original = parse_print(json!({"printData": big}), limits).expect_err("too large");
    assert_eq!(original.error.code, ErrorCode::ContentTooLarge);
}

/// Arbitrary JSON never panics the parser; every rejection has a message.
#[test]
fn arbitrary_json_never_panics() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    fn value(rng: &mut rand::rngs::StdRng, depth: u32) -> Value {
        let keys = [
            "jobId",
            "contentType",
            "content",
            "copies",
            "printer",
            "title",
            "options",
            "printData",
            "expiresAt",
            "media",
            "sides",
        ];
        match rng.random_range(0..if depth > 3 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.random()),
            2 => json!(rng.random_range(-5i64..2000)),
            3 => json!(
                [
                    "text",
                    "raw_base64",
                    "pdf_base64",
                    "pdf_uri",
                    "",
                    "aGk=",
                    "%PDF-",
                    "http://x/",
                    "2999-01-01T00:00:00Z",
                    "two-sided-long-edge"
                ][rng.random_range(0..10)]
            ),
            4 => json!(rng.random::<f64>()),
            5 => Value::Array(
                (0..rng.random_range(0..4))
                    .map(|_| value(rng, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.random_range(0..6))
                    .map(|_| {
                        (
                            keys[rng.random_range(0..keys.len())].to_owned(),
                            value(rng, depth + 1),
                        )
                    })
                    .collect(),
            ),
        }
    }
    for _ in 0..20_000 {
        let payload = value(&mut rng, 0);
        if let Err(rejected) = parse(payload) {
            assert!(!rejected.error.message.is_empty());
            assert!(!rejected.job_id.is_empty());
        }
    }
}

#[test]
fn html_and_image_jobs_parse_with_their_page_options() {
    let png = b64(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let job = parse(json!({"jobId": "i", "contentType": "image_base64", "content": png,
        "options": {"pageSize": {"widthMm": 100, "heightMm": 150}, "margins": 2.5, "dpi": 203, "fit": "page"}}))
    .expect("valid");
    assert!(matches!(job.document, Document::Image(_)));
    assert_eq!(
        job.options.page_size,
        Some(PageSize::Custom {
            width: Mm(100.0),
            height: Mm(150.0)
        })
    );
    assert_eq!(job.options.margins, Some(Margins::all(2.5)));
    assert_eq!(
        (job.options.dpi, job.options.fit),
        (Some(Finite(203.0)), Some(Fit::Page))
    );
    let html = parse(json!({"jobId": "h", "contentType": "html", "content": "<p>x</p>",
        "options": {"pageSize": "a5", "margins": {"top": 10, "left": 5}, "printBackground": false, "scale": 0.5}}))
    .expect("valid");
    assert_eq!(html.document, Document::Html("<p>x</p>".into()));
    assert_eq!(html.options.page_size, Some(PageSize::Named(PaperName::A5)));
    let margins = html.options.margins.expect("margins");
    assert_eq!(
        (margins.top, margins.right, margins.left),
        (Mm(10.0), Mm(0.0), Mm(5.0))
    );
    assert_eq!(html.options.print_background, Some(false));
    let remote = parse(
        json!({"jobId": "u", "contentType": "html_uri", "content": "https://erp.example/inv/1"}),
    )
    .expect("valid");
    assert!(matches!(
        remote.document,
        Document::Remote {
            kind: RemoteKind::Html,
            ..
        }
    ));
    // Stored and read back the same (the agent keeps options as JSON).
    let stored = serde_json::to_value(&html.options).expect("json");
    assert_eq!(
        serde_json::from_value::<PrintOptions>(stored).ok(),
        Some(html.options)
    );
}

#[test]
fn bad_page_options_and_non_images_are_refused_with_their_codes() {
    let with = |kind: &str, content: String, options: Value| {
        parse(json!({"jobId": "j", "contentType": kind, "content": content, "options": options}))
            .map_err(|r| (r.error.code, r.error.message))
    };
    let html = || "<p>x</p>".to_owned();
    for options in [
        json!({"pageSize": "B5"}),
        json!({"pageSize": {"widthMm": 5, "heightMm": 150}}),
        json!({"pageSize": {"widthMm": 100}}),
        json!({"margins": -1}),
        json!({"margins": "1cm"}),
        json!({"scale": 3}),
        json!({"scale": 1, "fit": "page"}),
        json!({"fit": "stretch"}),
        json!({"dpi": 0}),
    ] {
        let got = with("html", html(), options.clone());
        assert!(
            matches!(got, Err((ErrorCode::InvalidOptions, _))),
            "{options}: {got:?}"
        );
    }
    let not_image = with("image_base64", b64(b"GIF00 no"), json!({}));
    assert!(
        matches!(not_image, Err((ErrorCode::InvalidImage, _))),
        "{not_image:?}"
    );
    let huge = with("html", "x".repeat(MAX_HTML_BYTES as usize + 1), json!({}));
    assert!(
        matches!(huge, Err((ErrorCode::ContentTooLarge, _))),
        "{huge:?}"
    );
}

/// A bound holds to the last digit: `100.00000000000001` mm is over 100, as the hub's
/// OpenAPI schema (and a JSON schema validator) says.
#[test]
fn page_option_bounds_hold_for_numbers_just_past_them() {
    let options: Value = serde_json::from_str(r#"{"margins": 100.00000000000001}"#).expect("json");
    let got = parse(
        json!({"jobId": "j", "contentType": "html", "content": "<p>x</p>", "options": options}),
    );
    assert_eq!(
        got.map_err(|r| r.error.code),
        Err(ErrorCode::InvalidOptions)
    );
}
