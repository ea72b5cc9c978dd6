//! The agent's rules for the members of a job that need more than a type: ids,
//! `contentType`, `content` (base64 decoded as the agent decodes it), `options`, and
//! the form of a timestamp.

use base64::Engine as _;
use serde::Deserialize;

use crate::http::error::ApiError;

/// An id the agent accepts (jobId) or can register as (clientId).
pub fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.chars().count()) && !id.chars().any(char::is_control)
}

/// `contentType` of the v1 shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    Text,
    RawBase64,
    PdfBase64,
    PdfUri,
    RawUri,
    Html,
    HtmlUri,
    ImageBase64,
    ImageUri,
}

/// The agent's checks of `content` that need no network: text not empty, base64 that
/// decodes to at least a byte, a PDF that starts as one. A URL is the agent's to fetch
/// (and judge); here it only must not be empty.
pub fn check_content(kind: ContentType, content: &str) -> Result<(), ApiError> {
    let invalid = |code, message: String| Err(ApiError::invalid(code, "content", message));
    match kind {
        ContentType::Text if content.is_empty() => {
            invalid("empty_content", "content is empty".into())
        }
        ContentType::Text => Ok(()),
        ContentType::Html if content.is_empty() => {
            invalid("empty_content", "content is empty".into())
        }
        ContentType::Html => printrelay_protocol::check_html_size(content.len() as u64)
            .map_err(|e| ApiError::invalid("content_too_large", "content", e.message)),
        ContentType::PdfUri
        | ContentType::RawUri
        | ContentType::HtmlUri
        | ContentType::ImageUri
            if content.is_empty() =>
        {
            invalid(
                "invalid_content",
                "content must be an http or https URL".into(),
            )
        }
        ContentType::PdfUri
        | ContentType::RawUri
        | ContentType::HtmlUri
        | ContentType::ImageUri => Ok(()),
        ContentType::RawBase64 | ContentType::PdfBase64 | ContentType::ImageBase64 => {
            match decode_base64(content) {
                Err(message) => invalid("invalid_content", message),
                Ok((0, _)) => invalid("empty_content", "content is empty".into()),
                Ok((_, head)) if kind == ContentType::PdfBase64 && !head.starts_with(b"%PDF-") => {
                    invalid("invalid_content", "pdf_base64 content is not a PDF".into())
                }
                Ok((_, head))
                    if kind == ContentType::ImageBase64
                        && printrelay_protocol::image_format(&head).is_none() =>
                {
                    invalid(
                        "invalid_image",
                        "image_base64 content is not a PNG, JPEG, GIF or WebP image".into(),
                    )
                }
                Ok(_) => Ok(()),
            }
        }
    }
}

/// Base64 read a piece at a time, as the agent decodes it whole (standard alphabet,
/// canonical padding, whitespace around it ignored): (decoded length, first bytes).
/// A piece at a time, so a large document costs no second copy.
fn decode_base64(content: &str) -> Result<(usize, Vec<u8>), String> {
    const PIECE: usize = 4096;
    let text = content.trim().as_bytes();
    let mut out = [0u8; PIECE / 4 * 3];
    let mut total = 0;
    let mut head = Vec::new();
    let pieces = text.len().div_ceil(PIECE);
    for (index, piece) in text.chunks(PIECE).enumerate() {
        let start = index * PIECE;
        // Each piece decodes alone; padding may only end the last one.
        if index + 1 < pieces {
            if let Some(at) = piece.iter().position(|&b| b == b'=') {
                return Err(format!(
                    "content is not valid base64: padding at byte {}",
                    start + at
                ));
            }
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode_slice(piece, &mut out)
            .map_err(|e| format!("content is not valid base64 (in the bytes from {start}): {e}"))?;
        if head.is_empty() {
            // Enough to tell a PDF or an image (WebP's signature ends at byte 12).
            head.extend_from_slice(&out[..decoded.min(12)]);
        }
        total += decoded;
    }
    Ok((total, head))
}

/// `YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|±HH:MM)` with `T` and `Z` in upper case and no
/// leap second: the form the OpenAPI document's pattern describes exactly (the `time`
/// crate, which judges the numbers, also takes other separators, more digits and
/// leap seconds, which a pattern cannot follow).
pub fn usual_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |from: usize, to: usize| {
        b.get(from..to)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let at = |index: usize, wanted: u8| b.get(index) == Some(&wanted);
    let head = digits(0, 4)
        && at(4, b'-')
        && digits(5, 7)
        && at(7, b'-')
        && digits(8, 10)
        && at(10, b'T')
        && digits(11, 13)
        && at(13, b':')
        && digits(14, 16)
        && at(16, b':')
        && digits(17, 19)
        // No leap second.
        && b[17] <= b'5';
    if !head {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&count) {
            return false;
        }
        rest = &fraction[count..];
    }
    match rest {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}
