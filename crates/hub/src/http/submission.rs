//! The body of `POST /api/v1/jobs`: the v1 print shape plus `clientId`, checked member
//! by member as the agent checks a `print` (docs/protocol.md section 4 and "Agent rules
//! in detail"), so a job the agent would reject is answered 422 with the member's name
//! instead of being queued. What the agent gets is the body minus `clientId`.
//!
//! Read without a generic JSON tree: `content` (the large part) goes into one string;
//! every other member stays the raw JSON text it was in the body until it is checked.
//! A body that is not an object (`[0,0,...]`) is refused at its first byte, and no huge
//! value elsewhere is ever built into a tree: the members besides `content` may hold
//! `read::MAX_OTHER_BYTES` of JSON in all.

mod read;
mod rules;

use serde_json::{Map, Value};

use super::error::ApiError;
use read::{Content, RawBody, MAX_OTHER_BYTES};
use rules::{check_content, usual_rfc3339, valid_id, ContentType};

/// A job ready to queue.
#[derive(Debug)]
pub struct Submission {
    pub client_id: String,
    pub job_id: String,
    /// `expiresAt` in ms since the Unix epoch (0 for an instant before 1970).
    pub expires_at: Option<u64>,
    /// What the agent gets: the body without `clientId`.
    pub payload: Value,
}

/// Reads and checks a body; a syntax error is 400, anything else wrong is 422.
pub fn parse(body: &[u8]) -> Result<Submission, ApiError> {
    let raw: RawBody<'_> =
        serde_json::from_slice(body).map_err(|error| match error.classify() {
            serde_json::error::Category::Data => ApiError::invalid(
                "invalid_payload",
                "",
                format!("the body must be a JSON object: {error}"),
            ),
            _ => ApiError::InvalidJson(format!("the body is not JSON: {error}")),
        })?;
    raw.check()
}

impl RawBody<'_> {
    /// Every rule, member by member; then the payload the agent gets.
    fn check(mut self) -> Result<Submission, ApiError> {
        if let Some(name) = &self.oversized {
            return Err(ApiError::invalid(
                "invalid_payload",
                name,
                format!(
                    "the members besides content may hold {MAX_OTHER_BYTES} bytes of JSON in all"
                ),
            ));
        }
        let client_id = self
            .member::<String>("clientId")
            .and_then(Result::ok)
            .filter(|id| valid_id(id))
            .ok_or_else(|| {
                ApiError::invalid(
                    "invalid_client_id",
                    "clientId",
                    "clientId must be 1 to 128 characters without control characters",
                )
            })?;
        let job_id = self
            .member::<String>("jobId")
            .and_then(Result::ok)
            .filter(|id| valid_id(id))
            .ok_or_else(|| {
                ApiError::invalid(
                    "invalid_job_id",
                    "jobId",
                    "jobId must be 1 to 128 characters without control characters",
                )
            })?;
        let kind = self
            .member::<ContentType>("contentType")
            .and_then(Result::ok)
            .ok_or_else(|| {
                ApiError::invalid(
                    "unsupported_content_type",
                    "contentType",
                    "contentType must be one of text, raw_base64, pdf_base64, pdf_uri, raw_uri, html, html_uri, image_base64, image_uri",
                )
            })?;
        let Some(Content::Text(content)) = self.content.take() else {
            return Err(ApiError::invalid(
                "missing_content",
                "content",
                "content must be a string",
            ));
        };
        check_content(kind, &content)?;
        let copies = self.check_layout()?;
        let expires_at = timestamp(&self, "expiresAt")?;
        timestamp(&self, "createdAt")?;

        let mut payload = Map::new();
        for (name, raw) in self.members {
            if name == "clientId" {
                continue;
            }
            // Already read once as JSON: it reads again.
            let value = serde_json::from_str(raw.get())
                .map_err(|e| ApiError::InvalidJson(e.to_string()))?;
            payload.insert(name, value);
        }
        payload.insert("content".into(), Value::String(content));
        if let Some(copies) = copies {
            payload.insert("copies".into(), copies.into());
        }
        Ok(Submission {
            client_id,
            job_id,
            expires_at: expires_at
                .map(|at| u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)),
            payload: Value::Object(payload),
        })
    }

    /// `copies` (the count, when given), `printer`, `title` and `options`, as the agent
    /// reads them.
    fn check_layout(&self) -> Result<Option<u64>, ApiError> {
        // JSON Schema counts 3.0 as an integer, the agent only 3: such a count is taken and
        // passed on as 3.
        let copies = match self.optional::<serde_json::Number>("copies") {
            Ok(None) => None,
            Ok(Some(number)) => Some(
                super::integral(&number.to_string())
                    .filter(|n| (1..=999).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "invalid_copies",
                            "copies",
                            "copies must be an integer from 1 to 999",
                        )
                    })?,
            ),
            Err(_) => {
                return Err(ApiError::invalid(
                    "invalid_copies",
                    "copies",
                    "copies must be an integer from 1 to 999",
                ))
            }
        };
        let printer_ok = match self.optional::<String>("printer") {
            Ok(None) => true,
            Ok(Some(name)) => (1..=256).contains(&name.chars().count()),
            Err(_) => false,
        };
        if !printer_ok {
            return Err(ApiError::invalid(
                "invalid_payload",
                "printer",
                "printer must be a printer's name, 1 to 256 characters",
            ));
        }
        if self.optional::<String>("title").is_err() {
            return Err(ApiError::invalid(
                "invalid_payload",
                "title",
                "title must be a string",
            ));
        }
        let options = match self.optional::<Value>("options") {
            Ok(None) => Ok(()),
            // Read from a tree, as the agent does (a repeated key counts once).
            Ok(Some(options @ Value::Object(_))) => printrelay_protocol::parse_options(&options)
                .map(drop)
                .map_err(|e| e.message),
            Ok(Some(_)) | Err(_) => Err("options must be an object".to_owned()),
        };
        options.map_err(|message| ApiError::invalid("invalid_options", "options", message))?;
        Ok(copies)
    }
}

/// `expiresAt` / `createdAt`: absent, null or RFC 3339 in its usual form (see
/// [`usual_rfc3339`]).
fn timestamp(body: &RawBody<'_>, name: &str) -> Result<Option<time::OffsetDateTime>, ApiError> {
    let invalid = |detail: String| {
        ApiError::invalid(
            "invalid_timestamp",
            name,
            format!("{name} must be RFC 3339 like 2026-12-01T08:00:00Z or 2026-12-01T16:00:00+08:00: {detail}"),
        )
    };
    let Some(text) = body
        .optional::<String>(name)
        .map_err(|_| invalid("not a string".into()))?
    else {
        return Ok(None);
    };
    if !usual_rfc3339(&text) {
        // Enough of it to recognise, not all of a long one.
        let shown: String = text.chars().take(40).collect();
        return Err(invalid(format!("{shown:?}")));
    }
    time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
        .map(Some)
        .map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests;
