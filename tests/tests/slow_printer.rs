//! A printer call that blocks for seconds must not cost the connection: the agent core
//! with a slow fake spooler, against the reference server pinging every 500 ms.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use printrelay_agent::connection::ConnectionState;
use printrelay_agent::jobs::JobState;
use printrelay_agent::printing::FakeBackend;
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
    let mut heartbeats_while_printing = 0;
    let mut printing = false;
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await? {
                AgentEvent::Connection(state) if printing => {
                    return Ok::<_, anyhow::Error>(Err(state))
                }
                AgentEvent::Heartbeat(_) if printing => heartbeats_while_printing += 1,
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
    assert!(
        heartbeats_while_printing >= 4,
        "only {heartbeats_while_printing} heartbeats during a 4 s print at 500 ms pings"
    );
    assert!(agent.connection().state().is_connected());
    agent.shutdown().await;
    Ok(())
}
