//! The test page a person prints from the window, the tray or `print-test`: a short
//! text document naming this computer, the agent and the local time, labelled in both
//! languages (whoever reads it at the printer may not be who set the PC up), with the
//! job's title in the user's language.

use crate::protocol::{self, Document, PrintJob};
use crate::settings::Language;

/// A test page job for `printer` (`None`: the selected one, then the system default).
pub fn test_page(printer: Option<String>, language: Language) -> PrintJob {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let chinese = is_chinese(language);
    let heading = if chinese {
        "PrintRelay 测试页 / Test page"
    } else {
        "PrintRelay test page / 测试页"
    };
    let printer_line = printer.as_deref().unwrap_or("系统默认 / system default");
    let text = format!(
        "{heading}\n\n\
         电脑 Computer: {host}\n\
         程序 Program: {} {}\n\
         打印机 Printer: {printer_line}\n\
         时间 Time: {}\n\n\
         如果您能读到这一页，打印机可以使用。\n\
         If you can read this page, the printer works.\n",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        local_time()
    );
    PrintJob {
        job_id: format!("local-{}", uuid::Uuid::new_v4()),
        title: if chinese {
            "PrintRelay 测试页"
        } else {
            "PrintRelay test page"
        }
        .into(),
        document: Document::Text(text),
        printer,
        copies: 1,
        options: protocol::PrintOptions::default(),
        expires_at: None,
        origin: protocol::Origin::Local,
    }
}

/// `2026-12-01 21:07:00 UTC+08:00`: the PC's own clock, to the second.
fn local_time() -> String {
    chrono::Local::now()
        .format("%Y-%m-%d %H:%M:%S UTC%:z")
        .to_string()
}

/// The user's language: the setting, or the system's (any Chinese one reads 简体中文).
fn is_chinese(language: Language) -> bool {
    match language {
        Language::ZhCn => true,
        Language::En => false,
        Language::System => sys_locale::get_locale()
            .is_some_and(|locale| locale.to_ascii_lowercase().starts_with("zh")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_the_pc_in_both_languages_with_the_local_time_to_the_second() {
        let job = test_page(Some("Labels".into()), Language::ZhCn);
        assert_eq!(job.title, "PrintRelay 测试页");
        assert_eq!(job.origin, protocol::Origin::Local);
        let Document::Text(text) = &job.document else {
            panic!("a text page");
        };
        for label in [
            "电脑 Computer:",
            "程序 Program:",
            "打印机 Printer: Labels",
            "时间 Time:",
        ] {
            assert!(text.contains(label), "{label} in {text}");
        }
        let time = text
            .lines()
            .find_map(|l| l.strip_prefix("时间 Time: "))
            .expect("a time line");
        // 2026-12-01 21:07:00 UTC+08:00: no fraction of a second.
        assert_eq!(time.len(), "2026-12-01 21:07:00 UTC+08:00".len(), "{time}");
        assert!(!time.contains('.'), "{time}");
        assert_eq!(test_page(None, Language::En).title, "PrintRelay test page");
    }
}
