//! The two shapes of a `print` payload read into a job: the original `{printData}` and
//! v1 (section 4), with its options and timestamps.

use super::*;

/// The original `{printData}` shape; our hub adds a `jobId` so the job can be tracked
/// and deduplicated while original browser clients still read `printData`.
pub(super) fn parse_original(
    mut fields: Map<String, Value>,
    limits: Limits,
) -> Result<PrintJob, Rejected> {
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

pub(super) fn parse_v1(
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

/// A job's `options` object read and checked (protocol section 4); unknown members are
/// ignored. The hub checks submissions with it too.
pub fn parse_options(value: &Value) -> Result<PrintOptions, JobError> {
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
    check_page_options(&options)?;
    Ok(options)
}

/// The page options' ranges, each alone (as a JSON schema can say them: the hub's
/// OpenAPI document does). Whether the margins leave room on the page is the agent's to
/// judge when it renders (the page may come from the printer).
fn check_page_options(options: &PrintOptions) -> Result<(), JobError> {
    let invalid = |message: String| Err(JobError::new(ErrorCode::InvalidOptions, message));
    if options.scale.is_some() && options.fit.is_some() {
        return invalid("options.scale and options.fit exclude each other".into());
    }
    if let Some(scale) = options.scale {
        if !page::SCALE.contains(&scale.0) {
            return invalid(format!(
                "options.scale must be {} to {}",
                page::SCALE.start(),
                page::SCALE.end()
            ));
        }
    }
    if let Some(dpi) = options.dpi {
        if !page::DPI.contains(&dpi.0) {
            return invalid(format!(
                "options.dpi must be {} to {}",
                page::DPI.start(),
                page::DPI.end()
            ));
        }
    }
    Ok(())
}

pub(super) fn timestamp(
    fields: &Map<String, Value>,
    name: &str,
) -> Result<Option<OffsetDateTime>, JobError> {
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
