//! The CSS `@page` `size` value, as `CSSPageRule.style.getPropertyValue('size')` gives
//! it, in inches: WebView2 prints on the paper of its print settings and not on the
//! page's own, so a job that names no page size gets the page's through here. Plain
//! code, run on the renderer's main thread.

/// What a `size` value says of the paper.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CssSize {
    /// Width and height, in inches.
    Exact(f64, f64),
    /// Only which way the paper lies (`size: landscape`).
    Turned { landscape: bool },
}

/// The page's width and height in inches for a CSS `size` value (`"A5"`,
/// `"a5 landscape"`, `"148mm 210mm"`, `"4in 6in"`, `"100mm"`, `"letter"`...); `None`
/// for `auto`, an empty value, an orientation alone and anything not understood.
pub fn css_page_size(value: &str) -> Option<(f64, f64)> {
    match parse_css_size(value)? {
        CssSize::Exact(width, height) => Some((width, height)),
        CssSize::Turned { .. } => None,
    }
}

/// For a `size` value that says only which way the paper lies (`landscape`,
/// `portrait`), whether it is landscape; `None` for any other value.
pub fn css_orientation_only(value: &str) -> Option<bool> {
    match parse_css_size(value)? {
        CssSize::Turned { landscape } => Some(landscape),
        CssSize::Exact(..) => None,
    }
}

/// A `size` value: `<length>{1,2} | auto | [<page-size> || [portrait | landscape]]`.
fn parse_css_size(value: &str) -> Option<CssSize> {
    let words: Vec<String> = value
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let mut landscape = None;
    let mut rest = Vec::new();
    for word in &words {
        match word.as_str() {
            "portrait" | "landscape" if landscape.is_none() => {
                landscape = Some(word == "landscape");
            }
            _ => rest.push(word.as_str()),
        }
    }
    match (rest.as_slice(), landscape) {
        ([], Some(landscape)) => Some(CssSize::Turned { landscape }),
        ([name], _) if named(name).is_some() => {
            let (width, height) = named(name)?;
            Some(match landscape {
                Some(true) => CssSize::Exact(height, width),
                _ => CssSize::Exact(width, height),
            })
        }
        // Lengths take no orientation.
        ([side], None) => {
            let side = length(side)?;
            Some(CssSize::Exact(side, side))
        }
        ([width, height], None) => Some(CssSize::Exact(length(width)?, length(height)?)),
        _ => None,
    }
}

/// A named paper, portrait, in inches (CSS Paged Media's `<page-size>`).
fn named(name: &str) -> Option<(f64, f64)> {
    let mm = |width: f64, height: f64| Some((width / 25.4, height / 25.4));
    match name {
        "a3" => mm(297.0, 420.0),
        "a4" => mm(210.0, 297.0),
        "a5" => mm(148.0, 210.0),
        "a6" => mm(105.0, 148.0),
        "b4" => mm(250.0, 353.0),
        "b5" => mm(176.0, 250.0),
        "jis-b4" => mm(257.0, 364.0),
        "jis-b5" => mm(182.0, 257.0),
        "letter" => Some((8.5, 11.0)),
        "legal" => Some((8.5, 14.0)),
        "ledger" => Some((11.0, 17.0)),
        _ => None,
    }
}

/// A positive CSS length in inches (`210mm`, `21cm`, `4in`, `72pt`, `6pc`, `96px`,
/// `840q`).
fn length(word: &str) -> Option<f64> {
    let split = word
        .find(|c: char| c.is_ascii_alphabetic())
        .filter(|&at| at > 0)?;
    let (number, unit) = word.split_at(split);
    let number: f64 = number.parse().ok()?;
    let per_inch = match unit {
        "mm" => 25.4,
        "cm" => 2.54,
        "q" => 101.6,
        "in" => 1.0,
        "pt" => 72.0,
        "pc" => 6.0,
        "px" => super::PX_PER_INCH,
        _ => return None,
    };
    let inches = number / per_inch;
    (inches.is_finite() && inches > 0.0).then_some(inches)
}
