//! The `--render-html` process: on Windows the agent hands an HTML job to a hidden,
//! short-lived process of this app, which prints it to PDF with WebView2 (`app`, `page`)
//! and ends. The request comes as one JSON object on stdin
//! ([`RenderRequest`](printrelay_agent::render::process::RenderRequest)); the PDF goes
//! to stdout, or a one-line reason to stderr with exit code 1. What is decided here
//! (the request read, the print settings, the CSS page size, the fit scale) is plain
//! code, unit-tested on every OS; it runs on the renderer process' main thread.
//! See docs/decisions/0007.

// Only Windows renders here (elsewhere the agent drives Chromium itself); the plain
// part is compiled and tested everywhere.
#![cfg_attr(not(windows), allow(dead_code))]

#[cfg(windows)]
mod app;
mod css_size;
#[cfg(windows)]
mod page;
#[cfg(test)]
mod tests;

use printrelay_agent::protocol::Fit;
use printrelay_agent::render::geometry::{self, PX_PER_INCH, SCALE_RANGE};
use printrelay_agent::render::process::RenderRequest;
use serde::Deserialize;
use tauri::Url;

#[cfg(windows)]
pub use app::run;
pub use css_size::{css_orientation_only, css_page_size};

/// Command-line flag of the renderer process (`printrelay-desktop.exe --render-html`).
pub const RENDER_HTML_FLAG: &str = "--render-html";

/// The largest request read from stdin: the page and its settings.
pub const MAX_REQUEST_BYTES: u64 = 32 * 1024 * 1024;

/// What the page's title becomes once it is ready to print, before its measurements.
pub const READY_TITLE_PREFIX: &str = "printrelay:ready:";

/// Run in the page once it has loaded: waits for web fonts and two frames (as the
/// agent's Chromium path does; a template that draws its barcode on `load` has drawn it
/// by then), then reports the laid-out size and the CSS `@page` size through the
/// document title, the one channel that needs no IPC into the page. A hidden web view
/// may draw no frames, so a timer stands in for them after a second. Style sheets of
/// another origin cannot be read and are passed over.
pub const READY_SCRIPT: &str = r#"(() => {
  const forPrint = (media) => !media || !media.mediaText || /\b(print|all)\b/i.test(media.mediaText);
  const sizeIn = (rules) => {
    let size = '';
    for (const rule of Array.from(rules || [])) {
      let found = '';
      if (rule.type === 6) {
        found = rule.style.getPropertyValue('size').trim();
      } else if (rule.styleSheet) {
        try { if (forPrint(rule.styleSheet.media)) found = sizeIn(rule.styleSheet.cssRules); } catch (_) {}
      } else if (rule.cssRules && forPrint(rule.media)) {
        found = sizeIn(rule.cssRules);
      }
      if (found) size = found;
    }
    return size;
  };
  const pageSize = () => {
    let size = '';
    for (const sheet of Array.from(document.styleSheets)) {
      let found = '';
      try { if (!sheet.disabled && forPrint(sheet.media)) found = sizeIn(sheet.cssRules); } catch (_) {}
      if (found) size = found;
    }
    return size;
  };
  const report = () => {
    const root = document.documentElement;
    let css = '';
    try { css = pageSize(); } catch (_) {}
    document.title = 'printrelay:ready:' + JSON.stringify({
      w: root ? root.scrollWidth : 0, h: root ? root.scrollHeight : 0, css: css });
  };
  const fonts = document.fonts ? document.fonts.ready : Promise.resolve();
  fonts.then(() => Promise.race([
    new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done))),
    new Promise(done => setTimeout(done, 1000)),
  ])).then(report, report);
})();"#;

/// Why a request cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("cannot read the request: {0}")]
    Read(#[from] std::io::Error),
    #[error("the request is larger than {MAX_REQUEST_BYTES} bytes")]
    TooLarge,
    #[error("the request is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the page's address is not an http(s) URL: {0}")]
    Address(String),
    #[error("the print settings are not valid: {0}")]
    Print(&'static str),
}

/// A request, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub html: String,
    /// Where the page lives; its `#fragment` is kept for the navigation.
    pub address: Url,
    pub print: PrintParams,
    pub fit: Option<Fit>,
    /// The printable width and height, in inches.
    pub printable_in: (f64, f64),
}

/// The part of `Page.printToPDF`'s parameters (the agent's `print_params`) WebView2
/// can take; lengths in inches. The rest (`landscape` is always false) is ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintParams {
    pub paper_width: f64,
    pub paper_height: f64,
    pub margin_top: f64,
    pub margin_right: f64,
    pub margin_bottom: f64,
    pub margin_left: f64,
    /// The job named no page size: the page's CSS `@page` size wins.
    #[serde(rename = "preferCSSPageSize")]
    pub prefer_css_page_size: bool,
    pub print_background: bool,
    pub scale: f64,
}

/// The laid-out page, as [`READY_SCRIPT`] reports it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Measured {
    /// `scrollWidth`, CSS pixels.
    #[serde(rename = "w")]
    pub width_px: f64,
    /// `scrollHeight`, CSS pixels.
    #[serde(rename = "h")]
    pub height_px: f64,
    /// The last `@page` rule's `size`, `""` without one.
    #[serde(rename = "css", default)]
    pub css_size: String,
}

