//! The page's requests, answered by the agent: the job's own document from memory, any
//! other http(s) resource fetched under the fetch policy or refused, within a budget of
//! requests and bytes; and the page's other events (load, dialogs, a crash). Runs as a
//! task beside one render, ended with it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch, Semaphore};
use url::Url;

use super::cdp::{Cdp, Event};
use crate::fetch::FetchPolicy;
use crate::protocol::ErrorCode;

/// Requests one page may make besides its document; the rest fail.
const MAX_REQUESTS: usize = 500;
/// Resources fetched at once.
const PARALLEL_FETCHES: usize = 6;

/// How far the page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageState {
    Loading,
    /// Its `load` event fired: the document, its images and stylesheets are in.
    Loaded,
    /// Its renderer process died.
    Crashed,
}

/// The job's document, as the page's address serves it.
#[derive(Debug, Clone)]
pub struct Served {
    pub address: Url,
    pub html: Arc<String>,
}

/// What the network task answers with.
#[derive(Debug)]
pub struct Network {
    pub cdp: Cdp,
    pub session: String,
    pub served: Served,
    pub policy: FetchPolicy,
    /// Bytes all resources together may have.
    pub max_bytes: u64,
}

impl Network {
    /// Answers the page's events until the browser goes; `state` follows the page.
    pub async fn serve(self, mut events: mpsc::Receiver<Event>, state: watch::Sender<PageState>) {
        let shared = Arc::new(Shared {
            remaining: AtomicU64::new(self.max_bytes),
            requests: AtomicUsize::new(0),
            fetching: Semaphore::new(PARALLEL_FETCHES),
            network: self,
        });
        // Dropped with this task: fetches still running end with the render.
        let mut fetches = tokio::task::JoinSet::new();
        while let Some(event) = events.recv().await {
            match event.method.as_str() {
                "Fetch.requestPaused" => {
                    fetches.spawn(Arc::clone(&shared).answer(event.params));
                }
                "Page.loadEventFired"
                    if event.session.as_deref() == Some(&shared.network.session) =>
                {
                    state.send_replace(PageState::Loaded);
                }
                "Inspector.targetCrashed" | "Target.targetCrashed" => {
                    state.send_replace(PageState::Crashed);
                }
                // `alert()` and `confirm()` would hold the page's script forever.
                "Page.javascriptDialogOpening" => {
                    let (cdp, session) =
                        (shared.network.cdp.clone(), shared.network.session.clone());
                    fetches.spawn(async move {
                        let accept = json!({"accept": true});
                        let _ = cdp
                            .call(Some(&session), "Page.handleJavaScriptDialog", accept)
                            .await;
                    });
                }
                _ => {}
            }
            // Finished fetches are reaped as we go, so the set stays small.
            while fetches.try_join_next().is_some() {}
        }
    }
}

struct Shared {
    network: Network,
    remaining: AtomicU64,
    requests: AtomicUsize,
    fetching: Semaphore,
}

/// Chromium's reasons for a failed request.
const REFUSED: &str = "BlockedByClient";
const FAILED: &str = "Failed";

impl Shared {
    async fn answer(self: Arc<Self>, params: Value) {
        let Some(id) = params.get("requestId").and_then(Value::as_str) else {
            return;
        };
        let request = &params["request"];
        let method = request["method"].as_str().unwrap_or_default();
        let address = request["url"].as_str().and_then(|u| Url::parse(u).ok());
        let served = &self.network.served;
        let answer = match address {
            Some(mut address) => {
                address.set_fragment(None);
                if address == served.address {
                    Ok((
                        "text/html; charset=utf-8".to_owned(),
                        served.html.as_bytes().to_vec(),
                    ))
                } else if method != "GET" {
                    Err(REFUSED)
                } else {
                    self.fetch(&address).await
                }
            }
            None => Err(REFUSED),
        };
        let (method, params) = match answer {
            Ok((content_type, body)) => (
                "Fetch.fulfillRequest",
                json!({
                    "requestId": id,
                    "responseCode": 200,
                    "responseHeaders": [{"name": "Content-Type", "value": content_type}],
                    "body": base64::engine::general_purpose::STANDARD.encode(body),
                }),
            ),
            Err(reason) => (
                "Fetch.failRequest",
                json!({"requestId": id, "errorReason": reason}),
            ),
        };
        let network = &self.network;
        if let Err(error) = network
            .cdp
            .call(Some(&network.session), method, params)
            .await
        {
            tracing::debug!(%error, "the browser did not take a request's answer");
        }
    }

    /// A resource under the fetch policy, within the page's budget.
    async fn fetch(&self, address: &Url) -> Result<(String, Vec<u8>), &'static str> {
        let host = address.host_str().unwrap_or_default().to_owned();
        if self.requests.fetch_add(1, Ordering::Relaxed) >= MAX_REQUESTS {
            tracing::warn!(%host, "the page asks for more than {MAX_REQUESTS} resources; refused");
            return Err(REFUSED);
        }
        let Ok(_permit) = self.fetching.acquire().await else {
            return Err(FAILED);
        };
        let budget = self.remaining.load(Ordering::Relaxed);
        match crate::fetch::fetch_resource(address, budget, &self.network.policy).await {
            Ok(resource) => {
                let used = resource.body.len() as u64;
                // Several fetches may end at once: what they take together is bounded.
                if self
                    .remaining
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                        left.checked_sub(used)
                    })
                    .is_err()
                {
                    return Err(FAILED);
                }
                let content_type = resource
                    .content_type
                    .unwrap_or_else(|| "application/octet-stream".into());
                Ok((content_type, resource.body))
            }
            Err(error) => {
                // The fetch module logged the detail; the page goes on without it.
                tracing::info!(%host, code = ?error.code, "a resource of the page was not fetched");
                Err(if error.code == ErrorCode::FetchRefused {
                    REFUSED
                } else {
                    FAILED
                })
            }
        }
    }
}
