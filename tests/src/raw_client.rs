//! A bare Socket.IO client over a websocket, for tests that must speak to a server the
//! way a hand-written or hostile peer would: register any id, read every event.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One connected Socket.IO client on the default namespace.
#[derive(Debug)]
pub struct RawClient {
    socket: Socket,
    /// The Socket.IO id the server gave it.
    pub sid: String,
}

impl RawClient {
    /// Connects to the server on loopback `port` with handshake `auth`.
    pub async fn connect(port: u16, auth: &Value) -> Result<Self> {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
        socket.send(Message::text(format!("40{auth}"))).await?;
        let limit = Duration::from_secs(30);
        loop {
            let frame = tokio::time::timeout(limit, socket.next())
                .await?
                .ok_or_else(|| anyhow!("closed during the handshake"))??;
            let Message::Text(text) = frame else { continue };
            // The server pings as soon as the transport opens, maybe before it answers
            // CONNECT: a ping left unanswered here closes the connection a timeout later.
            if text == "2" {
                socket.send(Message::text("3")).await?;
                continue;
            }
            if let Some(error) = text.strip_prefix("44") {
                bail!("refused: {error}");
            }
            if let Some(connect) = text.strip_prefix("40") {
                let connect: Value = serde_json::from_str(connect)?;
                let sid = connect["sid"]
                    .as_str()
                    .ok_or_else(|| anyhow!("no sid in {connect}"))?
                    .to_owned();
                return Ok(Self { socket, sid });
            }
        }
    }

    /// Emits `event` with one argument.
    pub async fn emit(&mut self, event: &str, data: &Value) -> Result<()> {
        let packet = serde_json::json!([event, data]);
        self.socket
            .send(Message::text(format!("42{packet}")))
            .await?;
        Ok(())
    }

    /// The next event `(name, first argument)`, answering pings meanwhile; `None` once the
    /// server disconnected this client or closed the connection.
    pub async fn next_event(&mut self, limit: Duration) -> Result<Option<(String, Value)>> {
        Ok(self
            .next_event_with_ack(limit)
            .await?
            .map(|(name, data, _)| (name, data)))
    }

    /// As [`RawClient::next_event`], with the ack id the server asked for an answer under.
    pub async fn next_event_with_ack(
        &mut self,
        limit: Duration,
    ) -> Result<Option<(String, Value, Option<u64>)>> {
        loop {
            let frame = match tokio::time::timeout(limit, self.socket.next()).await? {
                None | Some(Err(_)) => return Ok(None),
                Some(Ok(frame)) => frame,
            };
            let text = match frame {
                Message::Text(text) => text,
                Message::Close(_) => return Ok(None),
                _ => continue,
            };
            if text == "2" {
                // A pong that cannot be written meets a connection the server closed.
                if self.socket.send(Message::text("3")).await.is_err() {
                    return Ok(None);
                }
            } else if text.starts_with("41") {
                return Ok(None);
            } else if let Some(event) = text.strip_prefix("42") {
                let digits =
                    event.len() - event.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let ack = event[..digits].parse::<u64>().ok();
                let event: Value = serde_json::from_str(&event[digits..])?;
                let name = event[0].as_str().unwrap_or_default().to_owned();
                return Ok(Some((name, event[1].clone(), ack)));
            }
        }
    }

    /// Answers the server's event `ack` with `data`.
    pub async fn ack(&mut self, ack: u64, data: &Value) -> Result<()> {
        let packet = serde_json::json!([data]);
        self.socket
            .send(Message::text(format!("43{ack}{packet}")))
            .await?;
        Ok(())
    }

    /// Reads events until `name` arrives; its argument.
    pub async fn wait_for_event(&mut self, name: &str, limit: Duration) -> Result<Value> {
        while let Some((event, data)) = self.next_event(limit).await? {
            if event == name {
                return Ok(data);
            }
        }
        bail!("disconnected before '{name}'")
    }

    /// Reads events until the server ends the connection; the names seen.
    pub async fn until_closed(&mut self, limit: Duration) -> Result<Vec<String>> {
        let mut seen = Vec::new();
        while let Some((event, _)) = self.next_event(limit).await? {
            seen.push(event);
        }
        Ok(seen)
    }

    /// Closes the connection from this side.
    pub async fn close(mut self) -> Result<()> {
        self.socket.close(None).await?;
        Ok(())
    }
}
