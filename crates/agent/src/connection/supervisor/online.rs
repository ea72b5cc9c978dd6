//! The supervisor while connected: serving one session (heartbeat watchdog, packets,
//! dropped frames, commands) until it ends. Runs on the supervisor task.

use super::*;

impl Supervisor {
    /// Runs an open session until it ends; registers first.
    pub(super) async fn serve(&mut self, mut session: Session) -> Ended {
        let mut acks = AckTable::default();
        self.kick_reason = None;
        self.assembly = None;
        let mut last_ping = Instant::now();
        let interval = Duration::from_millis(session.open.ping_interval);
        let grace = interval + Duration::from_millis(session.open.ping_timeout);
        self.heartbeat.send_replace(Heartbeat {
            last_ping_at: Some(now_ms()),
            ping_interval_ms: session.open.ping_interval,
            ping_timeout_ms: session.open.ping_timeout,
            dead_at: Some(now_ms() + grace.as_millis() as u64),
            rtt_ms: None,
        });

        let register = Value::String(self.config.client_id.clone());
        for (event, data) in [
            (crate::protocol::events::REGISTER, &register),
            (crate::protocol::events::CLIENT_INFO, &self.client_info),
        ] {
            if let Err(e) = session.send_event(event, data, None).await {
                return Ended::Lost(e);
            }
        }
        self.publish(ConnectionState::Connected {
            since: now_ms(),
            sid: session.sid.clone(),
            transport: session.transport(),
        });

        let ended = loop {
            tokio::select! {
                incoming = session.next() => match incoming {
                    Incoming::Packet(packet) => {
                        // Only a Socket.IO packet cuts attachments short (not a PING).
                        if matches!(packet, EnginePacket::Message(_)) {
                            self.end_incomplete_assembly().await;
                        }
                        match self.on_packet(&mut session, &mut acks, packet, &mut last_ping, grace).await {
                            Ok(()) => {}
                            Err(ended) => break ended,
                        }
                    }
                    Incoming::Garbage(detail) => {
                        if let Some(more) = self.garbage.admit(Instant::now()) {
                            tracing::warn!(%detail, unlogged_before = more, "ignored an undecodable frame (more this minute are counted, not logged)");
                        }
                    }
                    Incoming::Dropped(dropped) if self.assembly.is_some() => {
                        self.on_attachment(Part::Dropped(dropped.bytes)).await;
                    }
                    Incoming::Dropped(dropped) => self.on_dropped(dropped).await,
                    Incoming::Binary(bytes) => self.on_attachment(Part::Bytes(bytes)).await,
                    Incoming::Closed(reason) => break Ended::Lost(reason),
                },
                () = sleep_until(last_ping + grace) => {
                    break Ended::Lost(format!(
                        "no heartbeat from the server for {} ms",
                        grace.as_millis()
                    ));
                }
                command = self.commands.recv() => {
                    if let Some(next) = self.on_command_online(&mut session, &mut acks, command).await {
                        break next;
                    }
                }
            }
        };
        if matches!(ended, Ended::Command(_)) {
            session.close().await;
        }
        ended
    }

    /// One attachment of the binary event being put together; the event goes on once
    /// it has them all.
    async fn on_attachment(&mut self, part: Part) {
        let Some(assembly) = self.assembly.as_mut() else {
            tracing::debug!("ignored a binary frame no event announced");
            return;
        };
        assembly.push(part);
        if assembly.is_complete() {
            if let Some(assembly) = self.assembly.take() {
                let _ = self.events.send(assembly.finish()).await;
            }
        }
    }

    /// A packet came before the attachments announced: the event goes on with what
    /// arrived (a `print` missing its document is then refused by id, not lost).
    async fn end_incomplete_assembly(&mut self) {
        if let Some(assembly) = self.assembly.take() {
            tracing::warn!("a binary event's attachments were cut short by the next packet");
            let _ = self.events.send(assembly.finish()).await;
        }
    }

    /// A frame longer than the cap was read and thrown away: say so, and hand on what
    /// its start tells (a `print` and its job id), so the job is refused by id.
    async fn on_dropped(&mut self, dropped: Dropped) {
        let peeked = packet::peek_event(&dropped.head);
        if let Some(more) = self.garbage.admit(Instant::now()) {
            tracing::warn!(
                bytes = dropped.bytes,
                event = ?peeked.as_ref().map(|(name, _)| name),
                unlogged_before = more,
                "dropped a frame longer than the largest job allowed (setting maxJobBytes)"
            );
        }
        if let Some((name, job_id)) = peeked {
            let _ = self
                .events
                .send(ServerEvent {
                    name,
                    data: json!({ "jobId": job_id }),
                    attachments: Vec::new(),
                    dropped_bytes: Some(dropped.bytes),
                    // Dropped unread: an ack id it may have carried is not known.
                    ack: None,
                })
                .await;
        }
    }

