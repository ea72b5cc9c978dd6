//! How documents, states and error codes are written in the tables and read back.

use super::*;

pub(super) fn encode_document(document: &Document) -> (&'static str, &[u8]) {
    match document {
        Document::Text(text) => ("text", text.as_bytes()),
        Document::Raw(bytes) => ("raw", bytes),
        Document::Pdf(bytes) => ("pdf", bytes),
        Document::Html(text) => ("html", text.as_bytes()),
        Document::Image(bytes) => ("image", bytes),
        Document::Remote {
            url,
            kind: RemoteKind::Html,
        } => ("html_uri", url.as_str().as_bytes()),
        Document::Remote {
            url,
            kind: RemoteKind::Image,
        } => ("image_uri", url.as_str().as_bytes()),
        Document::Remote {
            url,
            kind: RemoteKind::Pdf,
        } => ("pdf_uri", url.as_str().as_bytes()),
        Document::Remote {
            url,
            kind: RemoteKind::Raw,
        } => ("raw_uri", url.as_str().as_bytes()),
    }
}

pub(super) fn decode_document(content_type: &str, content: Vec<u8>) -> Option<Document> {
    let remote = |content: Vec<u8>, kind| {
        let url = url::Url::parse(&String::from_utf8(content).ok()?).ok()?;
        Some(Document::Remote { url, kind })
    };
    match content_type {
        "text" => String::from_utf8(content).ok().map(Document::Text),
        "raw" => Some(Document::Raw(content)),
        "pdf" => Some(Document::Pdf(content)),
        "html" => String::from_utf8(content).ok().map(Document::Html),
        "image" => Some(Document::Image(content)),
        "html_uri" => remote(content, RemoteKind::Html),
        "image_uri" => remote(content, RemoteKind::Image),
        "pdf_uri" => remote(content, RemoteKind::Pdf),
        "raw_uri" => remote(content, RemoteKind::Raw),
        _ => None,
    }
}

pub(super) fn as_text<T: serde::Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        _ => String::new(),
    }
}

pub(super) fn state_text(state: JobState) -> String {
    as_text(state)
}

pub(super) fn code_text(code: ErrorCode) -> String {
    as_text(code)
}

pub(super) fn parse_state(text: &str) -> JobState {
    serde_json::from_value(Value::String(text.to_owned())).unwrap_or(JobState::Failed)
}

pub(super) fn parse_code(text: &str) -> ErrorCode {
    serde_json::from_value(Value::String(text.to_owned())).unwrap_or(ErrorCode::PrintFailed)
}
