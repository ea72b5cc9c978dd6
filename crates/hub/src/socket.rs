//! Socket.IO handlers: register, client_info, job_status, heartbeat, disconnect.
//! They run on socketioxide's tasks and only touch the store briefly.

use std::sync::Arc;

use printrelay_protocol::{events, ClientInfo, Heartbeat, HeartbeatAck, Registered};
use serde_json::{json, Value};
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;

use socketioxide::handler::ConnectHandler;

use crate::auth::{AgentAuth, Tokens};
use crate::hub::Hub;
use printrelay_protocol::now_ms;

/// Installs the handlers of the default namespace; handshakes without a valid agent
/// token (when tokens are configured) are refused with CONNECT_ERROR "invalid token".
///
/// The event handlers are installed in the middleware, which socketioxide awaits before
/// it sends CONNECT; its connect handler runs on a spawned task, and events an agent
/// sends right after CONNECT (`register`) would race with it and be lost.
pub fn attach(io: &SocketIo, hub: Hub, tokens: Tokens) {
    let tokens = Arc::new(tokens);
    let handler = async |_socket: SocketRef| {};
    let middleware = async move |socket: SocketRef, Data::<Value>(auth): Data<Value>| {
        let proved = tokens.check_agent(&auth).inspect_err(|_| {
            tracing::warn!(sid = %socket.id, client = %auth["clientId"], "agent refused: invalid token");
        })?;
        on_connect(
            &socket,
            &hub,
            Access {
                tokens: Arc::clone(&tokens),
                proved,
                v1: auth["protocol"] == 1,
            },
        );
        Ok::<(), crate::auth::InvalidToken>(())
    };
    io.ns("/", handler.with(middleware));
}

/// The tokens, what one socket proved in its handshake, and whether it speaks protocol 1.
#[derive(Clone)]
struct Access {
    tokens: Arc<Tokens>,
    proved: AgentAuth,
    v1: bool,
}

fn on_connect(socket: &SocketRef, hub: &Hub, access: Access) {
    tracing::debug!(sid = %socket.id, "socket connected");
    let h = hub.clone();
    let a = access.clone();
    socket.on(
        events::REGISTER,
        async move |socket: SocketRef, Data::<Value>(id)| on_register(socket, &id, &h, &a).await,
    );
    let h = hub.clone();
    let a = access.clone();
    socket.on(
        events::CLIENT_INFO,
        async move |socket: SocketRef, Data::<Value>(info)| {
            let info = match serde_json::from_value::<ClientInfo>(info) {
                Ok(info) => info,
                Err(error) => {
                    tracing::warn!(sid = %socket.id, %error, "ignored a client_info not in the protocol's shape");
                    return;
                }
            };
            // Handlers run concurrently: `register` may not be bound yet, so fall back
            // to the id the agent states in the payload.
            let client_id = h
                .client_of(&socket.id.to_string())
                .or_else(|| Some(info.client_id.clone()))
                .filter(|id| a.tokens.may_register(&a.proved, id));
            if let Some(client_id) = client_id {
                h.client_info(&client_id, &info);
            }
        },
    );
    let h = hub.clone();
    let a = access.clone();
    socket.on(
        events::JOB_STATUS,
        async move |Data::<Value>(status), ack: AckSender| {
            // Only the client a job is for (as far as its token proves) may report on it.
            let job_id = status["jobId"].as_str().unwrap_or_default();
            let owner = h.job_client(job_id).await;
            match owner {
                Ok(Some(owner)) if !a.tokens.may_register(&a.proved, &owner) => {
                    tracing::warn!(job = %job_id, client = %owner, "status refused: the token is not this client's");
                    let _ = ack.send(&json!({"ok": false, "error": {
                        "code": "forbidden", "message": "this job is another client's"}}));
                }
                Ok(_) => h.record_status(status, Some(ack)),
                // Not acked: the agent sends it again.
                Err(error) => tracing::error!(%error, "cannot read a job"),
            }
        },
    );
    let h = hub.clone();
    socket.on(
        events::HEARTBEAT,
        async move |socket: SocketRef, Data::<Value>(data), ack: AckSender| {
            let Ok(beat) = serde_json::from_value::<Heartbeat>(data) else {
                return;
            };
            let _ = ack.send(&HeartbeatAck {
                at: beat.at,
                server_time: now_ms(),
            });
            h.heartbeat(&socket.id.to_string(), beat.rtt_ms);
        },
    );
    let h = hub.clone();
    socket.on_disconnect(async move |socket: SocketRef| {
        h.socket_closed(&socket.id.to_string());
    });
}

