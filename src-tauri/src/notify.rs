//! Desktop notifications for what needs a person: a job that failed, a connection that
//! gave up. Decided from agent events on the tray process' event task.

use printrelay_agent::connection::ConnectionState;
use printrelay_agent::protocol::JobState;
use printrelay_agent::AgentEvent;
use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::i18n::{Lang, Text};

/// A notification to show: title and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// The notification `event` deserves, if any, given the connection state before it (a
/// background attempt that fails again stays `gaveUp`: no second notification).
pub fn notice_for(event: &AgentEvent, before: &ConnectionState, lang: Lang) -> Option<Notice> {
    match event {
        AgentEvent::Job(job) if matches!(job.state, JobState::Failed | JobState::Rejected) => {
            // In words; the code and the raw message are in the window and the log.
            let reason = job.error.as_ref().map_or("", |e| lang.job_error(e.code));
            let what = if job.title.is_empty() {
                &job.job_id
            } else {
                &job.title
            };
            Some(Notice {
                title: lang.text(Text::JobFailed).to_owned(),
                body: format!("{what}{}{reason}", lang.colon()),
            })
        }
        // In words; the technical text is in the window and the log.
        AgentEvent::Connection(ConnectionState::GaveUp { problem, .. })
            if !matches!(before, ConnectionState::GaveUp { .. }) =>
        {
            Some(Notice {
                title: lang.text(Text::GaveUp).to_owned(),
                body: lang.problem(*problem).to_owned(),
            })
        }
        _ => None,
    }
}

/// Shows `notice`; a desktop without a notification service only gets a log line.
pub fn show<R: Runtime>(app: &AppHandle<R>, notice: &Notice) {
    let shown = app
        .notification()
        .builder()
        .title(&notice.title)
        .body(&notice.body)
        .show();
    if let Err(error) = shown {
        tracing::warn!(%error, title = %notice.title, "cannot show a notification");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use printrelay_agent::protocol::{ErrorCode, JobError};
    use printrelay_agent::record::JobRecord;

    fn job(state: JobState) -> JobRecord {
        JobRecord {
            job_id: "j1".into(),
            title: "Invoice 7".into(),
            printer: None,
            state,
            size_bytes: 10,
            copies: 1,
            received_at: 0,
            updated_at: 0,
            spooler_job_id: None,
            error: (state == JobState::Failed)
                .then(|| JobError::new(ErrorCode::PrinterNotFound, "no printer \"X\"")),
            reprint_of: None,
            kind: None,
        }
    }

    #[test]
    fn failed_jobs_and_giving_up_notify_nothing_else_does() {
        let failed = notice_for(
            &AgentEvent::Job(job(JobState::Failed)),
            &ConnectionState::Idle,
            Lang::En,
        );
        assert_eq!(
            failed,
            Some(Notice {
                title: "Print job failed".into(),
                body: "Invoice 7: The printer is not installed on this computer.".into()
            })
        );
        assert_eq!(
            notice_for(
                &AgentEvent::Job(job(JobState::Completed)),
                &ConnectionState::Idle,
                Lang::En
            ),
            None
        );
        let gave_up = AgentEvent::Connection(ConnectionState::GaveUp {
            attempts: 5,
            last_error: "refused".into(),
            problem: printrelay_agent::connection::Problem::ServerUnreachable,
            retry_at: Some(1),
        });
        let before = ConnectionState::Reconnecting {
            attempt: 5,
            max_attempts: 5,
            retry_at: 0,
            last_error: "refused".into(),
            problem: printrelay_agent::connection::Problem::ServerUnreachable,
        };
        let again = ConnectionState::GaveUp {
            attempts: 5,
            last_error: "refused".into(),
            problem: printrelay_agent::connection::Problem::ServerUnreachable,
            retry_at: Some(0),
        };
        assert_eq!(
            notice_for(&gave_up, &again, Lang::En),
            None,
            "a failed background attempt is not news"
        );
        let zh = notice_for(&gave_up, &before, Lang::ZhCn);
        assert_eq!(
            zh.map(|n| (n.title, n.body)),
            Some((
                "PrintRelay 已离线".to_owned(),
                "服务器没有响应，请确认服务器已启动。".to_owned()
            )),
            "in words, not the raw error"
        );
        assert_eq!(
            notice_for(&AgentEvent::Paused(true), &ConnectionState::Idle, Lang::En),
            None
        );
    }
}
