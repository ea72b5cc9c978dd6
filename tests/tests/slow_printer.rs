//! A printer call that blocks for seconds must not cost the connection: the agent core
//! with a slow fake spooler, against the reference server pinging every 500 ms.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use printrelay_agent::connection::ConnectionState;
use printrelay_agent::printing::FakeBackend;
use printrelay_agent::protocol::JobState;
use printrelay_agent::settings::Settings;
use printrelay_agent::store::Store;
use printrelay_agent::{Agent, AgentEvent};
use printrelay_e2e::{unique_marker, wait_until_listed, OriginalServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_print_does_not_stall_the_heartbeat() -> Result<()> {
    let server = OriginalServer::start(500, 500).await?;
    let client_id = unique_marker("slow");
    let mut backend = FakeBackend::with_printer("Slow");
    // Longer than pingInterval + pingTimeout several times over.
    backend.submit_delay = Duration::from_secs(4);
    let settings = Settings {
        server_url: server.url(),
        client_id: client_id.clone(),
        printer: Some("Slow".into()),
        ..Settings::default()
    };
    let agent = Agent::start(settings, Arc::new(backend), Store::in_memory()?).await?;
    let mut events = agent.subscribe();
    let mut state = agent.connection().watch_state();
    tokio::time::timeout(
        Duration::from_secs(20),
        state.wait_for(ConnectionState::is_connected),
    )
    .await??;
    wait_until_listed(&server.url(), &client_id, Duration::from_secs(20)).await?;

    server.start_print(&client_id, "slow job").await?;
    // Pings the agent answered while the print call blocked, by the agent's own stamps.
    let mut pings_while_printing = std::collections::BTreeSet::new();
    let mut printing = false;
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await? {
                AgentEvent::Connection(state) if printing => {
                    return Ok::<_, anyhow::Error>(Err(state))
                }
                AgentEvent::Heartbeat(beat) if printing => {
                    pings_while_printing.extend(beat.last_ping_at);
                }
                AgentEvent::Job(job) if job.state == JobState::Received => printing = true,
                AgentEvent::Job(job) if job.state == JobState::Spooled => return Ok(Ok(job)),
                _ => {}
            }
        }
    })
    .await??;
    let spooled =
        outcome.map_err(|state| anyhow::anyhow!("connection changed while printing: {state:?}"))?;
    assert_eq!(spooled.printer.as_deref(), Some("Slow"));
    // The spooler call took `busy` by the agent's clock; a ping every 500 ms went
    // unanswered for none of it (else the connection would have changed above), and
    // pings kept arriving: at least half of those due (the rest is scheduling slack).
    let busy = spooled.updated_at.saturating_sub(spooled.received_at);
    let due = busy / 500;
    assert!(
        busy >= 4_000 && pings_while_printing.len() as u64 >= due / 2,
        "{} pings answered during a {busy} ms print at 500 ms pings",
        pings_while_printing.len()
    );
    assert!(agent.connection().state().is_connected());
    agent.shutdown().await;
    Ok(())
}
