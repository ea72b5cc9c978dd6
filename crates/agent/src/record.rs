//! A job as the agent keeps it: the record the store holds, the UI shows and
//! `job_status` is made from. Plain data, below the tasks that change it.

use serde::{Deserialize, Serialize};

use crate::protocol::{Document, EpochMillis, JobError, JobState, JobStatus, RemoteKind};

/// One job as the UI and `job_status` see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    pub job_id: String,
    pub title: String,
    pub printer: Option<String>,
    pub state: JobState,
    pub size_bytes: u64,
    pub copies: u32,
    pub received_at: EpochMillis,
    pub updated_at: EpochMillis,
    pub spooler_job_id: Option<u64>,
    pub error: Option<JobError>,
    /// For a reprint: the job it reprints.
    pub reprint_of: Option<String>,
    /// What the document is; `None` for a job rejected before it had one.
    pub kind: Option<DocumentKind>,
}

/// What a job's document is, as the history shows it (and the store names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Text,
    Raw,
    Pdf,
    Html,
    Image,
    PdfUri,
    RawUri,
    HtmlUri,
    ImageUri,
}

impl DocumentKind {
    /// Every kind (what the window must be able to name).
    pub const ALL: [DocumentKind; 9] = [
        DocumentKind::Text,
        DocumentKind::Raw,
        DocumentKind::Pdf,
        DocumentKind::Html,
        DocumentKind::Image,
        DocumentKind::PdfUri,
        DocumentKind::RawUri,
        DocumentKind::HtmlUri,
        DocumentKind::ImageUri,
    ];

    /// The kind of `document`.
    pub fn of(document: &Document) -> DocumentKind {
        match document {
            Document::Text(_) => DocumentKind::Text,
            Document::Raw(_) => DocumentKind::Raw,
            Document::Pdf(_) => DocumentKind::Pdf,
            Document::Html(_) => DocumentKind::Html,
            Document::Image(_) => DocumentKind::Image,
            Document::Remote { kind, .. } => match kind {
                RemoteKind::Pdf => DocumentKind::PdfUri,
                RemoteKind::Raw => DocumentKind::RawUri,
                RemoteKind::Html => DocumentKind::HtmlUri,
                RemoteKind::Image => DocumentKind::ImageUri,
            },
        }
    }

    /// The name, as stored and sent to the window (`"pdf_uri"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Text => "text",
            DocumentKind::Raw => "raw",
            DocumentKind::Pdf => "pdf",
            DocumentKind::Html => "html",
            DocumentKind::Image => "image",
            DocumentKind::PdfUri => "pdf_uri",
            DocumentKind::RawUri => "raw_uri",
            DocumentKind::HtmlUri => "html_uri",
            DocumentKind::ImageUri => "image_uri",
        }
    }

    /// The kind named `name`, if it is one.
    pub fn parse(name: &str) -> Option<DocumentKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// The `job_status` an agent sends for a record (protocol section 5).
pub fn job_status(record: &JobRecord, duplicate: bool) -> JobStatus {
    JobStatus {
        job_id: record.job_id.clone(),
        state: record.state,
        at: record.updated_at,
        printer: record.printer.clone(),
        spooler_job_id: record.spooler_job_id,
        error: record.error.clone(),
        duplicate,
    }
}
