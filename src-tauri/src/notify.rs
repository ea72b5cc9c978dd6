//! Desktop notifications for what needs a person: a job that failed, a connection that
//! gave up. Decided from agent events on the tray process' event task.

use printrelay_agent::connection::ConnectionState;
use printrelay_agent::jobs::JobState;
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

/// The notification `event` deserves, if any.
pub fn notice_for(event: &AgentEvent, lang: Lang) -> Option<Notice> {
    match event {
        AgentEvent::Job(job) if matches!(job.state, JobState::Failed | JobState::Rejected) => {
            let reason = job.error.as_ref().map_or("", |e| e.message.as_str());
            let what = if job.title.is_empty() {
                &job.job_id
            } else {
                &job.title
            };
            Some(Notice {
                title: lang.text(Text::JobFailed).to_owned(),
                body: format!("{what}: {reason}"),
            })
        }
        AgentEvent::Connection(ConnectionState::GaveUp {
            attempts,
            last_error,
        }) => Some(Notice {
            title: lang.text(Text::GaveUp).to_owned(),
            body: format!("{last_error} ({attempts}×)"),
        }),
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
    use printrelay_agent::jobs::JobRecord;
    use printrelay_agent::protocol::{ErrorCode, JobError};

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
        }
    }

    #[test]
    fn failed_jobs_and_giving_up_notify_nothing_else_does() {
        let failed = notice_for(&AgentEvent::Job(job(JobState::Failed)), Lang::En);
        assert_eq!(
            failed,
            Some(Notice {
                title: "Print job failed".into(),
                body: "Invoice 7: no printer \"X\"".into()
            })
        );
        assert_eq!(
            notice_for(&AgentEvent::Job(job(JobState::Completed)), Lang::En),
            None
        );
        let gave_up = AgentEvent::Connection(ConnectionState::GaveUp {
            attempts: 5,
            last_error: "refused".into(),
        });
        assert_eq!(
            notice_for(&gave_up, Lang::ZhCn).map(|n| n.title),
            Some("PrintRelay 已离线".to_owned())
        );
        assert_eq!(notice_for(&AgentEvent::Paused(true), Lang::En), None);
    }
}
