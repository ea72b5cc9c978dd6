//! HTML rendered to PDF by Chromium (or Chrome, Edge) in a process of its own per job:
//! the page is served by the agent from memory, its resources fetched under the fetch
//! policy, its scripts run, fonts and images awaited, then `Page.printToPDF` with the
//! job's page. The browser is killed at the time limit and after every job, so the agent
//! stays small. Runs on the job worker's task. See docs/decisions/0007.

mod browser;
mod cdp;
mod network;
#[cfg(windows)]
mod win_pipes;

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::watch;
use url::Url;

pub use browser::find;
use browser::{Browser, LaunchError};
use cdp::CdpError;
use network::{Network, PageState, Served};

use super::geometry::{fit_scale, mm_to_in, PageGeometry, PX_PER_INCH, SCALE_RANGE};
use super::RenderSettings;
use crate::fetch::FetchPolicy;
use crate::protocol::{ErrorCode, Fit, JobError, PrintOptions};

/// Where a page sent as `html` content lives: a name that never resolves, served by the
/// agent from memory, so its relative URLs lead nowhere.
pub const INLINE_ADDRESS: &str = "https://document.printrelay.invalid/";

/// Waits for web fonts and for two frames after them: a template that draws its barcode
/// on `load` has drawn it by then.
const READY_SCRIPT: &str = "document.fonts.ready.then(() => new Promise(done => \
    requestAnimationFrame(() => requestAnimationFrame(() => done(true)))))";

/// Measures the laid-out document, for `fit`.
const MEASURE_SCRIPT: &str = "[document.documentElement.scrollWidth, \
    document.documentElement.scrollHeight]";

/// An HTML job to render.
#[derive(Debug, Clone)]
pub struct Page {
    pub html: String,
    /// Where it was fetched from (`html_uri`): its relative URLs resolve against it.
    pub address: Option<Url>,
    pub options: PrintOptions,
}

/// Renders `page` to PDF bytes.
pub async fn render(
    page: Page,
    settings: &RenderSettings,
    policy: &FetchPolicy,
) -> Result<Vec<u8>, JobError> {
    let Some(program) = find(settings.browser.as_deref()) else {
        return Err(JobError::new(
            ErrorCode::RendererMissing,
            if cfg!(windows) {
                "HTML printing needs Microsoft Edge or Google Chrome on this PC, or the setting htmlRenderer"
            } else {
                "HTML printing needs Chromium on this PC (package chromium-headless-shell or chromium), or the setting htmlRenderer"
            },
        ));
    };
    // The PDF comes back in base64 in one message.
    let max_message = usize::try_from(settings.max_bytes.div_ceil(3) * 4)
        .unwrap_or(usize::MAX)
        .saturating_add(1 << 20);
    let mut browser = Browser::launch(&program, max_message).map_err(|error| {
        let code = match &error {
            LaunchError::Spawn { error, .. } if error.kind() == std::io::ErrorKind::NotFound => {
                ErrorCode::RendererMissing
            }
            _ => ErrorCode::RenderFailed,
        };
        JobError::new(code, error.to_string())
    })?;
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(
        settings.timeout,
        print(&mut browser, page, settings, policy),
    )
    .await;
    match outcome {
        Ok(Ok(pdf)) => {
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                bytes = pdf.len(),
                "HTML rendered"
            );
            Ok(pdf)
        }
        Ok(Err(error)) => {
            let words = browser.last_words().await;
            tracing::warn!(%error, browser = %words.trim(), "HTML rendering failed");
            Err(JobError::new(
                ErrorCode::RenderFailed,
                format!("the HTML renderer failed: {error}"),
            ))
        }
        Err(_) => Err(JobError::new(
            ErrorCode::RenderTimeout,
            format!(
                "the page did not finish rendering within {} s (renderTimeoutSecs)",
                settings.timeout.as_secs()
            ),
        )),
    }
}

/// Why a render failed after the browser started.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Cdp(#[from] CdpError),
    #[error("the page could not be loaded: {0}")]
    Load(String),
    #[error("the page's renderer crashed")]
    Crashed,
    #[error("the browser answered without {0}")]
    Answer(&'static str),
    #[error("the PDF has {0} bytes, more than maxJobBytes")]
    TooLarge(usize),
}

