//! Finding a system font that covers Chinese as well as Latin text, per platform.
//! Called from the blocking print path; the result is cached for the process.

use std::path::PathBuf;
use std::sync::OnceLock;

/// A font file and the face index inside it (for `.ttc` collections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontFile {
    pub path: PathBuf,
    pub index: u32,
}

/// Well-known fonts with CJK coverage, tried in order when the platform cannot be asked.
#[cfg(target_os = "windows")]
const KNOWN: &[(&str, u32)] = &[
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
    ("C:\\Windows\\Fonts\\simsun.ttc", 0),
    ("C:\\Windows\\Fonts\\arialuni.ttf", 0),
];
#[cfg(target_os = "macos")]
const KNOWN: &[(&str, u32)] = &[
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("/System/Library/Fonts/STHeiti Light.ttc", 0),
    ("/Library/Fonts/Arial Unicode.ttf", 0),
];
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
const KNOWN: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    (
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        0,
    ),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
];

/// The font text jobs are rendered with, if the machine has one.
pub fn text_font() -> Option<&'static FontFile> {
    static FONT: OnceLock<Option<FontFile>> = OnceLock::new();
    FONT.get_or_init(|| {
        let found = from_fontconfig().or_else(|| {
            KNOWN
                .iter()
                .map(|(path, index)| FontFile {
                    path: PathBuf::from(path),
                    index: *index,
                })
                .find(|font| font.path.exists())
        });
        match &found {
            Some(font) => tracing::info!(path = %font.path.display(), "text jobs use this font"),
            None => tracing::warn!("no font with Chinese coverage found; text jobs fall back to the spooler's text filter"),
        }
        found
    })
    .as_ref()
}

/// Asks fontconfig (Linux, BSD) for a sans font covering Simplified Chinese.
fn from_fontconfig() -> Option<FontFile> {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return None;
    }
    let output = std::process::Command::new("fc-match")
        .args(["-f", "%{file}\n%{index}", "sans-serif:lang=zh-cn"])
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines();
    let path = PathBuf::from(lines.next()?);
    let index = lines
        .next()
        .and_then(|i| i.trim().parse().ok())
        .unwrap_or(0);
    path.exists().then_some(FontFile { path, index })
}
