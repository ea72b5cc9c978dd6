//! Printing one job on the worker task: read back from the store, the printer chosen,
//! the document fetched if it is a URL, handed to the spooler in `spawn_blocking`.

use super::*;

impl Pipeline {
    /// Prints one job, read back from the store, or gives it back when it has to wait
    /// (see [`Printed`]).
    pub(super) async fn print(&self, mut record: JobRecord) -> Printed {
        let id = record.job_id.clone();
        let mut job = match self.store.call(move |s| s.load_job(&id)).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                let error = JobError::new(
                    ErrorCode::PrintFailed,
                    "the stored document of the job could not be read back",
                );
                self.finish(record, JobState::Failed, Some(error)).await;
                return Printed::Done;
            }
            Err(error) => {
                tracing::error!(%error, "cannot read a job from the store; trying again later");
                return Printed::Busy(record, format!("cannot read the job: {error}"));
            }
        };
        if job
            .expires_at
            .is_some_and(|t| t <= time::OffsetDateTime::now_utc())
        {
            let error = JobError::new(
                ErrorCode::Expired,
                "the job expired before it could be printed",
            );
            self.finish(record, JobState::Expired, Some(error)).await;
            return Printed::Done;
        }
        let (selected, allow_choice, mut render, fetch_policy) = {
            let settings = self.settings.borrow();
            (
                settings.printer.clone(),
                settings.allow_server_printer_choice,
                crate::render::RenderSettings {
                    timeout: std::time::Duration::from_secs(settings.render_timeout_secs),
                    browser: settings.html_renderer.clone(),
                    max_bytes: settings.max_job_bytes,
                    paper: crate::render::geometry::A4_MM,
                },
                crate::fetch::FetchPolicy::new(
                    &settings.servers().unwrap_or_default(),
                    &settings.fetch_allowed_hosts,
                )
                .with_route(settings.ca_file(), settings.proxy().unwrap_or_default()),
            )
        };
        let allow_choice = allow_choice || job.origin == crate::protocol::Origin::Local;
        let wanted = match choose_printer(job.printer.as_deref(), selected.as_deref(), allow_choice)
        {
            Ok(wanted) => wanted,
            Err(error) => {
                self.finish(record, JobState::Failed, Some(error)).await;
                return Printed::Done;
            }
        };
        let backend = Arc::clone(&self.backend);
        let printer = tokio::task::spawn_blocking(move || {
            resolve_printer(&backend.printers(), wanted.as_deref())
        })
        .await
        .unwrap_or(Err(PrintError::Spooler("printer lookup failed".into())));
        let printer = match printer {
            Ok(printer) => printer.system_name,
            Err(error) => {
                self.finish(record, JobState::Failed, Some(print_error(&error)))
                    .await;
                return Printed::Done;
            }
        };
        let needs_work = matches!(
            job.document,
            Document::Remote { .. } | Document::Html(_) | Document::Image(_)
        );
        let html = matches!(
            job.document,
            Document::Html(_)
                | Document::Remote {
                    kind: crate::protocol::RemoteKind::Html,
                    ..
                }
        );
        if html {
            // The page of an HTML job whose CSS names none: the printer's default paper
            // (asked of the spooler only for HTML; nothing else takes the printer's paper).
            let backend = Arc::clone(&self.backend);
            let queue = printer.clone();
            if let Ok(Some(paper)) =
                tokio::task::spawn_blocking(move || backend.default_paper_mm(&queue)).await
            {
                render.paper = paper;
            }
        }
        if needs_work {
            let document = std::mem::replace(&mut job.document, Document::Raw(Vec::new()));
            match crate::render::prepare(document, &job.options, &render, &fetch_policy).await {
                Ok(document) => job.document = document,
                Err(error) => {
                    self.finish(record, JobState::Failed, Some(error)).await;
                    return Printed::Done;
                }
            }
        }
        if self.in_spooler.count(&printer) >= MAX_IN_SPOOLER {
            return Printed::QueueFull(record);
        }
        let started = {
            let (id, queue) = (job.job_id.clone(), printer.clone());
            self.store
                .call(move |s| s.mark_submit_started(&id, &queue, now_ms()))
                .await
        };
        if let Err(error) = started {
            // Without the mark a crash could print it twice: not now, but again later like
            // a busy spooler's job (it fails visibly if the store stays unwritable).
            tracing::error!(%error, "cannot store the submit mark; trying again later");
            return Printed::Busy(record, format!("cannot store the job: {error}"));
        }
        let backend = Arc::clone(&self.backend);
        let queue = printer.clone();
        let submitted = tokio::task::spawn_blocking(move || {
            backend.submit(Submission {
                printer: &queue,
                document_name: &document_name(&job.job_id),
                document: &job.document,
                copies: job.copies,
                options: &job.options,
            })
        })
        .await;
        record.printer = Some(printer);
        match submitted {
            Ok(Ok(spooler_id)) => {
                record.spooler_job_id = Some(spooler_id);
                record.state = JobState::Spooled;
                record.updated_at = now_ms();
                self.publish(&record).await;
                self.watch(record);
            }
            // Nothing reached the spooler: the same job goes again later.
            Ok(Err(PrintError::SpoolerBusy(reason))) => return Printed::Busy(record, reason),
            Ok(Err(error)) => {
                self.finish(record, JobState::Failed, Some(print_error(&error)))
                    .await;
            }
            Err(task) => {
                let error = PrintError::Spooler(format!("print task failed: {task}"));
                self.finish(record, JobState::Failed, Some(print_error(&error)))
                    .await;
            }
        }
        Printed::Done
    }
}

/// The queue a job goes to (`None`: the system default), per the documented rule:
/// a job naming a printer other than the user's choice fails with
/// `printer_not_allowed` unless the user lets servers choose.
pub(super) fn choose_printer(
    requested: Option<&str>,
    selected: Option<&str>,
    allow_choice: bool,
) -> Result<Option<String>, JobError> {
    match (requested, selected) {
        (Some(requested), _) if allow_choice => Ok(Some(requested.to_owned())),
        (Some(requested), Some(selected)) if requested == selected => Ok(Some(selected.to_owned())),
        (Some(requested), _) => Err(JobError::new(
            ErrorCode::PrinterNotAllowed,
            format!("the job asks for printer {requested:?}, but this PC lets servers use only its selected printer"),
        )),
        (None, selected) => Ok(selected.map(str::to_owned)),
    }
}

fn print_error(error: &PrintError) -> JobError {
    let code = match error {
        PrintError::PrinterNotFound(_) => ErrorCode::PrinterNotFound,
        PrintError::NoPrinter => ErrorCode::NoPrinter,
        PrintError::SpoolFile(_) | PrintError::Spooler(_) | PrintError::SpoolerBusy(_) => {
            ErrorCode::PrintFailed
        }
    };
    JobError::new(code, error.to_string())
}
