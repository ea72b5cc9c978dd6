//! The page options of an HTML or image job (protocol section 4): `pageSize`,
//! `margins`, `fit`, `scale`, `dpi`, read from JSON with the errors a sender can act on.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

/// Smallest and largest page side, in millimetres: a 10 mm jewellery tag to a 2 m banner.
pub const PAGE_SIDE_MM: std::ops::RangeInclusive<f64> = 10.0..=2000.0;
/// Largest margin on one side, in millimetres.
pub const MAX_MARGIN_MM: f64 = 100.0;
/// What the margins must leave of the page, in millimetres each way.
pub const MIN_PRINTABLE_MM: f64 = 5.0;
/// Accepted `scale`, as Chromium and WebView2 take it.
pub const SCALE: std::ops::RangeInclusive<f64> = 0.1..=2.0;
/// Accepted `dpi` for images; fractions are welcome (8 dots/mm is 203.2 dpi).
pub const DPI: std::ops::RangeInclusive<f64> = 10.0..=2400.0;

/// A length in millimetres; always finite (the parser refuses anything else).
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Mm(pub f64);

// The parser admits finite values only, for which `==` is an equivalence.
impl Eq for Mm {}

/// A number that is not a length (`scale`, `dpi`); always finite.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Finite(pub f64);

impl Eq for Finite {}

/// Paper sizes named in `pageSize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperName {
    A3,
    A4,
    A5,
    A6,
    Letter,
    Legal,
}

impl PaperName {
    const ALL: [PaperName; 6] = [
        PaperName::A3,
        PaperName::A4,
        PaperName::A5,
        PaperName::A6,
        PaperName::Letter,
        PaperName::Legal,
    ];

    /// The name as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            PaperName::A3 => "A3",
            PaperName::A4 => "A4",
            PaperName::A5 => "A5",
            PaperName::A6 => "A6",
            PaperName::Letter => "Letter",
            PaperName::Legal => "Legal",
        }
    }

    /// Width and height in portrait, in millimetres.
    pub fn size_mm(self) -> (f64, f64) {
        match self {
            PaperName::A3 => (297.0, 420.0),
            PaperName::A4 => (210.0, 297.0),
            PaperName::A5 => (148.0, 210.0),
            PaperName::A6 => (105.0, 148.0),
            PaperName::Letter => (215.9, 279.4),
            PaperName::Legal => (215.9, 355.6),
        }
    }

    /// The paper called `name` (any case).
    pub fn parse(name: &str) -> Option<PaperName> {
        Self::ALL
            .into_iter()
            .find(|paper| paper.as_str().eq_ignore_ascii_case(name))
    }
}

/// `pageSize`: a named paper or a custom size (labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    Named(PaperName),
    Custom { width: Mm, height: Mm },
}

impl PageSize {
    /// Width and height in millimetres, as given (portrait for named papers).
    pub fn size_mm(self) -> (f64, f64) {
        match self {
            PageSize::Named(paper) => paper.size_mm(),
            PageSize::Custom { width, height } => (width.0, height.0),
        }
    }

    fn from_value(value: &Value) -> Result<PageSize, String> {
        const EXPECTED: &str =
            "pageSize must be A3, A4, A5, A6, Letter, Legal or {\"widthMm\", \"heightMm\"}";
        match value {
            Value::String(name) => PaperName::parse(name)
                .map(PageSize::Named)
                .ok_or_else(|| EXPECTED.to_owned()),
            Value::Object(fields) => {
                let side = |name: &str| match fields.get(name).and_then(Value::as_f64) {
                    Some(mm) if PAGE_SIDE_MM.contains(&mm) => Ok(Mm(mm)),
                    Some(_) => Err(format!(
                        "pageSize.{name} must be {} to {} mm",
                        PAGE_SIDE_MM.start(),
                        PAGE_SIDE_MM.end()
                    )),
                    None => Err(EXPECTED.to_owned()),
                };
                Ok(PageSize::Custom {
                    width: side("widthMm")?,
                    height: side("heightMm")?,
                })
            }
            _ => Err(EXPECTED.to_owned()),
        }
    }
}

impl Serialize for PageSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PageSize::Named(paper) => serializer.serialize_str(paper.as_str()),
            PageSize::Custom { width, height } => {
                json!({"widthMm": width.0, "heightMm": height.0}).serialize(serializer)
            }
        }
    }
}

impl<'de> Deserialize<'de> for PageSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PageSize::from_value(&Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// `margins` in millimetres: one number for every side, or each side (missing ones 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Margins {
    pub top: Mm,
    pub right: Mm,
    pub bottom: Mm,
    pub left: Mm,
}

impl Margins {
    /// The same margin on every side.
    pub fn all(mm: f64) -> Margins {
        Margins {
            top: Mm(mm),
            right: Mm(mm),
            bottom: Mm(mm),
            left: Mm(mm),
        }
    }

    fn from_value(value: &Value) -> Result<Margins, String> {
        const EXPECTED: &str =
            "margins must be a number of mm or {\"top\", \"right\", \"bottom\", \"left\"}";
        let side = |value: &Value, name: &str| match value.as_f64() {
            Some(mm) if (0.0..=MAX_MARGIN_MM).contains(&mm) => Ok(Mm(mm)),
            Some(_) => Err(format!("margins{name} must be 0 to {MAX_MARGIN_MM} mm")),
            None => Err(EXPECTED.to_owned()),
        };
        match value {
            Value::Number(_) => Ok(Margins::all(side(value, "")?.0)),
            Value::Object(fields) => {
                let get = |name: &str| match fields.get(name) {
                    None | Some(Value::Null) => Ok(Mm(0.0)),
                    Some(value) => side(value, &format!(".{name}")),
                };
                Ok(Margins {
                    top: get("top")?,
                    right: get("right")?,
                    bottom: get("bottom")?,
                    left: get("left")?,
                })
            }
            _ => Err(EXPECTED.to_owned()),
        }
    }
}

impl Serialize for Margins {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        json!({"top": self.top.0, "right": self.right.0, "bottom": self.bottom.0, "left": self.left.0})
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Margins {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Margins::from_value(&Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// `fit`: how content meets the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// At its own size (an image: pixels / dpi); what does not fit is cut.
    None,
    /// Scaled to the printable width.
    Width,
    /// Scaled to fit the printable area, whole.
    Page,
}
