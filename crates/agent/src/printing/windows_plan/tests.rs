//! Tests of `windows_plan`.

use super::*;

fn a4_at_600dpi() -> DeviceCaps {
    DeviceCaps {
        dpi_x: 600,
        dpi_y: 600,
        paper_width: 4960,
        paper_height: 7016,
        offset_x: 100,
        offset_y: 120,
        printable_width: 4760,
        printable_height: 6776,
    }
}

#[test]
fn job_options_become_device_mode_fields() {
    let options = PrintOptions {
        media: Some("Letter".into()),
        sides: Some(Sides::TwoSidedLongEdge),
        orientation: Some(Orientation::Landscape),
        ..PrintOptions::default()
    };
    assert_eq!(
        device_settings(3, &options),
        DeviceSettings {
            copies: Some(3),
            orientation: Some(2),
            paper: Some(Paper::Standard(1)),
            duplex: Some(2),
        }
    );
    assert_eq!(
        device_settings(1, &PrintOptions::default()),
        DeviceSettings::default()
    );
}

#[test]
fn copies_come_from_the_driver_when_it_can_make_them() {
    assert_eq!(copies_plan(3, 9999), (3, 1));
    assert_eq!(copies_plan(3, 1), (1, 3));
    assert_eq!(copies_plan(0, 1), (1, 1));
}

#[test]
fn media_names_map_to_standard_or_custom_paper() {
    assert_eq!(paper("A4"), Some(Paper::Standard(9)));
    assert_eq!(paper("iso_a4_210x297mm"), Some(Paper::Standard(9)));
    assert_eq!(paper("na_letter_8.5x11in"), Some(Paper::Standard(1)));
    assert_eq!(paper("iso_a5_148x210mm"), Some(Paper::Standard(11)));
    assert_eq!(
        paper("om_label_100x150mm"),
        Some(Paper::Custom {
            width: 1000,
            length: 1500
        })
    );
    assert_eq!(
        paper("na_index-4x6_4x6in"),
        Some(Paper::Custom {
            width: 1016,
            length: 1524
        })
    );
    for unknown in [
        "Postcard",
        "om_x_0x0mm",
        "om_x_axbmm",
        "om_x_99999x10mm",
        "",
    ] {
        assert_eq!(paper(unknown), None, "{unknown}");
    }
}

#[test]
fn status_bits_map_to_job_states() {
    assert_eq!(job_state(0), SpoolerJobState::Active);
    assert_eq!(job_state(0x8 | 0x10), SpoolerJobState::Active); // spooling, printing
    assert_eq!(job_state(0x2 | 0x40), SpoolerJobState::Active); // error, paper out
    assert_eq!(job_state(0x80), SpoolerJobState::Completed);
    assert_eq!(job_state(0x1000 | 0x4), SpoolerJobState::Completed); // removed after printing
    assert_eq!(job_state(0x4), SpoolerJobState::Cancelled);
    assert_eq!(job_state(0x100), SpoolerJobState::Cancelled);
}

#[test]
fn the_text_font_prefers_the_windows_chinese_fonts() {
    let have = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        pick_face(&have(&["@SimSun", "SimSun", "Microsoft YaHei"])).as_deref(),
        Some("Microsoft YaHei")
    );
    assert_eq!(
        pick_face(&have(&["Noto Sans CJK SC", "WenQuanYi Micro Hei"])).as_deref(),
        Some("WenQuanYi Micro Hei")
    );
    assert_eq!(
        pick_face(&have(&["@Odd Font", "Odd Font"])).as_deref(),
        Some("Odd Font")
    );
    assert_eq!(pick_face(&[]), None);
}

#[test]
fn text_margins_are_measured_from_the_paper_edge() {
    let frame = TextFrame::for_device(&a4_at_600dpi());
    // 48 pt at 600 dpi is 400 px from the edge; the DC starts 100 px in.
    assert_eq!(frame.area.left, 300);
    assert_eq!(frame.area.top, 280);
    assert_eq!(frame.area.left + frame.area.width, 4960 - 400 - 100);
    assert_eq!(frame.font_px, 92);
    assert_eq!(frame.line_px, 133);
    assert_eq!(frame.lines_per_page(), ((7016 - 800) / 133) as usize);
}

