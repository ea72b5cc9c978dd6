//! A `print` sent with binary attachments (a server that emits a Buffer): the document
//! is the bytes of the attachment its placeholder names, in `printData` (original shape)
//! or `content` (v1).

use super::*;

/// The Socket.IO stand-in for attachment `num`: `{"_placeholder": true, "num": n}`.
fn placeholder_index(value: &Value) -> Option<usize> {
    let fields = value.as_object()?;
    if fields.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    fields
        .get("num")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

/// Parses a `print` whose `printData` or `content` is a Buffer, sent as binary
/// attachments. The original shape's Buffer prints raw, byte for byte; in v1 the bytes
/// are the document of its `contentType` (`raw_base64` and `pdf_base64` take the bytes
/// as they are, with no base64; `text` must be UTF-8). The other fields follow the usual
/// rules. Binary data anywhere else is refused with `unsupported_binary`.
pub fn parse_binary_print(
    mut payload: Value,
    mut attachments: Vec<Vec<u8>>,
    limits: Limits,
) -> Result<PrintJob, Rejected> {
    let v1 = payload.get("contentType").is_some();
    let field = if v1 { "content" } else { "printData" };
    let bytes = payload
        .get(field)
        .and_then(placeholder_index)
        .and_then(|num| attachments.get_mut(num))
        .map(std::mem::take);
    let Some(bytes) = bytes else {
        return Err(reject(
            job_id_or_local(&payload),
            ErrorCode::UnsupportedBinary,
            format!("binary data (a Buffer) is read only as {field}"),
        ));
    };
    let kind = payload["contentType"].as_str().unwrap_or("").to_owned();
    // The rest of the job is checked as usual, with a stand-in document.
    if v1 {
        payload["contentType"] = Value::from("text");
    }
    payload[field] = Value::from(" ");
    let mut job = parse_print(payload, limits)?;
    job.document = binary_document(&kind, v1, bytes, limits).map_err(|error| Rejected {
        job_id: job.job_id.clone(),
        error,
    })?;
    if !v1 {
        job.title = "PrintRelay raw data".into();
    }
    Ok(job)
}

fn binary_document(
    kind: &str,
    v1: bool,
    bytes: Vec<u8>,
    limits: Limits,
) -> Result<Document, JobError> {
    if bytes.is_empty() {
        return Err(JobError::new(
            ErrorCode::EmptyContent,
            "the Buffer is empty",
        ));
    }
    content::check_size(bytes.len() as u64, limits)?;
    if !v1 {
        return Ok(Document::Raw(bytes));
    }
    match kind {
        "raw_base64" => Ok(Document::Raw(bytes)),
        "pdf_base64" if bytes.starts_with(b"%PDF-") => Ok(Document::Pdf(bytes)),
        "pdf_base64" => Err(JobError::new(
            ErrorCode::InvalidContent,
            "the Buffer is not a PDF",
        )),
        "text" => String::from_utf8(bytes)
            .map(Document::Text)
            .map_err(|_| JobError::new(ErrorCode::InvalidContent, "the Buffer is not UTF-8 text")),
        "html" => {
            content::check_html_size(bytes.len() as u64)?;
            String::from_utf8(bytes).map(Document::Html).map_err(|_| {
                JobError::new(ErrorCode::InvalidContent, "the Buffer is not UTF-8 HTML")
            })
        }
        "image_base64" if content::image_format(&bytes).is_some() => Ok(Document::Image(bytes)),
        "image_base64" => Err(JobError::new(
            ErrorCode::InvalidImage,
            "the Buffer is not a PNG, JPEG, GIF or WebP image",
        )),
        other => {
            let shown: String = other.chars().take(40).collect();
            Err(JobError::new(
                ErrorCode::UnsupportedContentType,
                format!("contentType {shown:?} cannot come as binary data"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn limits() -> Limits {
        Limits { max_job_bytes: 300 }
    }

    fn placeholder(num: u64) -> Value {
        json!({"_placeholder": true, "num": num})
    }

    #[test]
    fn a_buffer_in_print_data_prints_raw_byte_for_byte() {
        let every_byte: Vec<u8> = (0..=255).collect();
        let job = parse_binary_print(
            json!({"jobId": "b-1", "printData": placeholder(0)}),
            vec![every_byte.clone()],
            limits(),
        )
        .expect("job");
        assert_eq!(job.job_id, "b-1");
        assert_eq!(job.document, Document::Raw(every_byte));
        let local = parse_binary_print(
            json!({"printData": placeholder(0)}),
            vec![b"x".to_vec()],
            limits(),
        )
        .expect("job");
        assert!(local.job_id.starts_with("local-"));
    }

    #[test]
    fn a_v1_buffer_is_the_document_of_its_content_type() {
        let v1 = |kind: &str| json!({"jobId": "b-2", "contentType": kind, "content": placeholder(1), "copies": 2});
        let parts = || vec![b"unused".to_vec(), b"%PDF-1.4".to_vec()];
        let pdf = parse_binary_print(v1("pdf_base64"), parts(), limits()).expect("pdf");
        assert_eq!(pdf.document, Document::Pdf(b"%PDF-1.4".to_vec()));
        assert_eq!(pdf.copies, 2);
        let raw = parse_binary_print(v1("raw_base64"), parts(), limits()).expect("raw");
        assert_eq!(raw.document, Document::Raw(b"%PDF-1.4".to_vec()));
        let text = parse_binary_print(v1("text"), parts(), limits()).expect("text");
        assert_eq!(text.document, Document::Text("%PDF-1.4".into()));
        let code = |payload, parts| {
            parse_binary_print(payload, parts, limits())
                .map(|_| ())
                .map_err(|r| (r.job_id, r.error.code))
        };
        assert_eq!(
            code(v1("pdf_uri"), parts()),
            Err(("b-2".into(), ErrorCode::UnsupportedContentType))
        );
        assert_eq!(
            code(v1("text"), vec![vec![], vec![0xff]]),
            Err(("b-2".into(), ErrorCode::InvalidContent))
        );
        assert_eq!(
            code(v1("raw_base64"), vec![vec![], vec![0; 301]]),
            Err(("b-2".into(), ErrorCode::ContentTooLarge))
        );
        assert_eq!(
            code(v1("raw_base64"), vec![vec![], vec![]]),
            Err(("b-2".into(), ErrorCode::EmptyContent))
        );
        // The other fields follow the usual rules.
        let mut bad_copies = v1("raw_base64");
        bad_copies["copies"] = json!(0);
        assert_eq!(
            code(bad_copies, parts()),
            Err(("b-2".into(), ErrorCode::InvalidCopies))
        );
    }

    #[test]
    fn binary_data_elsewhere_or_a_missing_attachment_is_refused() {
        let refused = |payload: Value, parts: Vec<Vec<u8>>| {
            parse_binary_print(payload, parts, limits())
                .err()
                .map(|r| r.error.code)
        };
        assert_eq!(
            refused(
                json!({"jobId": "b-3", "printData": "x", "title": placeholder(0)}),
                vec![b"t".to_vec()]
            ),
            Some(ErrorCode::UnsupportedBinary)
        );
        assert_eq!(
            refused(json!({"printData": placeholder(3)}), vec![b"t".to_vec()]),
            Some(ErrorCode::UnsupportedBinary)
        );
        assert_eq!(
            refused(
                json!({"printData": {"_placeholder": false, "num": 0}}),
                vec![b"t".to_vec()]
            ),
            Some(ErrorCode::UnsupportedBinary)
        );
    }
}
