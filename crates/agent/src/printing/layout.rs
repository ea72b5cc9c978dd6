//! Plain text broken into pages of lines: tabs expanded, control characters dropped,
//! lines wrapped to a width (at spaces in Latin text, anywhere between CJK
//! characters), pages broken when full and at form feeds. Pure; the PDF path measures
//! with estimated ems, the Windows GDI path with the printer font's real widths.

const TAB: &str = "    ";

/// Splits `text` into pages of at most `lines_per_page` lines no wider than `width`,
/// where `measure` gives the advance of one character in the same unit.
pub fn paginate(
    text: &str,
    width: f32,
    lines_per_page: usize,
    measure: &mut impl FnMut(char) -> f32,
) -> Vec<Vec<String>> {
    let lines_per_page = lines_per_page.max(1);
    let mut pages = vec![Vec::new()];
    for (index, sheet) in text.split('\u{c}').enumerate() {
        if index > 0 {
            pages.push(Vec::new());
        }
        for raw_line in sheet.lines() {
            let clean: String = raw_line
                .replace('\t', TAB)
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            for line in wrap(&clean, width, measure) {
                if pages.last().is_some_and(|p| p.len() >= lines_per_page) {
                    pages.push(Vec::new());
                }
                if let Some(page) = pages.last_mut() {
                    page.push(line);
                }
            }
        }
    }
    pages
}

/// CJK ideographs, kana, hangul and full-width forms: a line may break before any of them.
pub fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

/// Breaks a line into pieces no wider than `width`, at spaces where possible.
fn wrap(line: &str, width: f32, measure: &mut impl FnMut(char) -> f32) -> Vec<String> {
    if line.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let mut used = 0.0;
    for c in line.chars() {
        let w = measure(c);
        if used + w > width && !current.is_empty() {
            // Prefer breaking after the last space of a Latin run.
            match current
                .rfind(' ')
                .filter(|_| !c.is_whitespace() && !is_wide(c))
            {
                Some(space) if space > 0 => {
                    let rest = current.split_off(space + 1);
                    out.push(current.trim_end().to_owned());
                    used = rest.chars().map(&mut *measure).sum();
                    current = rest;
                }
                _ => {
                    out.push(std::mem::take(&mut current));
                    used = 0.0;
                }
            }
        }
        if current.is_empty() && c == ' ' && !out.is_empty() {
            continue;
        }
        current.push(c);
        used += w;
    }
    out.push(current.trim_end().to_owned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Device pixels of a proportional font: narrow `i`, wide `W`, square CJK.
    fn pixels(c: char) -> f32 {
        match c {
            'i' | 'l' | ' ' => 10.0,
            'W' | 'M' => 40.0,
            c if is_wide(c) => 50.0,
            _ => 25.0,
        }
    }

    #[test]
    fn measured_widths_decide_where_lines_break() {
        // 20 narrow letters fit 200 px; 20 wide ones need four lines of five.
        let narrow = paginate(&"i".repeat(20), 200.0, 50, &mut pixels);
        assert_eq!(narrow, vec![vec!["i".repeat(20)]]);
        let wide = paginate(&"W".repeat(20), 200.0, 50, &mut pixels);
        assert_eq!(wide[0], vec!["W".repeat(5); 4]);
        for line in paginate("Mill Wall 打印测试打印测试 Will", 200.0, 50, &mut pixels)[0].iter()
        {
            assert!(line.chars().map(pixels).sum::<f32>() <= 200.0, "{line}");
        }
    }

    #[test]
    fn a_full_page_continues_on_the_next() {
        let pages = paginate(&"x\n".repeat(7), 100.0, 3, &mut pixels);
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 3, 1]);
    }

    #[test]
    fn a_character_wider_than_the_line_still_prints_alone() {
        let pages = paginate("打印", 10.0, 5, &mut pixels);
        assert_eq!(pages[0], ["打", "印"]);
    }
}
