//! docs/protocol.md and the types agree: every `job_status` example of section 5 reads
//! as a [`JobStatus`] and writes back the same JSON, and the section's list of states is
//! [`JobState::ALL`] in its order.

use printrelay_protocol::{JobState, JobStatus};
use serde_json::Value;

const DOC: &str = include_str!("../../../docs/protocol.md");

/// The text of section `number` ("## 5. ..." up to the next "## ").
fn section(number: &str) -> &'static str {
    let start = DOC
        .find(&format!("\n## {number}. "))
        .unwrap_or_else(|| panic!("docs/protocol.md has no section {number}"));
    let rest = &DOC[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

/// The ```json blocks of `text`.
fn json_blocks(text: &str) -> Vec<&str> {
    text.split("```json")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .collect()
}

#[test]
fn the_job_status_examples_read_as_job_status_and_write_back_the_same() {
    let examples = json_blocks(section("5"));
    assert!(examples.len() >= 3, "section 5 lost its examples");
    for example in examples {
        let written: Value = serde_json::from_str(example).expect("an example is JSON");
        let status: JobStatus = serde_json::from_value(written.clone())
            .unwrap_or_else(|e| panic!("{example}: not a JobStatus: {e}"));
        assert_eq!(
            serde_json::to_value(&status).ok(),
            Some(written),
            "{example}"
        );
    }
}

#[test]
fn the_states_are_listed_in_their_order() {
    let text = section("5");
    let list = text
        .split("States, in order:")
        .nth(1)
        .and_then(|rest| rest.split("A state not in").next())
        .expect("section 5 lists the states");
    let named: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    let states: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(named, states);
}

#[test]
fn an_unknown_state_is_refused_by_type() {
    let banana = serde_json::json!({"jobId": "j", "state": "banana", "at": 1, "printer": null});
    assert!(serde_json::from_value::<JobStatus>(banana).is_err());
    for state in JobState::ALL {
        assert_eq!(JobState::parse(state.as_str()), Some(state));
        assert_eq!(
            serde_json::to_value(state).ok(),
            Some(Value::from(state.as_str()))
        );
    }
    assert!(JobState::ALL.windows(2).all(|w| w[0].rank() <= w[1].rank()));
    assert!(!JobState::Spooled.is_final() && JobState::Cancelled.is_final());
}
