//! The original server's two endpoints, answered as it did (docs/protocol.md section 7):
//! `GET /getStatus` and `GET /startPrint`, both always 200 once past the token check.

use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::hub::Hub;

/// `/startPrint`'s answer when the job went to the client.
const ACCEPTED: &str = "参数已接收";
/// `/startPrint`'s answer for a known client that is offline (nothing is queued).
const OFFLINE: &str = "客户端离线";
/// `/startPrint`'s answer for a client that never registered.
const UNKNOWN: &str = "客户端不存在";

/// Every client ever registered, as `{"data": [{clientId, connected, socketId, lastSeen}]}`.
pub async fn get_status(State(hub): State<Hub>) -> Result<Json<Value>, ApiError> {
    let clients = hub.clients().await?;
    // `socketId` is always a string, as the original's: the last socket the client had,
    // or "" for one known only from a `client_info` that came before its `register`.
    let data: Vec<Value> = clients
        .iter()
        .map(|c| {
            json!({
                "clientId": c.client_id,
                "connected": c.connected,
                "socketId": c.socket_id.as_deref().unwrap_or_default(),
                "lastSeen": c.last_seen,
            })
        })
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// The original endpoint, with its three outcomes in the original's exact words (web
/// systems compare them); accepted jobs also get a `jobId`.
///
/// The query is read leniently, as express did: a missing `clientId` is an unknown
/// client, a missing `printData` an empty text, a repeated one counts once (the first).
pub async fn start_print(
    State(hub): State<Hub>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let first = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let client_id = first("clientId").unwrap_or_default();
    // Online first: a client that registered a moment ago is live in the registry before
    // the writer has stored it, and `/getStatus` already lists it. In a cluster, a client
    // connected to another node counts (that node delivers).
    if !hub.is_connected(client_id).await? {
        let id = client_id.to_owned();
        let known = hub.read(move |store| store.client(&id)).await?;
        let message = if known.is_some() { OFFLINE } else { UNKNOWN };
        return Ok(Json(json!({ "message": message })));
    }
    let job_id = format!("sp-{}", uuid::Uuid::new_v4());
    // `printData` for original clients, `jobId` so PrintRelay agents report and dedupe.
    let payload = json!({"jobId": job_id, "printData": first("printData").unwrap_or_default()});
    hub.submit(&job_id, client_id, &payload, None).await?;
    Ok(Json(json!({"message": ACCEPTED, "jobId": job_id})))
}
