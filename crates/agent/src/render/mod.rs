//! HTML and image jobs turned into PDF before a printer backend sees them: images placed
//! by the agent itself ([`image`]), HTML rendered by a browser engine in a process of its
//! own ([`chromium`]), both on the page [`geometry`] gives. Everything after this is the
//! PDF path every job takes (copies, duplex, page ranges, exactly-once, status). Runs on
//! the job worker's task; the blocking parts in `spawn_blocking`.

pub mod chromium;
pub mod geometry;
pub mod image;
pub mod process;

use std::path::PathBuf;
use std::time::Duration;

use crate::fetch::FetchPolicy;
use crate::protocol::page::MIN_PRINTABLE_MM;
use crate::protocol::{Document, ErrorCode, JobError, PrintOptions, RemoteKind, MAX_HTML_BYTES};

/// Default bound on rendering one HTML job, browser start to PDF.
pub const DEFAULT_RENDER_TIMEOUT: Duration = Duration::from_secs(30);

/// What rendering needs besides the job.
#[derive(Debug, Clone)]
pub struct RenderSettings {
    /// Rendering one HTML page may take this long; then the browser is killed and the
    /// job fails `render_timeout`.
    pub timeout: Duration,
    /// The browser to render with; `None` looks for Chromium ([`chromium::find`]).
    pub browser: Option<PathBuf>,
    /// Largest document, fetched or rendered (setting `maxJobBytes`).
    pub max_bytes: u64,
    /// The printer's default paper in millimetres (portrait), for jobs without a
    /// `pageSize` (HTML: when its CSS has no `@page` size either).
    pub paper: (f64, f64),
}

/// The job's document ready for a backend: fetched if it is a URL, and HTML and images
/// rendered to PDF. Text, raw and PDF documents pass through.
pub async fn prepare(
    document: Document,
    options: &PrintOptions,
    settings: &RenderSettings,
    policy: &FetchPolicy,
) -> Result<Document, JobError> {
    let (document, address) = match document {
        Document::Remote { url, kind } => {
            let cap = match kind {
                RemoteKind::Html => settings.max_bytes.min(MAX_HTML_BYTES),
                _ => settings.max_bytes,
            };
            (
                crate::fetch::fetch(&url, kind, cap, policy).await?,
                Some(url),
            )
        }
        document => (document, None),
    };
    // An image without a page size gets a page of its own size plus the margins.
    let paged = options.page_size.is_some() || matches!(document, Document::Html(_));
    if paged && matches!(document, Document::Html(_) | Document::Image(_)) {
        check_room(options, settings.paper)?;
    }
    match document {
        Document::Html(html) => {
            let page = chromium::Page {
                html,
                address,
                options: options.clone(),
            };
            match process::configured() {
                Some(renderer) => process::render(&page, settings, renderer).await,
                None => chromium::render(page, settings, policy).await,
            }
            .map(Document::Pdf)
        }
        Document::Image(bytes) => {
            let (options, paper) = (options.clone(), settings.paper);
            tokio::task::spawn_blocking(move || image::image_to_pdf(&bytes, &options, paper))
                .await
                .map_err(|e| JobError::new(ErrorCode::RenderFailed, format!("image task: {e}")))?
                .map(Document::Pdf)
                .map_err(|error| {
                    let code = match error {
                        image::ImageError::Pdf(_) => ErrorCode::RenderFailed,
                        _ => ErrorCode::InvalidImage,
                    };
                    JobError::new(code, error.to_string())
                })
        }
        document => Ok(document),
    }
}

/// A page whose margins leave (almost) nothing to print on fails `invalid_options`: a
/// rule across two options, and the page may be the printer's, so it is judged here.
fn check_room(options: &PrintOptions, paper: (f64, f64)) -> Result<(), JobError> {
    let (across, down) = geometry::PageGeometry::from_options(options, paper).printable_mm();
    if options.margins.is_some() && across.min(down) < MIN_PRINTABLE_MM {
        return Err(JobError::new(
            ErrorCode::InvalidOptions,
            format!(
                "options.margins leave less than {MIN_PRINTABLE_MM} mm of the page to print on"
            ),
        ));
    }
    Ok(())
}
