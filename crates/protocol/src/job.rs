//! A job's life as agent and hub speak of it (protocol sections 4 and 5): its states in
//! their order, the error codes, and the `job_status` an agent sends.

use serde::{Deserialize, Serialize};

use crate::time::EpochMillis;

/// Where a job is in its life, as its agent reports it (protocol section 5). The order
/// of the variants is the order of a job's life: a job never moves back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobState {
    Received,
    Spooled,
    Completed,
    Failed,
    Rejected,
    Expired,
    Cancelled,
}

impl JobState {
    /// Every state, in order.
    pub const ALL: [JobState; 7] = [
        JobState::Received,
        JobState::Spooled,
        JobState::Completed,
        JobState::Failed,
        JobState::Rejected,
        JobState::Expired,
        JobState::Cancelled,
    ];

    /// After this state the job never changes.
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Received | JobState::Spooled)
    }

    /// How far along a job in this state is: the final states share the last rank (a
    /// job that ended stays as it ended).
    pub fn rank(self) -> u8 {
        match self {
            JobState::Received => 0,
            JobState::Spooled => 1,
            _ => 2,
        }
    }

    /// The state as it is spelled on the wire (`"received"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Received => "received",
            JobState::Spooled => "spooled",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Rejected => "rejected",
            JobState::Expired => "expired",
            JobState::Cancelled => "cancelled",
        }
    }

    /// The state spelled `text` on the wire, if it is one.
    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `job_status` event an agent sends for each change of a job (protocol section 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    pub job_id: String,
    pub state: JobState,
    /// When the job came to this state.
    pub at: EpochMillis,
    /// The printer it went to, once chosen.
    pub printer: Option<String>,
    /// The spooler's id of the job, once spooled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spooler_job_id: Option<u64>,
    /// Why it failed or was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
    /// An answer to a job delivered again: the agent had it already.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// Stable error codes (protocol section 4), as sent in `job_status.error.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not an object, wrong field types, neither shape.
    InvalidPayload,
    InvalidJobId,
    UnsupportedContentType,
    /// `content` missing or not a string.
    MissingContent,
    /// Content that does not decode (bad base64, bad URL).
    InvalidContent,
    EmptyContent,
    ContentTooLarge,
    InvalidCopies,
    InvalidOptions,
    /// `createdAt`/`expiresAt` not RFC 3339.
    InvalidTimestamp,
    Expired,
    PrinterNotFound,
    PrinterNotAllowed,
    NoPrinter,
    /// A `*_uri` document could not be fetched (no connection, an HTTP error status).
    FetchFailed,
    /// A `*_uri` document (or a redirect) names a host the agent does not fetch from
    /// (setting `fetchAllowedHosts`), or one that resolves to an address it refuses.
    FetchRefused,
    PrintFailed,
    Cancelled,
    /// The spooler took the job, then stopped knowing it (its history was cleared, or it
    /// was reinstalled): whether it printed cannot be told.
    SpoolerLost,
    /// The server sent the job with binary attachments (a Buffer), which protocol 1 does
    /// not carry yet.
    UnsupportedBinary,
    /// `image_base64`/`image_uri` content that is not a PNG, JPEG, GIF or WebP image the
    /// agent can read, or one of more pixels than it places.
    InvalidImage,
    /// An HTML page did not finish rendering within the agent's `renderTimeoutSecs`
    /// (a script that never ends, a resource that never arrives).
    RenderTimeout,
    /// The HTML renderer failed (it crashed, or its PDF was over the size cap).
    RenderFailed,
    /// No HTML renderer on this PC (the headless agent needs Chromium).
    RendererMissing,
}

impl ErrorCode {
    /// Every code, in declaration order (what a reader must be able to put into words).
    pub const ALL: [ErrorCode; 24] = {
        use ErrorCode::*;
        [
            InvalidPayload,
            InvalidJobId,
            UnsupportedContentType,
            MissingContent,
            InvalidContent,
            EmptyContent,
            ContentTooLarge,
            InvalidCopies,
            InvalidOptions,
            InvalidTimestamp,
            Expired,
            PrinterNotFound,
            PrinterNotAllowed,
            NoPrinter,
            FetchFailed,
            FetchRefused,
            PrintFailed,
            Cancelled,
            SpoolerLost,
            UnsupportedBinary,
            InvalidImage,
            RenderTimeout,
            RenderFailed,
            RendererMissing,
        ]
    };
}

/// A job that could not be accepted or printed, with a code a program can match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
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

/// The agent's answer to a `print` the server sent with an ack callback, given once the
/// job is stored (protocol section 4): the server learns at once what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintAck {
    /// The job's id (made by the agent for an original-shape job without one).
    pub job_id: String,
    pub state: PrintAckState,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
}

/// What became of an acked `print`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PrintAckState {
    /// Stored; it prints in its turn, and `job_status` follows it.
    Received,
    /// The agent had a job with this id already: not printed again.
    Duplicate,
    /// Not printable as sent: `error` says why.
    Rejected,
}

impl PrintAck {
    /// The answer for a job stored to print.
    pub fn received(job_id: impl Into<String>) -> Self {
        Self {
            job_id: job_id.into(),
            state: PrintAckState::Received,
            error: None,
        }
    }

    /// The answer for a job id the agent had already.
    pub fn duplicate(job_id: impl Into<String>) -> Self {
        Self {
            job_id: job_id.into(),
            state: PrintAckState::Duplicate,
            error: None,
        }
    }

    /// The answer for a payload that failed validation.
    pub fn rejected(job_id: impl Into<String>, error: JobError) -> Self {
        Self {
            job_id: job_id.into(),
            state: PrintAckState::Rejected,
            error: Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new code fails to compile here until it is in [`ErrorCode::ALL`] too.
    #[test]
    fn all_lists_every_error_code_once() {
        use ErrorCode::*;
        for code in ErrorCode::ALL {
            match code {
                InvalidPayload
                | InvalidJobId
                | UnsupportedContentType
                | MissingContent
                | InvalidContent
                | EmptyContent
                | ContentTooLarge
                | InvalidCopies
                | InvalidOptions
                | InvalidTimestamp
                | Expired
                | PrinterNotFound
                | PrinterNotAllowed
                | NoPrinter
                | FetchFailed
                | FetchRefused
                | PrintFailed
                | Cancelled
                | SpoolerLost
                | UnsupportedBinary
                | InvalidImage
                | RenderTimeout
                | RenderFailed
                | RendererMissing => {}
            }
        }
        let distinct: std::collections::HashSet<ErrorCode> = ErrorCode::ALL.into_iter().collect();
        assert_eq!(distinct.len(), ErrorCode::ALL.len());
    }
}
