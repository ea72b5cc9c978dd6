//! Wire types of docs/protocol.md: event names, the `print` payload and the statuses we send.
//!
//! Parsing is pure and total: any JSON value yields a job or a [`JobError`] with a stable code.

use serde::Serialize;
use serde_json::Value;

/// Version of docs/protocol.md this agent speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Event names, in one place.
pub mod events {
    pub const REGISTER: &str = "register";
    pub const CLIENT_INFO: &str = "client_info";
    pub const HEARTBEAT: &str = "heartbeat";
    pub const PRINT: &str = "print";
    pub const JOB_STATUS: &str = "job_status";
    pub const REFRESH_PRINTERS: &str = "refresh_printers";
}

/// Longest accepted job id, in characters.
const MAX_JOB_ID_CHARS: usize = 128;

/// A validated print job, whichever shape it arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    /// The sender's id, or `local-<uuid>` for the original shape.
    pub job_id: String,
    /// Human-readable title; also shown in the spooler.
    pub title: String,
    /// What to print.
    pub document: Document,
    /// Printer the server asked for, if any.
    pub printer: Option<String>,
    /// Number of copies, 1..=999.
    pub copies: u32,
}

/// The bytes to print and how the spooler should treat them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// UTF-8 text; the spooler's text filter lays it out.
    Text(String),
}

impl Document {
    /// The bytes handed to the spooler.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Document::Text(text) => text.as_bytes(),
        }
    }
}

/// Stable error codes of protocol section 4, as sent in `job_status.error.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidPayload,
    InvalidJobId,
    UnsupportedContentType,
    EmptyContent,
    InvalidCopies,
    PrinterNotFound,
    NoPrinter,
    PrintFailed,
}

/// A job that could not be accepted or printed, with a code a program can match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    pub code: ErrorCode,
    pub message: String,
}

impl JobError {
    /// An error with `code` and a message in words.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A `print` payload that failed validation; `job_id` is kept when it was readable,
/// so the failure can be reported against the sender's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub job_id: String,
    pub error: JobError,
}

/// Parses a `print` payload in the original `{printData}` shape or the v1 shape.
pub fn parse_print(payload: &Value) -> Result<PrintJob, Rejected> {
    let local_id = || format!("local-{}", uuid::Uuid::new_v4());
    let Value::Object(fields) = payload else {
        return Err(Rejected {
            job_id: local_id(),
            error: JobError::new(
                ErrorCode::InvalidPayload,
                "the print payload is not a JSON object",
            ),
        });
    };
    if let Some(data) = fields.get("printData") {
        let job_id = local_id();
        let Value::String(text) = data else {
            return Err(reject(
                job_id,
                ErrorCode::InvalidPayload,
                "printData must be a string",
            ));
        };
        if text.is_empty() {
            return Err(reject(
                job_id,
                ErrorCode::EmptyContent,
                "printData is empty",
            ));
        }
        return Ok(PrintJob {
            title: "PrintRelay text".into(),
            job_id,
            document: Document::Text(text.clone()),
            printer: None,
            copies: 1,
        });
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
    let document = match (fields.get("contentType"), fields.get("content")) {
        (Some(Value::String(kind)), Some(Value::String(text))) if kind == "text" => {
            if text.is_empty() {
                return Err(reject(job_id, ErrorCode::EmptyContent, "content is empty"));
            }
            Document::Text(text.clone())
        }
        (Some(Value::String(kind)), _) if kind == "text" => {
            return Err(reject(
                job_id,
                ErrorCode::InvalidPayload,
                "content must be a string",
            ))
        }
        (Some(Value::String(kind)), _) => {
            return Err(reject(
                job_id,
                ErrorCode::UnsupportedContentType,
                format!("contentType {kind:?} is not supported by this agent version"),
            ))
        }
        _ => {
            return Err(reject(
                job_id,
                ErrorCode::InvalidPayload,
                "contentType must be a string",
            ))
        }
    };
    let copies = match fields.get("copies") {
        None | Some(Value::Null) => 1,
        Some(value) => match value.as_u64() {
            Some(n @ 1..=999) => n as u32,
            _ => {
                return Err(reject(
                    job_id,
                    ErrorCode::InvalidCopies,
                    "copies must be an integer from 1 to 999",
                ))
            }
        },
    };
    let printer = match fields.get("printer") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if !name.is_empty() => Some(name.clone()),
        Some(_) => {
            return Err(reject(
                job_id,
                ErrorCode::InvalidPayload,
                "printer must be a non-empty string",
            ))
        }
    };
    let title = match fields.get("title") {
        Some(Value::String(title)) if !title.is_empty() => title.chars().take(200).collect(),
        _ => job_id.clone(),
    };
    Ok(PrintJob {
        job_id,
        title,
        document,
        printer,
        copies,
    })
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_the_original_shape_with_a_local_id() {
        let job = parse_print(&json!({"printData": "打印测试"})).expect("valid");
        assert!(job.job_id.starts_with("local-"));
        assert_eq!(job.document, Document::Text("打印测试".into()));
        assert_eq!(job.copies, 1);
    }

    #[test]
    fn accepts_a_v1_text_job() {
        let job = parse_print(&json!({
            "jobId": "inv-1", "contentType": "text", "content": "hello",
            "copies": 2, "printer": "Office", "title": "Invoice"
        }))
        .expect("valid");
        assert_eq!(job.job_id, "inv-1");
        assert_eq!(job.copies, 2);
        assert_eq!(job.printer.as_deref(), Some("Office"));
        assert_eq!(job.title, "Invoice");
    }

    #[test]
    fn every_bad_payload_gets_its_code() {
        let cases = [
            (json!("text"), ErrorCode::InvalidPayload),
            (json!({"printData": 5}), ErrorCode::InvalidPayload),
            (json!({"printData": ""}), ErrorCode::EmptyContent),
            (json!({}), ErrorCode::InvalidPayload),
            (
                json!({"jobId": "", "contentType": "text", "content": "x"}),
                ErrorCode::InvalidJobId,
            ),
            (
                json!({"jobId": "a".repeat(129), "contentType": "text", "content": "x"}),
                ErrorCode::InvalidJobId,
            ),
            (
                json!({"jobId": "a\nb", "contentType": "text", "content": "x"}),
                ErrorCode::InvalidJobId,
            ),
            (
                json!({"jobId": "a", "contentType": "zip", "content": "x"}),
                ErrorCode::UnsupportedContentType,
            ),
            (
                json!({"jobId": "a", "contentType": "text", "content": 1}),
                ErrorCode::InvalidPayload,
            ),
            (
                json!({"jobId": "a", "contentType": "text", "content": "x", "copies": 0}),
                ErrorCode::InvalidCopies,
            ),
            (
                json!({"jobId": "a", "contentType": "text", "content": "x", "copies": 100000}),
                ErrorCode::InvalidCopies,
            ),
            (
                json!({"jobId": "a", "contentType": "text", "content": "x", "copies": 1.5}),
                ErrorCode::InvalidCopies,
            ),
        ];
        for (payload, code) in cases {
            let rejected = parse_print(&payload).expect_err("must be rejected");
            assert_eq!(rejected.error.code, code, "payload {payload}");
        }
    }

    #[test]
    fn a_rejected_v1_job_keeps_the_senders_id() {
        let rejected =
            parse_print(&json!({"jobId": "abc", "contentType": "zip"})).expect_err("bad");
        assert_eq!(rejected.job_id, "abc");
    }
}