/// Makes a request's head own its bytes. hyper parses the URI and header values as
/// slices of the connection's read buffer (16 KiB), and engineioxide keeps the head of
/// every Socket.IO session for the session's life: without the copy, each connected agent
/// holds that whole buffer. Applied outside the Socket.IO layer.
pub async fn own_request_head(mut request: axum::extract::Request) -> axum::extract::Request {
    if let Ok(uri) = request.uri().to_string().parse::<axum::http::Uri>() {
        // The router keeps a copy of the URI as it came, a slice of that buffer too.
        if let Some(original) = request
            .extensions_mut()
            .get_mut::<axum::extract::OriginalUri>()
        {
            original.0 = uri.clone();
        }
        *request.uri_mut() = uri;
    }
    for value in request.headers_mut().values_mut() {
        if let Ok(copy) = axum::http::HeaderValue::from_bytes(value.as_bytes()) {
            *value = copy;
        }
    }
    request
}

async fn on_register(socket: SocketRef, client_id: &Value, hub: &Hub, access: &Access) {
    // The original protocol sends the bare id string; anything else is ignored.
    let Some(client_id) = client_id
        .as_str()
        .filter(|id| !id.is_empty() && id.chars().count() <= 128)
    else {
        return;
    };
    if !access.tokens.may_register(&access.proved, client_id) {
        tracing::warn!(sid = %socket.id, client = %client_id, "register refused: the token is not this client's");
        let _ = socket.disconnect();
        return;
    }
    hub.register(client_id, &socket, access.v1);
    let queued = hub.pending(client_id).await.unwrap_or_else(|error| {
        tracing::error!(%error, "cannot count queued jobs");
        0
    });
    let _ = socket.emit(
        events::REGISTERED,
        &Registered {
            client_id: client_id.to_owned(),
            server_time: now_ms(),
            queued,
        },
    );
    hub.deliver(client_id);
}

#[cfg(test)]
mod tests {
    use axum::extract::{OriginalUri, Request};
    use axum::http::{HeaderValue, Uri};

    use super::*;

    /// After the copy, nothing of the head points into the buffer it was parsed from.
    #[tokio::test]
    async fn the_request_head_no_longer_borrows_the_read_buffer() {
        let buffer = axum::body::Bytes::from(
            "/socket.io/?EIO=4&transport=websocket dGhlIHNhbXBsZSBub25jZQ==".to_owned(),
        );
        let within = |bytes: &[u8]| buffer.as_ptr_range().contains(&bytes.as_ptr());
        let uri = Uri::from_maybe_shared(buffer.slice(..37)).expect("uri");
        let key = HeaderValue::from_maybe_shared(buffer.slice(38..)).expect("header");
        let mut request = Request::new(axum::body::Body::empty());
        *request.uri_mut() = uri.clone();
        request.extensions_mut().insert(OriginalUri(uri));
        request.headers_mut().insert("sec-websocket-key", key);
        assert!(
            within(request.uri().path().as_bytes()),
            "the test's premise"
        );

        let request = own_request_head(request).await;
        let original = &request.extensions().get::<OriginalUri>().expect("kept").0;
        let value = &request.headers()["sec-websocket-key"];
        assert_eq!(request.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(original, request.uri());
        assert_eq!(value, "dGhlIHNhbXBsZSBub25jZQ==");
        for bytes in [
            request.uri().path().as_bytes(),
            original.path().as_bytes(),
            value.as_bytes(),
        ] {
            assert!(!within(bytes), "still borrowed: {bytes:?}");
        }
    }
}
