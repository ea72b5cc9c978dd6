//! Cancelling and printing again from the API: a cancel order goes through the writer;
//! jobs an agent holds are asked of it (`cancel_job` with an ack) now if it is online,
//! else when it registers again. Runs on the caller's task; asks run on tasks of their own.

use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::Hub;
use crate::store::{CancelOrder, CancelOutcome, StoreError};
use crate::writer::{Pending, Submitted};

impl Hub {
    /// Cancels `job_id`: at the hub when it waits there, else by asking its agent.
    pub async fn cancel(&self, job_id: &str) -> Result<CancelOutcome, StoreError> {
        let outcome = self.order_cancel(job_id, false).await?;
        if let CancelOutcome::Requested { client_id, .. } = &outcome {
            self.ask_cancels(client_id);
        }
        Ok(outcome)
    }

    async fn order_cancel(
        &self,
        job_id: &str,
        agent_lacks_it: bool,
    ) -> Result<CancelOutcome, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.enqueue(Pending::Cancel {
            order: CancelOrder {
                job_id: job_id.to_owned(),
                agent_lacks_it,
            },
            answer: Some(answer),
        });
        answered.await.unwrap_or(Err(StoreError::WriterStopped))
    }

    /// Sends `client_id`'s agent a `cancel_job` for each job someone asked to cancel that
    /// it still holds (again after a reconnect: the agent answers a repeat harmlessly).
    /// Only PrintRelay agents (`protocol: 1`) know the event.
    pub(super) fn ask_cancels(&self, client_id: &str) {
        let Some(binding) = self.registry.binding(client_id).filter(|b| b.v1) else {
            return;
        };
        let hub = self.clone();
        let client_id = client_id.to_owned();
        tokio::spawn(async move {
            let requests = hub
                .read(move |store| store.cancel_requests(&client_id))
                .await;
            let requests = match requests {
                Ok(requests) => requests,
                Err(error) => {
                    tracing::error!(%error, "cannot read the jobs to cancel");
                    return;
                }
            };
            for job_id in requests {
                let asked = binding.socket.emit_with_ack::<_, Value>(
                    printrelay_protocol::events::CANCEL_JOB,
                    &json!({ "jobId": job_id }),
                );
                let Ok(answer) = asked else {
                    // The socket closed or is full: asked again on the next registration.
                    return;
                };
                let hub = hub.clone();
                tokio::spawn(async move {
                    let agent_lacks_it = answer.await.is_ok_and(|answer| {
                        answer["ok"] == false && answer["error"]["code"] == "unknown_job"
                    });
                    if agent_lacks_it {
                        if let Err(error) = hub.order_cancel(&job_id, true).await {
                            tracing::error!(%error, job = %job_id, "cannot cancel a job at the hub");
                        }
                    }
                });
            }
        });
    }

    /// Queues a new job with `job_id`'s client and content (without its expiry, which may
    /// have passed); `None` when there is no such job.
    pub async fn reprint(&self, job_id: &str) -> Result<Option<(String, Submitted)>, StoreError> {
        let id = job_id.to_owned();
        let Some((client_id, mut payload)) = self.read(move |store| store.job_payload(&id)).await?
        else {
            return Ok(None);
        };
        let new_id = uuid::Uuid::new_v4().to_string();
        if let Some(fields) = payload.as_object_mut() {
            fields.insert("jobId".into(), Value::String(new_id.clone()));
            fields.remove("expiresAt");
            fields.remove("createdAt");
        }
        let submitted = self.submit(&new_id, &client_id, &payload, None).await?;
        Ok(Some((new_id, submitted)))
    }
}