    async fn on_packet(
        &mut self,
        session: &mut Session,
        acks: &mut AckTable,
        packet: EnginePacket,
        last_ping: &mut Instant,
        grace: Duration,
    ) -> Result<(), Ended> {
        match packet {
            EnginePacket::Ping => {
                *last_ping = Instant::now();
                session
                    .send(packet::PONG.into())
                    .await
                    .map_err(Ended::Lost)?;
                let at = now_ms();
                let rtt_ms = self.heartbeat.borrow().rtt_ms;
                self.heartbeat.send_replace(Heartbeat {
                    last_ping_at: Some(at),
                    ping_interval_ms: session.open.ping_interval,
                    ping_timeout_ms: session.open.ping_timeout,
                    dead_at: Some(at + grace.as_millis() as u64),
                    rtt_ms,
                });
                // The application-level heartbeat measures RTT where the server acks it.
                let id = acks.heartbeat(at);
                // The last round trip goes along, so the server can show it too.
                session
                    .send_event(
                        crate::protocol::events::HEARTBEAT,
                        &json!(crate::protocol::Heartbeat { at, rtt_ms }),
                        Some(id),
                    )
                    .await
                    .map_err(Ended::Lost)?;
            }
            EnginePacket::Close => return Err(Ended::Lost("the server closed the session".into())),
            EnginePacket::Message(SocketPacket::Event { name, data, ack_id }) => {
                let data = data.into_iter().next().unwrap_or(Value::Null);
                // The hub's event before it closes a connection whose id registered elsewhere.
                if name == REPLACED {
                    tracing::warn!(%data, "another connection registered this client id");
                    self.kick_reason = Some(REPLACED.into());
                }
                // Hand-off only: the wait is for room in the channel (the agent stores
                // jobs as they come, also while printing), never for work.
                let _ = self
                    .events
                    .send(ServerEvent {
                        name,
                        data,
                        attachments: Vec::new(),
                        dropped_bytes: None,
                        ack: server_ack(session, ack_id),
                    })
                    .await;
            }
            EnginePacket::Message(SocketPacket::BinaryEvent {
                name,
                data,
                attachments,
                ack_id,
            }) => {
                let data = data.into_iter().next().unwrap_or(Value::Null);
                let ack = server_ack(session, ack_id);
                let assembly =
                    Assembly::new(name, data, attachments, ack, self.config.max_frame_bytes);
                if assembly.is_complete() {
                    let _ = self.events.send(assembly.finish()).await;
                } else {
                    self.assembly = Some(assembly);
                }
            }
            EnginePacket::Message(
                SocketPacket::Ack { ack_id, data } | SocketPacket::BinaryAck { ack_id, data, .. },
            ) => {
                if let Some(sent_at) = acks.resolve(ack_id, data) {
                    let rtt = now_ms().saturating_sub(sent_at);
                    self.heartbeat.send_modify(|hb| hb.rtt_ms = Some(rtt));
                }
            }
            EnginePacket::Message(SocketPacket::Disconnect) => {
                // A hub that closes us because another connection took our client id says
                // so first (`replaced`); the UI puts either reason into words.
                let reason = self.kick_reason.take();
                return Err(Ended::Kicked(
                    reason.unwrap_or_else(|| "io server disconnect".into()),
                ));
            }
            EnginePacket::Message(other) => tracing::debug!(?other, "ignored packet"),
            EnginePacket::Open(_) | EnginePacket::Pong | EnginePacket::Noop => {}
        }
        Ok(())
    }

    async fn on_command_online(
        &mut self,
        session: &mut Session,
        acks: &mut AckTable,
        command: Option<Command>,
    ) -> Option<Ended> {
        let Some(command) = command else {
            return Some(Ended::Command(Next::Exit));
        };
        match command {
            Command::Reconnect => Some(Ended::Command(self.initial())),
            // A live connection that the change broke is found by the heartbeat.
            Command::Nudge => None,
            Command::Disconnect => Some(Ended::Command(Next::Park(ConnectionState::Stopped))),
            Command::Shutdown => Some(Ended::Command(Next::Exit)),
            Command::Configure(config) => {
                let changed = self.config.needs_reconnect(&config);
                self.config = *config;
                changed.then(|| Ended::Command(self.initial()))
            }
            Command::SetClientInfo(info) => {
                self.client_info = info;
                session
                    .send_event(
                        crate::protocol::events::CLIENT_INFO,
                        &self.client_info,
                        None,
                    )
                    .await
                    .err()
                    .map(Ended::Lost)
            }
            Command::Ack { ack, data } if ack.sid == session.sid => {
                session.send_ack(ack.id, &data).await.err().map(Ended::Lost)
            }
            Command::Ack { ack, .. } => {
                tracing::debug!(
                    ack_id = ack.id,
                    "no answer: the session that asked has ended"
                );
                None
            }
            Command::Emit {
                event,
                data,
                attachments,
                done,
            } => {
                let result = if attachments.is_empty() {
                    session.send_event(&event, &data, None).await
                } else {
                    session.send_binary_event(&event, &data, attachments).await
                };
                let lost = result.as_ref().err().cloned();
                let _ = done.send(result.map_err(|_| EmitError::NotConnected));
                lost.map(Ended::Lost)
            }
            Command::EmitWithAck { event, data, reply } => {
                let id = acks.register(reply);
                session
                    .send_event(&event, &data, Some(id))
                    .await
                    .err()
                    .map(Ended::Lost)
            }
        }
    }
}

/// The request for an answer to event `ack_id` of `session`, if it asked for one.
fn server_ack(session: &Session, ack_id: Option<u64>) -> Option<ServerAck> {
    ack_id.map(|id| ServerAck {
        sid: session.sid.clone(),
        id,
    })
}
