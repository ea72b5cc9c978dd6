//! Paper sizes from their PWG 5101.1 self-describing names (`iso_a4_210x297mm`,
//! `na_letter_8.5x11in`, `om_label_100x150mm`), as CUPS and IPP printers name their
//! default media. Pure; used when a printer's default paper is asked for.

/// Width and height in millimetres of the paper a PWG media name describes.
pub fn pwg_size_mm(name: &str) -> Option<(f64, f64)> {
    let size = name.rsplit('_').next()?;
    let (numbers, per_unit) = if let Some(mm) = size.strip_suffix("mm") {
        (mm, 1.0)
    } else {
        (size.strip_suffix("in")?, 25.4)
    };
    let (width, height) = numbers.split_once('x')?;
    let (width, height) = (width.parse::<f64>().ok()?, height.parse::<f64>().ok()?);
    let valid = |v: f64| v.is_finite() && v > 0.0;
    (valid(width) && valid(height)).then_some((width * per_unit, height * per_unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pwg_names_give_their_size_in_millimetres() {
        assert_eq!(pwg_size_mm("iso_a4_210x297mm"), Some((210.0, 297.0)));
        assert_eq!(pwg_size_mm("om_label_100x150mm"), Some((100.0, 150.0)));
        let letter = pwg_size_mm("na_letter_8.5x11in").expect("letter");
        assert!((letter.0 - 215.9).abs() < 1e-9 && (letter.1 - 279.4).abs() < 1e-9);
        for name in [
            "A4",
            "iso_a4",
            "na_letter_8.5x11",
            "x_0x10mm",
            "a_-1x5mm",
            "custom_axbmm",
            "",
        ] {
            assert_eq!(pwg_size_mm(name), None, "{name}");
        }
    }
}
