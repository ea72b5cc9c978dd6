use base64::Engine as _;
use serde_json::json;

use super::*;

fn valid() -> Value {
    json!({
        "clientId": "pc-1", "jobId": "inv-1", "contentType": "text", "content": "Invoice 1",
    })
}

fn parse_value(body: &Value) -> Result<Submission, ApiError> {
    parse(body.to_string().as_bytes())
}

/// (status, code, field) of a refused body.
fn refusal(body: &[u8]) -> (u16, String, String) {
    match parse(body) {
        Ok(submission) => panic!("accepted: {submission:?}"),
        Err(error) => {
            let field = match &error {
                ApiError::Invalid { field, .. } => field.clone(),
                _ => String::new(),
            };
            (error.status().as_u16(), error.code().to_owned(), field)
        }
    }
}

fn refusal_of(changes: Value) -> (u16, String, String) {
    let mut body = valid();
    for (name, value) in changes.as_object().expect("changes").clone() {
        if value == json!("<absent>") {
            body.as_object_mut().expect("object").remove(&name);
        } else {
            body[name] = value;
        }
    }
    refusal(body.to_string().as_bytes())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn the_agent_gets_the_body_without_client_id_and_with_unknown_members() {
    let mut body = valid();
    body["copies"] = json!(2);
    body["options"] = json!({"media": "A4", "sides": "two-sided-long-edge", "future": [1]});
    body["meta"] = json!({"order": 42});
    body["expiresAt"] = json!("2099-01-01T00:00:00Z");
    let submission = parse_value(&body).expect("valid");
    assert_eq!(submission.client_id, "pc-1");
    assert_eq!(submission.job_id, "inv-1");
    assert_eq!(submission.expires_at, Some(4_070_908_800_000));
    let mut expected = body.clone();
    expected.as_object_mut().expect("object").remove("clientId");
    assert_eq!(submission.payload, expected);
}

#[test]
fn a_repeated_member_counts_once_the_last() {
    let body = br#"{"clientId":"a","clientId":"b","jobId":"j","contentType":"text","content":"x","content":"y"}"#;
    let submission = parse(body).expect("valid");
    assert_eq!(submission.client_id, "b");
    assert_eq!(submission.payload["content"], "y");
}

#[test]
fn each_broken_rule_is_a_422_naming_its_member() {
    let cases = [
        (
            json!({"clientId": "<absent>"}),
            "invalid_client_id",
            "clientId",
        ),
        (json!({"clientId": ""}), "invalid_client_id", "clientId"),
        (
            json!({"clientId": "x".repeat(129)}),
            "invalid_client_id",
            "clientId",
        ),
        (json!({"jobId": 7}), "invalid_job_id", "jobId"),
        (json!({"jobId": "a\u{7}b"}), "invalid_job_id", "jobId"),
        (
            json!({"contentType": "svg"}),
            "unsupported_content_type",
            "contentType",
        ),
        (
            json!({"contentType": "<absent>"}),
            "unsupported_content_type",
            "contentType",
        ),
        (json!({"content": "<absent>"}), "missing_content", "content"),
        (json!({"content": [0, 0]}), "missing_content", "content"),
        (json!({"content": ""}), "empty_content", "content"),
        (json!({"copies": 0}), "invalid_copies", "copies"),
        (json!({"copies": 1000}), "invalid_copies", "copies"),
        (json!({"copies": 2.5}), "invalid_copies", "copies"),
        (json!({"copies": "2"}), "invalid_copies", "copies"),
        (json!({"options": []}), "invalid_options", "options"),
        (
            json!({"options": {"fitToPage": "yes"}}),
            "invalid_options",
            "options",
        ),
        (
            json!({"options": {"sides": "sideways"}}),
            "invalid_options",
            "options",
        ),
        (
            json!({"options": {"media": "A 4"}}),
            "invalid_options",
            "options",
        ),
        (
            json!({"options": {"pageSize": "B5"}}),
            "invalid_options",
            "options",
        ),
        (
            json!({"options": {"scale": 0.5, "fit": "page"}}),
            "invalid_options",
            "options",
        ),
        (
            json!({"options": {"pageRanges": "1;rm -rf"}}),
            "invalid_options",
            "options",
        ),
        (json!({"printer": ""}), "invalid_payload", "printer"),
        (json!({"printer": 3}), "invalid_payload", "printer"),
        (json!({"title": false}), "invalid_payload", "title"),
        (
            json!({"expiresAt": "tomorrow"}),
            "invalid_timestamp",
            "expiresAt",
        ),
        (
            json!({"createdAt": 1_700_000_000}),
            "invalid_timestamp",
            "createdAt",
        ),
    ];
    for (changes, code, field) in cases {
        assert_eq!(
            refusal_of(changes.clone()),
            (422, code.to_owned(), field.to_owned()),
            "{changes}"
        );
    }
    // Null stands for absent, as the agent reads it.
    let nulls = json!({"copies": null, "printer": null, "title": null, "options": null,
        "expiresAt": null, "createdAt": null});
    let mut body = valid();
    for (name, value) in nulls.as_object().expect("object") {
        body[name] = value.clone();
    }
    assert!(parse_value(&body).is_ok());
}

#[test]
fn base64_content_is_checked_as_the_agent_decodes_it() {
    let with = |kind: &str, content: &str| {
        let mut body = valid();
        body["contentType"] = json!(kind);
        body["content"] = json!(content);
        parse_value(&body).map(|_| ()).map_err(|e| e.code())
    };
    assert_eq!(with("raw_base64", &b64(b"\x1b@hello")), Ok(()));
    assert_eq!(with("raw_base64", &format!("  {}\n", b64(b"x"))), Ok(()));
    assert_eq!(with("raw_base64", "not base64!"), Err("invalid_content"));
    // Non-zero trailing bits and missing padding, which the agent's decoder refuses.
    assert_eq!(with("raw_base64", "AB=="), Err("invalid_content"));
    assert_eq!(with("raw_base64", "QQ"), Err("invalid_content"));
    assert_eq!(with("raw_base64", "   "), Err("empty_content"));
    // Long enough to be read in several pieces, valid and with a flaw in a later piece.
    let long = b64(&vec![7u8; 20_000]);
    assert_eq!(with("raw_base64", &long), Ok(()));
    let mut flawed = long.clone().into_bytes();
    flawed[9_000] = b'*';
    assert_eq!(
        with("raw_base64", &String::from_utf8(flawed).expect("ascii")),
        Err("invalid_content")
    );
    // Padding that ends a piece but not the text.
    let padded_inside = format!("{}AA=={}", "A".repeat(4092), "AAAA");
    assert_eq!(with("raw_base64", &padded_inside), Err("invalid_content"));

    assert_eq!(with("pdf_base64", &b64(b"%PDF-1.7\n...")), Ok(()));
    assert_eq!(with("pdf_base64", &b64(b"%PDF-")), Ok(()));
    assert_eq!(with("pdf_base64", &b64(b"hello")), Err("invalid_content"));
    assert_eq!(with("pdf_uri", "https://erp.example/i.pdf"), Ok(()));
    assert_eq!(with("raw_uri", ""), Err("invalid_content"));

    assert_eq!(with("html", "<p>Invoice</p>"), Ok(()));
    assert_eq!(with("html", ""), Err("empty_content"));
    assert_eq!(with("html_uri", "https://erp.example/i.html"), Ok(()));
    for image in [
        &b"\x89PNG\r\n\x1a\n"[..],
        b"\xff\xd8\xff\xe0",
        b"GIF89a",
        b"RIFF\0\0\0\0WEBPVP8 ",
    ] {
        assert_eq!(with("image_base64", &b64(image)), Ok(()), "{image:?}");
    }
    assert_eq!(
        with("image_base64", &b64(b"RIFF\0\0\0\0WAVE")),
        Err("invalid_image")
    );
    assert_eq!(with("image_base64", &b64(b"hello")), Err("invalid_image"));
}

#[test]
fn not_json_is_400_and_json_of_another_shape_is_422() {
    assert_eq!(refusal(b"{not json").0, 400);
    assert_eq!(refusal(b"").1, "invalid_json");
    assert_eq!(refusal(br#"{"clientId": "a"} trailing"#).1, "invalid_json");
    let (status, code, field) = refusal(b"[0,0,0]");
    assert_eq!(
        (status, code.as_str(), field.as_str()),
        (422, "invalid_payload", "")
    );
    assert_eq!(refusal(b"\"text\"").0, 422);
}

#[test]
fn members_besides_content_are_bounded() {
    let mut body = valid();
    body["content"] = json!("x".repeat(2 * MAX_OTHER_BYTES));
    assert!(parse_value(&body).is_ok(), "content is not counted");
    let mut body = valid();
    body["junk"] = json!(vec![0; MAX_OTHER_BYTES / 2]);
    let (status, code, field) = refusal(body.to_string().as_bytes());
    assert_eq!(
        (status, code.as_str(), field.as_str()),
        (422, "invalid_payload", "junk")
    );
}

#[test]
fn an_expiry_before_1970_is_already_past() {
    let mut body = valid();
    body["expiresAt"] = json!("1960-01-01T00:00:00Z");
    assert_eq!(parse_value(&body).expect("valid").expires_at, Some(0));
}

#[test]
fn timestamps_are_rfc_3339_in_the_form_the_document_describes() {
    let with = |text: &str| {
        let mut body = valid();
        body["createdAt"] = json!(text);
        parse_value(&body).map(|_| ()).map_err(|e| e.code())
    };
    for text in [
        "2026-12-01T00:00:00Z",
        "2028-02-29T23:59:59.123456789-00:00",
        "2000-02-29T00:00:00+23:59",
        "0000-02-29T00:00:00Z",
        "2026-04-30T12:00:00.5+08:00",
    ] {
        assert_eq!(with(text), Ok(()), "{text}");
    }
    for text in [
        "",
        "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-12-01 00:00:00Z",
        "2026-12-01t00:00:00z",
        "2026-12-31T23:59:60Z",
        "2026-12-01T00:00:00.1234567890Z",
        "2026-12-01T00:00:00.Z",
        "2026-12-01T24:00:00Z",
        "2026-12-01T00:00:00+24:00",
        "2026-12-01T00:00:00+08:60",
        "2026-12-01T00:00:00",
        "2026-12-01T00:00:00Z ",
    ] {
        assert_eq!(with(text), Err("invalid_timestamp"), "{text}");
    }
}

#[test]
fn a_whole_count_written_with_a_fraction_reaches_the_agent_as_an_integer() {
    let mut body = valid();
    body["copies"] = json!(3.0);
    let submission = parse_value(&body).expect("JSON Schema counts 3.0 as an integer");
    assert_eq!(submission.payload["copies"], json!(3));
    assert!(submission.payload["copies"].is_u64());
}
