//! The `print` payload (protocol section 4): its shapes, its validation, and the job it
//! yields.
//!
//! Parsing is pure and total: any JSON value yields a job or a [`Rejected`] with a
//! stable [`ErrorCode`]; nothing here panics or allocates more than the input holds.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::job::{ErrorCode, JobError};

/// Default cap on a job's decoded size.
pub const DEFAULT_MAX_JOB_BYTES: u64 = 64 * 1024 * 1024;

/// Longest accepted job id, in characters.
const MAX_JOB_ID_CHARS: usize = 128;
/// Longest kept title, in characters.
const MAX_TITLE_CHARS: usize = 200;

/// A validated print job, whichever shape it arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    /// The sender's id, or `local-<uuid>` for the original shape.
    pub job_id: String,
    /// Human-readable title.
    pub title: String,
    /// What to print, or where to fetch it.
    pub document: Document,
    /// Printer the server asked for, if any.
    pub printer: Option<String>,
    /// Number of copies, 1..=999.
    pub copies: u32,
    /// Layout options for the spooler.
    pub options: PrintOptions,
    /// After this moment the job must not be printed.
    pub expires_at: Option<OffsetDateTime>,
    /// Who asked for it: the printer rule binds servers, not the user at this PC.
    pub origin: Origin,
}

/// Where a job came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Origin {
    /// A dispatch server (or a job restored from the store).
    #[default]
    Server,
    /// The user at this PC: a test page or a reprint.
    Local,
}

/// What to print and how the spooler should treat it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// UTF-8 text; the spooler's text filter lays it out.
    Text(String),
    /// Bytes in the printer's own language (ESC/POS, ZPL, PCL...), passed through untouched.
    Raw(Vec<u8>),
    /// A PDF document.
    Pdf(Vec<u8>),
    /// A document the agent fetches (http/https) before printing.
    Remote { url: url::Url, kind: RemoteKind },
}

/// What a fetched document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteKind {
    Pdf,
    Raw,
}

impl Document {
    /// The bytes handed to the spooler (empty for a not yet fetched remote document).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Document::Text(text) => text.as_bytes(),
            Document::Raw(bytes) | Document::Pdf(bytes) => bytes,
            Document::Remote { .. } => &[],
        }
    }
}

/// Layout options, mapped onto the spooler's attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintOptions {
    /// Paper, e.g. `A4`, `Letter`, `om_label_100x150mm` (passed to the spooler as is).
    pub media: Option<String>,
    pub sides: Option<Sides>,
    pub orientation: Option<Orientation>,
    /// E.g. `1-3,5`.
    pub page_ranges: Option<String>,
    pub fit_to_page: Option<bool>,
}

/// Duplex mode (IPP `sides`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sides {
    OneSided,
    TwoSidedLongEdge,
    TwoSidedShortEdge,
}

/// Page orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Orientation {
    Portrait,
    Landscape,
}

/// A `print` payload that failed validation; `job_id` is the sender's when it was
/// readable, so the failure is reported against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub job_id: String,
    pub error: JobError,
}

/// The payload's `jobId` when it is a valid one, else a new local id: a job that cannot
/// be taken is still reported, under the sender's id where it can be read.
fn job_id_or_local(payload: &Value) -> String {
    payload
        .get("jobId")
        .and_then(Value::as_str)
        .filter(|id| valid_job_id(id))
        .map_or_else(local_id, str::to_owned)
}

/// The rejection of a `print` sent with binary attachments: under its `jobId` when it
/// has a valid one, else a local id, so it shows in the history and at the server.
pub fn reject_binary_print(payload: &Value) -> Rejected {
    reject(
        job_id_or_local(payload),
        ErrorCode::UnsupportedBinary,
        "the server sent the document as binary data (a Buffer), which this agent does not take yet: send it as base64 text",
    )
}

/// The rejection of a `print` whose frame was too long to read (`bytes` long): under the
/// `jobId` read from its start when valid, else a local id.
pub fn reject_dropped_print(peeked: &Value, bytes: u64, limits: Limits) -> Rejected {
    reject(
        job_id_or_local(peeked),
        ErrorCode::ContentTooLarge,
        format!(
            "the job's message has {bytes} bytes, more than a document of {} bytes needs: it was not read",
            limits.max_job_bytes
        ),
    )
}

