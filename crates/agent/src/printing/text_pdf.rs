//! Lays plain text out on A4 pages as a PDF: margins, line wrapping, page breaks
//! (also on form feed), one font that covers Chinese. Pure and blocking.

use krilla::geom::Point;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use krilla::Document;

/// A4 in PostScript points.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 48.0;
const FONT_SIZE: f32 = 11.0;
const LINE_HEIGHT: f32 = FONT_SIZE * 1.45;

/// Why text could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read the font {0}")]
    Font(String),
    #[error("cannot write the PDF: {0}")]
    Pdf(String),
}

/// Renders `text` with the font at `font_path` (face `index`) into PDF bytes.
pub fn render(text: &str, font_data: Vec<u8>, index: u32) -> Result<Vec<u8>, RenderError> {
    let font = Font::new(font_data.into(), index)
        .ok_or_else(|| RenderError::Font(format!("face {index}")))?;
    let pages = paginate(text);
    let mut document = Document::new();
    for lines in &pages {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| RenderError::Pdf("page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for (row, line) in lines.iter().enumerate() {
            if line.is_empty() {
                continue;
            }
            let baseline = MARGIN + FONT_SIZE + row as f32 * LINE_HEIGHT;
            surface.draw_text(
                Point::from_xy(MARGIN, baseline),
                font.clone(),
                FONT_SIZE,
                line,
                false,
                TextDirection::Auto,
            );
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| RenderError::Pdf(e.to_string()))
}

/// Splits text into pages of wrapped lines.
pub fn paginate(text: &str) -> Vec<Vec<String>> {
    let lines_per_page = ((PAGE_HEIGHT - 2.0 * MARGIN) / LINE_HEIGHT)
        .floor()
        .max(1.0) as usize;
    let width_em = (PAGE_WIDTH - 2.0 * MARGIN) / FONT_SIZE;
    super::layout::paginate(text, width_em, lines_per_page, &mut advance)
}

/// Approximate advance of a character in ems: wide for CJK and full-width forms.
fn advance(c: char) -> f32 {
    if super::layout::is_wide(c) {
        1.0
    } else {
        0.6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_within_the_margins_at_spaces() {
        let words = "word ".repeat(60);
        let pages = paginate(&words);
        assert_eq!(pages.len(), 1);
        assert!(pages[0].len() >= 3);
        let width_em = (PAGE_WIDTH - 2.0 * MARGIN) / FONT_SIZE;
        for line in &pages[0] {
            assert!(line.chars().map(advance).sum::<f32>() <= width_em, "{line}");
            assert!(!line.starts_with(' ') && !line.ends_with(' '), "{line:?}");
        }
    }

    #[test]
    fn chinese_wraps_by_width_and_keeps_every_character() {
        let text = "打印测试".repeat(40);
        let pages = paginate(&text);
        let joined: String = pages.concat().concat();
        assert_eq!(joined, text);
        assert!(pages[0].len() > 1);
    }

    #[test]
    fn many_lines_and_form_feeds_make_pages() {
        let text = "line\n".repeat(120);
        assert!(paginate(&text).len() >= 3);
        assert_eq!(paginate("a\u{c}b\u{c}c").len(), 3);
        assert_eq!(paginate("").len(), 1);
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;

    /// Renders with the machine's CJK font and reads the text back with poppler's
    /// pdftotext. Without either, a failure in CI and a printed skip elsewhere.
    #[test]
    fn rendered_text_is_extractable() -> Result<(), String> {
        let Some(font) = crate::printing::fonts::text_font() else {
            return crate::skip::skip_or_fail("no font with Chinese coverage on this machine");
        };
        let data = std::fs::read(&font.path).expect("font");
        let pdf = render("Hello 打印测试\nTotal 合计", data, font.index).expect("render");
        assert!(pdf.starts_with(b"%PDF-"));
        // The Windows build runs its tests under Wine, which cannot start poppler: there
        // this covers the Windows font lookup (tests/wine/prefix.sh puts a Chinese font
        // in C:\Windows\Fonts) and the rendering; the Linux run reads the text back.
        #[cfg(not(windows))]
        read_back(&pdf)?;
        Ok(())
    }

    #[cfg(not(windows))]
    fn read_back(pdf: &[u8]) -> Result<(), String> {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.pdf");
        std::fs::write(&path, pdf).expect("write");
        let out = match std::process::Command::new("pdftotext")
            .arg(&path)
            .arg("-")
            .output()
        {
            Ok(out) => out,
            Err(error) => {
                return crate::skip::skip_or_fail(&format!("cannot run pdftotext: {error}"))
            }
        };
        assert!(out.status.success(), "pdftotext failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("打印测试") && text.contains("Hello"),
            "{text}"
        );
        Ok(())
    }
}
