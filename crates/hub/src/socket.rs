//! Socket.IO handlers: register, client_info, job_status, heartbeat, disconnect.
//! They run on socketioxide's tasks and only touch the store briefly.

use std::sync::Arc;

use serde_json::{json, Value};
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;

use socketioxide::handler::ConnectHandler;

use crate::auth::{AgentAuth, Tokens};
use crate::hub::{now_ms, Hub};

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
            },
        );
        Ok::<(), crate::auth::InvalidToken>(())
    };
    io.ns("/", handler.with(middleware));
}

/// The tokens, and what one socket proved in its handshake.
#[derive(Clone)]
struct Access {
    tokens: Arc<Tokens>,
    proved: AgentAuth,
}

fn on_connect(socket: &SocketRef, hub: &Hub, access: Access) {
    tracing::debug!(sid = %socket.id, "socket connected");
    let h = hub.clone();
    let a = access.clone();
    socket.on(
        "register",
        async move |socket: SocketRef, Data::<Value>(id)| on_register(socket, &id, &h, &a),
    );
    let h = hub.clone();
    let a = access.clone();
    socket.on(
        "client_info",
        async move |socket: SocketRef, Data::<Value>(info)| {
            // Handlers run concurrently: `register` may not be bound yet, so fall back
            // to the id the agent states in the payload.
            let client_id = h
                .client_of(&socket.id.to_string())
                .or_else(|| info["clientId"].as_str().map(str::to_owned))
                .filter(|id| a.tokens.may_register(&a.proved, id));
            if let Some(client_id) = client_id {
                if let Err(error) = h.store().client_info(&client_id, &info, now_ms()) {
                    tracing::error!(%error, "cannot store client_info");
                }
            }
        },
    );
    let h = hub.clone();
    socket.on("job_status", async move |Data::<Value>(status)| {
        // Only the client a job is for (as far as its token proves) may report on it.
        let job_id = status["jobId"].as_str().unwrap_or_default();
        match h.store().job_client(job_id) {
            Ok(Some(owner)) if !access.tokens.may_register(&access.proved, &owner) => {
                tracing::warn!(job = %job_id, client = %owner, "status refused: the token is not this client's");
                return;
            }
            Err(error) => tracing::error!(%error, "cannot read a job"),
            _ => {}
        }
        if let Err(error) = h.record_status(&status) {
            tracing::error!(%error, "cannot store a job status");
        }
    });
    let h = hub.clone();
    socket.on(
        "heartbeat",
        async move |socket: SocketRef, Data::<Value>(data), ack: AckSender| {
            let _ = ack.send(&json!({"at": data["at"], "serverTime": now_ms()}));
            h.heartbeat(&socket.id.to_string(), data["rttMs"].as_u64());
        },
    );
    let h = hub.clone();
    socket.on_disconnect(async move |socket: SocketRef| {
        if let Err(error) = h.socket_closed(&socket.id.to_string()) {
            tracing::error!(%error, "cannot mark a client offline");
        }
    });
}

fn on_register(socket: SocketRef, client_id: &Value, hub: &Hub, access: &Access) {
    // The original protocol sends the bare id string; anything else is ignored.
    let Some(client_id) = client_id
        .as_str()
        .filter(|id| !id.is_empty() && id.len() <= 128)
    else {
        return;
    };
    if !access.tokens.may_register(&access.proved, client_id) {
        tracing::warn!(sid = %socket.id, client = %client_id, "register refused: the token is not this client's");
        let _ = socket.disconnect();
        return;
    }
    let socket = &socket;
    if let Err(error) = hub.client_online(client_id, socket) {
        tracing::error!(%error, "cannot store a registration");
        return;
    }
    let queued = hub.pending(client_id, &socket.id.to_string()).unwrap_or(0);
    let _ = socket.emit(
        "registered",
        &json!({"clientId": client_id, "serverTime": now_ms(), "queued": queued}),
    );
    let sent = hub.deliver(client_id).len();
    tracing::debug!(client = %client_id, sent, "jobs sent on registration");
}
