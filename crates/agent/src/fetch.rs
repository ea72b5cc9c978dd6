//! Fetches `pdf_uri`/`raw_uri` documents: http and https only, bounded in size and time.
//! Runs on the job worker task.

use std::time::Duration;

use futures_util::StreamExt;

use crate::protocol::{Document, ErrorCode, JobError, RemoteKind};

/// Bound on one fetch, connect to last byte.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Downloads a remote document into memory, refusing more than `max_bytes`.
pub async fn fetch(url: &url::Url, kind: RemoteKind, max_bytes: u64) -> Result<Document, JobError> {
    let failed = |detail: String| {
        JobError::new(
            ErrorCode::FetchFailed,
            format!("cannot fetch {url}: {detail}"),
        )
    };
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let response = client
        .get(url.clone())
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| failed(e.to_string()))?;
    if response.content_length().is_some_and(|len| len > max_bytes) {
        return Err(too_large(max_bytes));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| failed(e.to_string()))?;
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large(max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(JobError::new(
            ErrorCode::EmptyContent,
            format!("{url} returned no bytes"),
        ));
    }
    match kind {
        RemoteKind::Pdf if !body.starts_with(b"%PDF-") => Err(JobError::new(
            ErrorCode::InvalidContent,
            format!("{url} did not return a PDF"),
        )),
        RemoteKind::Pdf => Ok(Document::Pdf(body)),
        RemoteKind::Raw => Ok(Document::Raw(body)),
    }
}

fn too_large(max_bytes: u64) -> JobError {
    JobError::new(
        ErrorCode::ContentTooLarge,
        format!("the document is larger than the limit of {max_bytes} bytes"),
    )
}
