//! An error with its causes in one line (`outer: cause: root cause`), for the log and
//! the technical detail beside a state. A leaf module: fetches and the connection use it.

/// `error` and each of its sources, joined by `: `.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
