//! How documents, states and error codes are written in the tables and read back.

use super::*;

pub(super) fn encode_document(document: &Document) -> (&'static str, &[u8]) {
    let name = DocumentKind::of(document).as_str();
    match document {
        Document::Text(text) | Document::Html(text) => (name, text.as_bytes()),
        Document::Raw(bytes) | Document::Pdf(bytes) | Document::Image(bytes) => (name, bytes),
        Document::Remote { url, .. } => (name, url.as_str().as_bytes()),
    }
}

pub(super) fn decode_document(content_type: &str, content: Vec<u8>) -> Option<Document> {
    let remote = |content: Vec<u8>, kind| {
        let url = url::Url::parse(&String::from_utf8(content).ok()?).ok()?;
        Some(Document::Remote { url, kind })
    };
    match DocumentKind::parse(content_type)? {
        DocumentKind::Text => String::from_utf8(content).ok().map(Document::Text),
        DocumentKind::Raw => Some(Document::Raw(content)),
        DocumentKind::Pdf => Some(Document::Pdf(content)),
        DocumentKind::Html => String::from_utf8(content).ok().map(Document::Html),
        DocumentKind::Image => Some(Document::Image(content)),
        DocumentKind::PdfUri => remote(content, RemoteKind::Pdf),
        DocumentKind::RawUri => remote(content, RemoteKind::Raw),
        DocumentKind::HtmlUri => remote(content, RemoteKind::Html),
        DocumentKind::ImageUri => remote(content, RemoteKind::Image),
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
