//! HTML rendered by a renderer process of the app's own, where Chromium is not driven
//! directly: on Windows the desktop app's `--render-html` process, which prints the page
//! with WebView2. The request goes as one JSON object on its stdin ([`RenderRequest`]),
//! the PDF comes back on its stdout; nothing else passes between them. The process is
//! killed at the time limit. Runs on the job worker's task.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::chromium::{print_params, Page, INLINE_ADDRESS};
use super::geometry::{mm_to_in, PageGeometry};
use super::RenderSettings;
use crate::protocol::{ErrorCode, Fit, JobError};

/// The renderer process this program uses, if any ([`use_renderer_process`]).
static RENDERER: OnceLock<RendererProcess> = OnceLock::new();

/// A program that renders one page per run.
#[derive(Debug, Clone)]
pub struct RendererProcess {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// Makes HTML jobs of this process render with `renderer` instead of Chromium; the first
/// call wins. The Windows desktop app calls it at start with itself and `--render-html`.
pub fn use_renderer_process(renderer: RendererProcess) {
    let _ = RENDERER.set(renderer);
}

/// The renderer process set for this program, if any.
pub fn configured() -> Option<&'static RendererProcess> {
    RENDERER.get()
}

/// What a renderer process is asked: the page, where it lives, and how to print it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderRequest {
    pub html: String,
    /// The page's address: its own URL (`html_uri`), else [`INLINE_ADDRESS`]. The
    /// renderer serves `html` under it and refuses every other request but `data:`.
    pub address: String,
    /// `Page.printToPDF`'s parameters (lengths in inches), as [`print_params`] makes them
    /// without a measured document.
    pub print: serde_json::Value,
    /// The job's `fit`: the renderer measures the laid-out page and scales it.
    pub fit: Option<Fit>,
    /// The printable width and height, in inches.
    pub printable_in: (f64, f64),
}

impl RenderRequest {
    /// The request for `page`, printed on `settings`' paper where it names none.
    pub fn new(page: &Page, settings: &RenderSettings) -> RenderRequest {
        let geometry = PageGeometry::from_options(&page.options, settings.paper);
        let (width, height) = geometry.printable_mm();
        RenderRequest {
            html: page.html.clone(),
            address: page
                .address
                .as_ref()
                .map_or_else(|| INLINE_ADDRESS.to_owned(), |a| a.to_string()),
            print: print_params(&page.options, &geometry, None),
            fit: page.options.fit,
            printable_in: (mm_to_in(width), mm_to_in(height)),
        }
    }
}

/// Renders `page` with `renderer`: the PDF, or the job's error.
pub async fn render(
    page: &Page,
    settings: &RenderSettings,
    renderer: &RendererProcess,
) -> Result<Vec<u8>, JobError> {
    let request = serde_json::to_vec(&RenderRequest::new(page, settings))
        .map_err(|e| failed(format!("cannot write the request: {e}")))?;
    let mut child = tokio::process::Command::new(&renderer.program)
        .args(&renderer.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            JobError::new(
                ErrorCode::RendererMissing,
                format!("cannot start the renderer: {e}"),
            )
        })?;
    let (Some(mut input), Some(output), Some(errors)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(failed("the renderer has no pipes".into()));
    };
    let max_bytes = settings.max_bytes;
    let exchange = async move {
        // A renderer that fails at once stops reading: its exit status and words tell why.
        let _ = input.write_all(&request).await;
        drop(input);
        let mut pdf = Vec::new();
        // One byte past the cap tells a PDF over it.
        output.take(max_bytes + 1).read_to_end(&mut pdf).await?;
        let mut words = String::new();
        errors.take(4096).read_to_string(&mut words).await?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((pdf, words, status))
    };
    match tokio::time::timeout(settings.timeout, exchange).await {
        Err(_) => Err(JobError::new(
            ErrorCode::RenderTimeout,
            format!(
                "the page did not finish rendering within {} s (renderTimeoutSecs)",
                settings.timeout.as_secs()
            ),
        )),
        Ok(Err(error)) => Err(failed(error.to_string())),
        Ok(Ok((pdf, _, _))) if pdf.len() as u64 > max_bytes => Err(failed(format!(
            "the PDF is larger than {max_bytes} bytes (maxJobBytes)"
        ))),
        Ok(Ok((pdf, _, status))) if status.success() && pdf.starts_with(b"%PDF-") => Ok(pdf),
        Ok(Ok((_, words, status))) => {
            tracing::warn!(%status, renderer = %words.trim(), "the renderer process failed");
            Err(failed(format!("{status}: {}", words.trim())))
        }
    }
}

