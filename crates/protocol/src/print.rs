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
use content::{parse_content, too_large};
use shapes::{parse_original, parse_v1};

pub use binary::parse_binary_print;
pub use content::{check_html_size, image_format, ImageFormat};
pub use page::{Finite, Fit, Margins, Mm, PageSize, PaperName};
pub use shapes::parse_options;

/// Default cap on a job's decoded size.
pub const DEFAULT_MAX_JOB_BYTES: u64 = 64 * 1024 * 1024;

/// Cap on an HTML document (`html` content, or what `html_uri` fetches): a renderer given
/// a larger page spends minutes and gigabytes on it; templates are far smaller.
pub const MAX_HTML_BYTES: u64 = 16 * 1024 * 1024;

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
    /// An HTML document, rendered to PDF by the agent (protocol section 4).
    Html(String),
    /// A PNG, JPEG, GIF or WebP image, placed on a PDF page by the agent.
    Image(Vec<u8>),
    /// A document the agent fetches (http/https) before printing.
    Remote { url: url::Url, kind: RemoteKind },
}

/// What a fetched document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteKind {
    Pdf,
    Raw,
    Html,
    Image,
}

impl Document {
    /// The bytes handed to the spooler (empty for a not yet fetched remote document).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Document::Text(text) | Document::Html(text) => text.as_bytes(),
            Document::Raw(bytes) | Document::Pdf(bytes) | Document::Image(bytes) => bytes,
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
    /// HTML and images: the page the agent renders on (HTML without it follows its CSS
    /// `@page` size, then the printer's default paper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<PageSize>,
    /// HTML and images: margins in millimetres (HTML without them: its CSS, else none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margins: Option<Margins>,
    /// HTML and images: how content meets the page (exclusive with `scale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
    /// HTML and images: a zoom factor, 0.1 to 2 (exclusive with `fit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Finite>,
    /// Images: pixels per inch, which gives the image its size on paper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpi: Option<Finite>,
    /// HTML: print background colours and images (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print_background: Option<bool>,
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

mod binary;
mod content;
pub mod page;
mod shapes;
#[cfg(test)]
mod tests;
