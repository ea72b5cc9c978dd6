//! A job's `content` by `contentType`: text, base64 decoded in place, or a URL; and the
//! size cap.

use super::*;

pub(super) fn parse_content(
    kind: &str,
    content: String,
    limits: Limits,
) -> Result<Document, JobError> {
    let document = match kind {
        "text" => {
            check_size(content.len() as u64, limits)?;
            Document::Text(content)
        }
        "raw_base64" => Document::Raw(decode_base64(content, limits)?),
        "pdf_base64" => {
            let bytes = decode_base64(content, limits)?;
            if !bytes.starts_with(b"%PDF-") {
                return Err(JobError::new(
                    ErrorCode::InvalidContent,
                    "pdf_base64 content is not a PDF",
                ));
            }
            Document::Pdf(bytes)
        }
        "html" => {
            check_html_size(content.len() as u64)?;
            Document::Html(content)
        }
        "image_base64" => {
            let bytes = decode_base64(content, limits)?;
            if !bytes.is_empty() && image_format(&bytes).is_none() {
                return Err(JobError::new(
                    ErrorCode::InvalidImage,
                    "image_base64 content is not a PNG, JPEG, GIF or WebP image",
                ));
            }
            Document::Image(bytes)
        }
        "pdf_uri" | "raw_uri" | "html_uri" | "image_uri" => {
            let url = url::Url::parse(&content).map_err(|e| {
                JobError::new(
                    ErrorCode::InvalidContent,
                    format!("content is not a URL: {e}"),
                )
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(JobError::new(
                    ErrorCode::InvalidContent,
                    "only http and https URLs are fetched",
                ));
            }
            let kind = match kind {
                "pdf_uri" => RemoteKind::Pdf,
                "html_uri" => RemoteKind::Html,
                "image_uri" => RemoteKind::Image,
                _ => RemoteKind::Raw,
            };
            Document::Remote { url, kind }
        }
        other => {
            let shown: String = other.chars().take(40).collect();
            return Err(JobError::new(
                ErrorCode::UnsupportedContentType,
                format!("contentType {shown:?} is not supported"),
            ));
        }
    };
    if document.bytes().is_empty() && !matches!(document, Document::Remote { .. }) {
        return Err(JobError::new(ErrorCode::EmptyContent, "content is empty"));
    }
    Ok(document)
}

/// Decodes base64 into the text's own buffer, a slice at a time: the bytes never need a
/// second buffer of the document's size. The size is checked before anything is decoded.
pub(super) fn decode_base64(content: String, limits: Limits) -> Result<Vec<u8>, JobError> {
    /// Characters decoded at once; a multiple of 4, so only the last slice may be padded.
    const SLICE: usize = 64 * 1024;
    check_size((content.len() as u64 / 4) * 3, limits)?;
    let mut bytes = content.into_bytes();
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |last| last + 1);
    let mut decoded = vec![0u8; SLICE / 4 * 3];
    let (mut read, mut written) = (start, 0);
    while read < end {
        let stop = (read + SLICE).min(end);
        let count = base64::engine::general_purpose::STANDARD
            .decode_slice(&bytes[read..stop], &mut decoded)
            .map_err(|e| {
                JobError::new(
                    ErrorCode::InvalidContent,
                    format!("content is not valid base64 (at character {read}): {e}"),
                )
            })?;
        // Three bytes out per four characters in: the write stays behind the read.
        bytes[written..written + count].copy_from_slice(&decoded[..count]);
        written += count;
        read = stop;
    }
    bytes.truncate(written);
    bytes.shrink_to_fit();
    Ok(bytes)
}

/// The image formats the agent places on a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Gif,
    Webp,
}

/// The format of an image, told by its first bytes; `None` for anything else.
pub fn image_format(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

/// An HTML document over [`MAX_HTML_BYTES`] fails `content_too_large`.
pub fn check_html_size(bytes: u64) -> Result<(), JobError> {
    if bytes > MAX_HTML_BYTES {
        return Err(JobError::new(
            ErrorCode::ContentTooLarge,
            format!("the HTML document has {bytes} bytes; the limit is {MAX_HTML_BYTES}"),
        ));
    }
    Ok(())
}

pub(super) fn check_size(bytes: u64, limits: Limits) -> Result<(), JobError> {
    if bytes > limits.max_job_bytes {
        return Err(JobError::new(
            ErrorCode::ContentTooLarge,
            too_large(bytes, limits),
        ));
    }
    Ok(())
}

pub(super) fn too_large(bytes: u64, limits: Limits) -> String {
    format!(
        "the document has {bytes} bytes; the limit is {}",
        limits.max_job_bytes
    )
}