fn failed(detail: String) -> JobError {
    JobError::new(
        ErrorCode::RenderFailed,
        format!("the HTML renderer failed: {detail}"),
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::protocol::{Margins, Mm, PageSize, PrintOptions};
    use crate::render::geometry::A4_MM;

    fn settings(timeout_ms: u64) -> RenderSettings {
        RenderSettings {
            timeout: std::time::Duration::from_millis(timeout_ms),
            browser: None,
            max_bytes: 1024,
            paper: A4_MM,
        }
    }

    /// A stand-in renderer: a shell script.
    fn script(body: &str) -> RendererProcess {
        RendererProcess {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), body.into()],
        }
    }

    fn page() -> Page {
        Page {
            html: "<p>票</p>".into(),
            address: None,
            options: PrintOptions {
                page_size: Some(PageSize::Custom {
                    width: Mm(100.0),
                    height: Mm(150.0),
                }),
                margins: Some(Margins::all(0.0)),
                fit: Some(Fit::Width),
                ..PrintOptions::default()
            },
        }
    }

    #[tokio::test]
    async fn the_request_goes_on_stdin_and_the_pdf_comes_back_on_stdout() {
        let dir = tempfile::tempdir().expect("dir");
        let seen = dir.path().join("request.json");
        let renderer = script(&format!(
            "cat > '{}'; printf '%%PDF-1.7 made'",
            seen.display()
        ));
        let pdf = render(&page(), &settings(10_000), &renderer).await;
        assert_eq!(pdf, Ok(b"%PDF-1.7 made".to_vec()));
        let request: RenderRequest =
            serde_json::from_slice(&std::fs::read(&seen).expect("request")).expect("json");
        assert_eq!(request.html, "<p>票</p>");
        assert_eq!(request.address, INLINE_ADDRESS);
        assert_eq!(request.fit, Some(Fit::Width));
        let (width, height) = request.printable_in;
        assert!((width - 100.0 / 25.4).abs() < 1e-9 && (height - 150.0 / 25.4).abs() < 1e-9);
        assert_eq!(request.print["preferCSSPageSize"], false);
    }

    #[tokio::test]
    async fn a_failure_says_why_and_a_hang_or_an_oversized_pdf_is_stopped() {
        let failed = render(
            &page(),
            &settings(10_000),
            &script("echo 'no WebView2' >&2; exit 1"),
        )
        .await;
        let error = failed.expect_err("exit 1");
        assert_eq!(error.code, ErrorCode::RenderFailed);
        assert!(error.message.contains("no WebView2"), "{}", error.message);
        let not_pdf = render(
            &page(),
            &settings(10_000),
            &script("cat > /dev/null; echo hello"),
        )
        .await;
        assert_eq!(not_pdf.map_err(|e| e.code), Err(ErrorCode::RenderFailed));
        let hang = render(&page(), &settings(300), &script("exec sleep 30")).await;
        assert_eq!(hang.map_err(|e| e.code), Err(ErrorCode::RenderTimeout));
        let big = render(
            &page(),
            &settings(10_000),
            &script("cat > /dev/null; head -c 5000 /dev/zero"),
        )
        .await;
        assert_eq!(big.map_err(|e| e.code), Err(ErrorCode::RenderFailed));
        let missing = RendererProcess {
            program: "/nonexistent/renderer".into(),
            args: Vec::new(),
        };
        let error = render(&page(), &settings(10_000), &missing)
            .await
            .expect_err("missing");
        assert_eq!(error.code, ErrorCode::RendererMissing);
    }
}