/// WebView2's print settings for a job (`ICoreWebView2PrintSettings`), lengths in
/// inches. Always portrait (the paper's own width and height say which way it lies)
/// and never a header or footer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrintSettings {
    pub page_width: f64,
    pub page_height: f64,
    pub margin_top: f64,
    pub margin_right: f64,
    pub margin_bottom: f64,
    pub margin_left: f64,
    /// Within 0.1 to 2, what WebView2 takes.
    pub scale: f64,
    pub print_backgrounds: bool,
}

/// Reads the request the agent wrote (`RenderRequest`, JSON) and checks it.
pub fn parse_request(bytes: &[u8]) -> Result<Job, RequestError> {
    let request: RenderRequest = serde_json::from_slice(bytes)?;
    let address = Url::parse(&request.address)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .ok_or_else(|| RequestError::Address(request.address.clone()))?;
    let print: PrintParams = serde_json::from_value(request.print)?;
    let (width, height) = request.printable_in;
    if !(positive(width) && positive(height)) {
        return Err(RequestError::Print("the printable area is empty"));
    }
    Ok(Job {
        html: request.html,
        address,
        print,
        fit: request.fit,
        printable_in: request.printable_in,
    })
}

impl Job {
    /// The web view's size while the page lays out, in CSS pixels: the printable area,
    /// so that what `fit` measures is what will be printed (as the agent's Chromium
    /// path sets its viewport).
    pub fn viewport_px(&self) -> (f64, f64) {
        let (width, height) = self.printable_in;
        (width * PX_PER_INCH, height * PX_PER_INCH)
    }

    /// The print settings for the page as it was `measured`.
    pub fn print_settings(&self, measured: &Measured) -> Result<PrintSettings, RequestError> {
        let print = &self.print;
        let paper = (print.paper_width, print.paper_height);
        let (page_width, page_height) = if print.prefer_css_page_size {
            // WebView2 prints on the paper it is given, whatever the page's CSS says.
            let css = &measured.css_size;
            match (css_page_size(css), css_orientation_only(css)) {
                (Some(size), _) => size,
                (None, Some(landscape)) => turned(paper, landscape),
                (None, None) => paper,
            }
        } else {
            paper
        };
        if !(positive(page_width) && positive(page_height)) {
            return Err(RequestError::Print("the paper has no size"));
        }
        let margins = [
            print.margin_top,
            print.margin_right,
            print.margin_bottom,
            print.margin_left,
        ];
        if margins.iter().any(|m| !(m.is_finite() && *m >= 0.0)) {
            return Err(RequestError::Print("a margin is negative"));
        }
        if print.margin_left + print.margin_right >= page_width
            || print.margin_top + print.margin_bottom >= page_height
        {
            return Err(RequestError::Print("the margins leave no room on the page"));
        }
        let measured_px = (measured.width_px, measured.height_px);
        let scale = match fit_scale(self.fit, self.printable_in, measured_px) {
            Some(scale) => scale,
            None if print.scale.is_finite() => {
                print.scale.clamp(*SCALE_RANGE.start(), *SCALE_RANGE.end())
            }
            None => return Err(RequestError::Print("the scale is not a number")),
        };
        Ok(PrintSettings {
            page_width,
            page_height,
            margin_top: print.margin_top,
            margin_right: print.margin_right,
            margin_bottom: print.margin_bottom,
            margin_left: print.margin_left,
            scale,
            print_backgrounds: print.print_background,
        })
    }
}

/// The zoom `fit` asks of a page measured at `measured` CSS pixels on a printable area
/// of `printable_in` inches, as the agent's Chromium path computes it: the printable
/// width over the page's (`width`), or the smaller of that and the heights' (`page`),
/// within 0.1 to 2; 1 for a page that measured nothing. `None` without `fit` (or
/// `none`): the job's `scale` applies (the two exclude each other).
pub fn fit_scale(fit: Option<Fit>, printable_in: (f64, f64), measured: (f64, f64)) -> Option<f64> {
    match fit? {
        Fit::None => None,
        fit => Some(geometry::fit_scale(fit, printable_in, measured)),
    }
}

/// The measurements in a title [`READY_SCRIPT`] set, `None` for any other title.
pub fn parse_ready_title(title: &str) -> Option<Measured> {
    serde_json::from_str(title.strip_prefix(READY_TITLE_PREFIX)?).ok()
}

/// Whether a request for `uri` asks for the page itself (its `#fragment` aside).
pub fn is_document(address: &Url, uri: &str) -> bool {
    let Ok(mut uri) = Url::parse(uri) else {
        return false;
    };
    let mut address = address.clone();
    uri.set_fragment(None);
    address.set_fragment(None);
    uri == address
}

/// Whether wry answers a request for `uri` itself: Tauri's own schemes, which WebView2
/// sees as `http://tauri.localhost/` and `http://ipc.localhost/`. Their answers would
/// override ours, and a page with no capability gets nothing useful from them.
pub fn answered_by_tauri(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && matches!(url.host_str(), Some("tauri.localhost" | "ipc.localhost"))
    })
}

/// A new file in the temporary folder for this render's PDF (WebView2 prints to a file).
pub fn pdf_path() -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let name = format!("printrelay-render-{}-{nanos}.pdf", std::process::id());
    std::env::temp_dir().join(name)
}

/// `paper` lying as `landscape` asks.
fn turned((width, height): (f64, f64), landscape: bool) -> (f64, f64) {
    let (short, long) = (width.min(height), width.max(height));
    if landscape {
        (long, short)
    } else {
        (short, long)
    }
}

fn positive(value: f64) -> bool {
    value.is_finite() && value > 0.0
}