/// Limits the parser enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decoded document, in bytes.
    pub max_job_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_job_bytes: DEFAULT_MAX_JOB_BYTES,
        }
    }
}

/// Parses a `print` payload in the original `{printData}` shape or the v1 shape.
///
/// Takes the payload by value: the document moves into the job (and base64 is decoded
/// in place), so a job at the size cap is not held twice.
pub fn parse_print(payload: Value, limits: Limits) -> Result<PrintJob, Rejected> {
    let Value::Object(fields) = payload else {
        return Err(reject(
            local_id(),
            ErrorCode::InvalidPayload,
            "the print payload is not a JSON object",
        ));
    };
    if fields.contains_key("printData") && !fields.contains_key("contentType") {
        return parse_original(fields, limits);
    }
    let job_id = match fields.get("jobId") {
        Some(Value::String(id)) if valid_job_id(id) => id.clone(),
        Some(Value::String(_)) => {
            return Err(reject(
                local_id(),
                ErrorCode::InvalidJobId,
                "jobId must be 1 to 128 printable characters",
            ))
        }
        Some(_) => {
            return Err(reject(
                local_id(),
                ErrorCode::InvalidJobId,
                "jobId must be a string",
            ))
        }
        None => {
            return Err(reject(
                local_id(),
                ErrorCode::InvalidPayload,
                "neither printData nor jobId is present",
            ))
        }
    };
    parse_v1(&job_id, fields, limits).map_err(|error| Rejected { job_id, error })
}

/// The original `{printData}` shape; our hub adds a `jobId` so the job can be tracked
/// and deduplicated while original browser clients still read `printData`.
fn parse_original(mut fields: Map<String, Value>, limits: Limits) -> Result<PrintJob, Rejected> {
    let job_id = match fields.get("jobId") {
        None | Some(Value::Null) => local_id(),
        Some(Value::String(id)) if valid_job_id(id) => id.clone(),
        Some(_) => {
            return Err(reject(
                local_id(),
                ErrorCode::InvalidJobId,
                "jobId must be 1 to 128 printable characters",
            ))
        }
    };
    let text = match fields.remove("printData") {
        Some(Value::String(text)) => text,
        _ => {
            return Err(reject(
                job_id,
                ErrorCode::InvalidPayload,
                "printData must be a string",
            ))
        }
    };
    if text.is_empty() {
        return Err(reject(
            job_id,
            ErrorCode::EmptyContent,
            "printData is empty",
        ));
    }
    if text.len() as u64 > limits.max_job_bytes {
        return Err(reject(
            job_id,
            ErrorCode::ContentTooLarge,
            too_large(text.len() as u64, limits),
        ));
    }
    Ok(PrintJob {
        title: "PrintRelay text".into(),
        job_id,
        document: Document::Text(text),
        printer: None,
        copies: 1,
        options: PrintOptions::default(),
        expires_at: None,
        origin: Origin::Server,
    })
}