#[test]
fn a_wide_unprintable_edge_moves_the_text_inside() {
    let caps = DeviceCaps {
        offset_x: 500,
        printable_width: 3960,
        ..a4_at_600dpi()
    };
    let frame = TextFrame::for_device(&caps);
    assert_eq!(frame.area.left, 0);
    assert!(frame.area.left + frame.area.width <= caps.printable_width);
}

#[test]
fn pdf_pages_print_at_actual_size_or_shrink_to_fit() {
    let caps = a4_at_600dpi();
    let a4 = place_page(595.0, 842.0, &caps, false);
    assert_eq!((a4.left, a4.top), (-100, -120));
    assert_eq!((a4.width, a4.height), (4958, 7017));
    let a3 = place_page(842.0, 1191.0, &caps, false);
    assert!(a3.width <= caps.printable_width && a3.height <= caps.printable_height);
    assert!(a3.left >= 0 && a3.top >= 0);
    let label = place_page(283.0, 425.0, &caps, true);
    assert!(label.width > 4000 || label.height > 6000, "{label:?}");
}

#[test]
fn rasters_stop_at_300_dpi() {
    let page = Rect {
        left: 0,
        top: 0,
        width: 4960,
        height: 7016,
    };
    assert_eq!(raster_size(&page, 600), (2480, 3508));
    assert_eq!(raster_size(&page, 200), (4960, 7016));
    let roll = Rect {
        width: 36 * 600,
        height: 100 * 600,
        ..page
    };
    let (w, h) = raster_size(&roll, 600);
    assert!(f32::from(w) * f32::from(h) <= 36_000_001.0, "{w}x{h}");
    assert!((f32::from(w) / f32::from(h) - 0.36).abs() < 0.01);
}

#[test]
fn page_ranges_select_pages() {
    assert_eq!(selected_pages(None, 3), [0, 1, 2]);
    assert_eq!(selected_pages(Some("1-2,5"), 6), [0, 1, 4]);
    assert_eq!(selected_pages(Some("3-"), 4), [2, 3]);
    assert_eq!(selected_pages(Some("-2"), 4), [0, 1]);
    assert_eq!(selected_pages(Some("9"), 4), [0, 1, 2, 3]);
    assert_eq!(selected_pages(Some("2,2,1"), 3), [0, 1]);
    assert_eq!(selected_pages(Some(",-,0"), 2), [0, 1]);
}

#[test]
fn printer_status_bits_read_as_the_state_users_see() {
    assert_eq!(printer_state(0), PrinterState::Ready);
    assert_eq!(printer_state(0x400), PrinterState::Printing);
    assert_eq!(printer_state(0x80 | 0x400), PrinterState::Offline);
    assert_eq!(printer_state(0x10), PrinterState::Offline);
    assert_eq!(printer_state(0x1 | 0x80), PrinterState::Paused);
    // Bits the agent does not tell apart (e.g. "waiting", 0x2000) leave it ready.
    assert_eq!(printer_state(0x2000), PrinterState::Ready);
}

#[test]
fn the_default_paper_comes_from_the_driver_then_the_standard_table_then_its_size() {
    let label = DefaultPaper {
        id: Some(300),
        size: None,
        driver_papers: vec![(9, (2100, 2970)), (300, (1500, 1000))],
    };
    assert_eq!(label.millimetres(), Some((100.0, 150.0)), "portrait");
    let letter = DefaultPaper {
        id: Some(1),
        ..DefaultPaper::default()
    };
    assert_eq!(letter.millimetres(), Some((215.9, 279.4)));
    let custom = DefaultPaper {
        id: Some(256),
        size: Some((576, 800)),
        driver_papers: Vec::new(),
    };
    assert_eq!(custom.millimetres(), Some((57.6, 80.0)));
    assert_eq!(DefaultPaper::default().millimetres(), None);
    let broken = DefaultPaper {
        id: Some(300),
        size: None,
        driver_papers: vec![(300, (0, -5))],
    };
    assert_eq!(broken.millimetres(), None);
}