async fn print(
    browser: &mut Browser,
    page: Page,
    settings: &RenderSettings,
    policy: &FetchPolicy,
) -> Result<Vec<u8>, Failure> {
    let cdp = browser.cdp.clone();
    let target = cdp
        .call(None, "Target.createTarget", json!({"url": "about:blank"}))
        .await?;
    let target = text(&target, "targetId")?;
    let attached = cdp
        .call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        )
        .await?;
    let session = text(&attached, "sessionId")?;
    let mut address = match &page.address {
        Some(address) => address.clone(),
        None => Url::parse(INLINE_ADDRESS).map_err(|_| Failure::Answer("an address"))?,
    };
    address.set_fragment(None);
    let (state_tx, mut state) = watch::channel(PageState::Loading);
    let events = std::mem::replace(&mut browser.events, tokio::sync::mpsc::channel(1).1);
    let network = Network {
        cdp: cdp.clone(),
        session: session.clone(),
        served: Served {
            address: address.clone(),
            html: Arc::new(page.html),
        },
        policy: policy.clone(),
        max_bytes: settings.max_bytes,
    };
    let serving = AbortOnDrop(tokio::spawn(network.serve(events, state_tx)));
    let on_page = Some(session.as_str());
    let intercept_all = json!({"patterns": [{"urlPattern": "*"}]});
    cdp.call(on_page, "Fetch.enable", intercept_all).await?;
    cdp.call(on_page, "Page.enable", json!({})).await?;
    let geometry = PageGeometry::from_options(&page.options, settings.paper);
    if page.options.fit.is_some_and(|fit| fit != Fit::None) {
        // Lay the page out as on paper, so its measured size is its printed size.
        let (width, height) = geometry.printable_mm();
        let metrics = json!({"width": px(width), "height": px(height), "deviceScaleFactor": 1, "mobile": false});
        cdp.call(on_page, "Emulation.setDeviceMetricsOverride", metrics)
            .await?;
        cdp.call(
            on_page,
            "Emulation.setEmulatedMedia",
            json!({"media": "print"}),
        )
        .await?;
    }
    let navigated = cdp
        .call(on_page, "Page.navigate", json!({"url": address.as_str()}))
        .await?;
    if let Some(error) = navigated.get("errorText").and_then(Value::as_str) {
        return Err(Failure::Load(error.to_owned()));
    }
    let loaded = state
        .wait_for(|state| *state != PageState::Loading)
        .await
        .map(|state| *state)
        .ok();
    if loaded != Some(PageState::Loaded) {
        return Err(Failure::Crashed);
    }
    let ready = json!({"expression": READY_SCRIPT, "awaitPromise": true, "returnByValue": true});
    cdp.call(on_page, "Runtime.evaluate", ready).await?;
    let measured = match page.options.fit {
        Some(Fit::Width | Fit::Page) => {
            let measure = json!({"expression": MEASURE_SCRIPT, "returnByValue": true});
            let answer = cdp.call(on_page, "Runtime.evaluate", measure).await?;
            let size = &answer["result"]["value"];
            size[0].as_f64().zip(size[1].as_f64())
        }
        _ => None,
    };
    let params = print_params(&page.options, &geometry, measured);
    let printed = cdp.call(on_page, "Page.printToPDF", params).await?;
    drop(serving);
    let data = printed
        .get("data")
        .and_then(Value::as_str)
        .ok_or(Failure::Answer("data"))?;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| Failure::Answer("a PDF in base64"))?;
    if pdf.len() as u64 > settings.max_bytes {
        return Err(Failure::TooLarge(pdf.len()));
    }
    Ok(pdf)
}

/// `Page.printToPDF`'s parameters for a job (lengths in inches). Without `pageSize` the
/// page's CSS `@page` size wins over the printer's paper; without `margins` its CSS
/// margins, else none. `measured` is the laid-out document in CSS pixels, for `fit`.
pub fn print_params(
    options: &PrintOptions,
    geometry: &PageGeometry,
    measured: Option<(f64, f64)>,
) -> Value {
    let margins = &geometry.margins;
    json!({
        "paperWidth": mm_to_in(geometry.width_mm),
        "paperHeight": mm_to_in(geometry.height_mm),
        "marginTop": mm_to_in(margins.top.0),
        "marginRight": mm_to_in(margins.right.0),
        "marginBottom": mm_to_in(margins.bottom.0),
        "marginLeft": mm_to_in(margins.left.0),
        "preferCSSPageSize": options.page_size.is_none(),
        "printBackground": options.print_background.unwrap_or(true),
        "scale": scale(options, geometry, measured),
        "landscape": false,
        "generateTaggedPDF": false,
        "transferMode": "ReturnAsBase64",
    })
}

/// The zoom: the job's `scale`, or what `fit` asks of the measured document, within
/// what Chromium takes (0.1 to 2).
fn scale(options: &PrintOptions, geometry: &PageGeometry, measured: Option<(f64, f64)>) -> f64 {
    let (width, height) = geometry.printable_mm();
    match (options.scale, options.fit, measured) {
        (Some(scale), _, _) => scale.0.clamp(*SCALE_RANGE.start(), *SCALE_RANGE.end()),
        (None, Some(fit), Some(measured)) => {
            fit_scale(fit, (mm_to_in(width), mm_to_in(height)), measured)
        }
        _ => 1.0,
    }
}

/// Millimetres as CSS pixels.
fn px(mm: f64) -> f64 {
    mm_to_in(mm) * PX_PER_INCH
}

fn text(answer: &Value, field: &'static str) -> Result<String, Failure> {
    answer
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(Failure::Answer(field))
}

/// Ends the page's network task with the render, however the render ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests;