fn parse_v1(
    job_id: &str,
    mut fields: Map<String, Value>,
    limits: Limits,
) -> Result<PrintJob, JobError> {
    let expires_at = timestamp(&fields, "expiresAt")?;
    timestamp(&fields, "createdAt")?;
    if let Some(expiry) = expires_at {
        if expiry <= OffsetDateTime::now_utc() {
            return Err(JobError::new(
                ErrorCode::Expired,
                format!("the job expired at {expiry}"),
            ));
        }
    }
    let kind = match fields.get("contentType") {
        Some(Value::String(kind)) => kind.clone(),
        Some(_) => {
            return Err(JobError::new(
                ErrorCode::InvalidPayload,
                "contentType must be a string",
            ))
        }
        None => {
            return Err(JobError::new(
                ErrorCode::InvalidPayload,
                "contentType is missing",
            ))
        }
    };
    let content = match fields.remove("content") {
        Some(Value::String(content)) => content,
        _ => {
            return Err(JobError::new(
                ErrorCode::MissingContent,
                "content must be a string",
            ))
        }
    };
    let document = parse_content(&kind, content, limits)?;
    let copies = match fields.get("copies") {
        None | Some(Value::Null) => 1,
        Some(value) => match value.as_u64() {
            Some(n @ 1..=999) => n as u32,
            _ => {
                return Err(JobError::new(
                    ErrorCode::InvalidCopies,
                    "copies must be an integer from 1 to 999",
                ))
            }
        },
    };
    let printer = match fields.get("printer") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if !name.is_empty() && name.len() <= 256 => Some(name.clone()),
        Some(_) => {
            return Err(JobError::new(
                ErrorCode::InvalidPayload,
                "printer must be a non-empty string",
            ))
        }
    };
    let title = match fields.get("title") {
        None | Some(Value::Null) => job_id.to_owned(),
        Some(Value::String(title)) => title
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_TITLE_CHARS)
            .collect(),
        Some(_) => {
            return Err(JobError::new(
                ErrorCode::InvalidPayload,
                "title must be a string",
            ))
        }
    };
    let options = match fields.get("options") {
        None | Some(Value::Null) => PrintOptions::default(),
        Some(value @ Value::Object(_)) => parse_options(value)?,
        Some(_) => {
            return Err(JobError::new(
                ErrorCode::InvalidOptions,
                "options must be an object",
            ))
        }
    };
    Ok(PrintJob {
        job_id: job_id.to_owned(),
        title: if title.is_empty() {
            job_id.to_owned()
        } else {
            title
        },
        document,
        printer,
        copies,
        options,
        expires_at,
        origin: Origin::Server,
    })
}

fn parse_content(kind: &str, content: String, limits: Limits) -> Result<Document, JobError> {
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
        "pdf_uri" | "raw_uri" => {
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
            let kind = if kind == "pdf_uri" {
                RemoteKind::Pdf
            } else {
                RemoteKind::Raw
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
fn decode_base64(content: String, limits: Limits) -> Result<Vec<u8>, JobError> {
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

fn check_size(bytes: u64, limits: Limits) -> Result<(), JobError> {
    if bytes > limits.max_job_bytes {
        return Err(JobError::new(
            ErrorCode::ContentTooLarge,
            too_large(bytes, limits),
        ));
    }
    Ok(())
}

fn too_large(bytes: u64, limits: Limits) -> String {
    format!(
        "the document has {bytes} bytes; the limit is {}",
        limits.max_job_bytes
    )
}

fn parse_options(value: &Value) -> Result<PrintOptions, JobError> {
    let options: PrintOptions = serde_json::from_value(value.clone())
        .map_err(|e| JobError::new(ErrorCode::InvalidOptions, format!("options: {e}")))?;
    let plain = |text: &Option<String>| {
        text.as_ref().is_none_or(|t| {
            !t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_graphic())
        })
    };
    if !plain(&options.media) {
        return Err(JobError::new(
            ErrorCode::InvalidOptions,
            "options.media must be a short name like A4",
        ));
    }
    let ranges_ok = options.page_ranges.as_ref().is_none_or(|r| {
        !r.is_empty()
            && r.len() <= 64
            && r.chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == ',')
    });
    if !ranges_ok {
        return Err(JobError::new(
            ErrorCode::InvalidOptions,
            "options.pageRanges must look like 1-3,5",
        ));
    }
    Ok(options)
}

fn timestamp(fields: &Map<String, Value>, name: &str) -> Result<Option<OffsetDateTime>, JobError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(Some)
                .map_err(|e| JobError::new(ErrorCode::InvalidTimestamp, format!("{name}: {e}")))
        }
        Some(_) => Err(JobError::new(
            ErrorCode::InvalidTimestamp,
            format!("{name} must be an RFC 3339 string"),
        )),
    }
}

fn local_id() -> String {
    format!("local-{}", uuid::Uuid::new_v4())
}

fn reject(job_id: String, code: ErrorCode, message: impl Into<String>) -> Rejected {
    Rejected {
        job_id,
        error: JobError::new(code, message),
    }
}

fn valid_job_id(id: &str) -> bool {
    let count = id.chars().count();
    (1..=MAX_JOB_ID_CHARS).contains(&count) && id.chars().all(|c| !c.is_control())
}

#[cfg(test)]
mod tests;
