//! Tests of `worker`.

use super::printing::choose_printer;
use super::*;

#[test]
fn printer_choice_follows_the_documented_rule() {
    assert_eq!(choose_printer(None, None, false), Ok(None));
    assert_eq!(choose_printer(None, Some("A"), false), Ok(Some("A".into())));
    assert_eq!(
        choose_printer(Some("B"), Some("A"), true),
        Ok(Some("B".into()))
    );
    assert_eq!(
        choose_printer(Some("A"), Some("A"), false),
        Ok(Some("A".into()))
    );
    for (requested, selected) in [(Some("B"), Some("A")), (Some("B"), None)] {
        let error = choose_printer(requested, selected, false).expect_err("not allowed");
        assert_eq!(error.code, ErrorCode::PrinterNotAllowed);
    }
}
