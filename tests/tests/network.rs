//! The agent on a PC whose network goes away and comes back: the agent runs in a network
//! namespace of its own, joined to this host by a veth pair, and the test pulls and
//! plugs that link as a cable or Wi-Fi would (needs root for `ip netns`).

use std::process::Command as StdCommand;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use printrelay_e2e::{
    skip::skip_or_fail, unique_marker, wait_until_listed, workspace_binary, Agent, AgentHome,
    OriginalServer, RAW_QUEUE,
};
use tokio::process::Command;

const LIMIT: Duration = Duration::from_secs(30);

/// A network namespace with one link to the host, removed on drop.
struct Office {
    name: String,
    /// The link's end inside the namespace.
    inside: String,
    host_ip: String,
    office_ip: String,
}

fn ip(args: &[&str]) -> Result<()> {
    let output = StdCommand::new("ip")
        .args(args)
        .output()
        .context("running ip")?;
    ensure!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

impl Office {
    /// Makes the namespace and its link: 10.201.N.1 on the host, 10.201.N.2 inside,
    /// with the default route through the host (the office's router).
    fn create() -> Result<Self> {
        let n = std::process::id() % 250 + 1;
        let office = Self {
            name: format!("printrelay-office-{n}"),
            inside: format!("pro{n}"),
            host_ip: format!("10.201.{n}.1"),
            office_ip: format!("10.201.{n}.2"),
        };
        let host_end = format!("prh{n}");
        // Left over from a run that was killed: start clean.
        let _ = ip(&["netns", "del", &office.name]);
        let _ = ip(&["link", "del", &host_end]);
        ip(&["netns", "add", &office.name])?;
        ip(&[
            "link",
            "add",
            &host_end,
            "type",
            "veth",
            "peer",
            "name",
            &office.inside,
        ])?;
        ip(&["link", "set", &office.inside, "netns", &office.name])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/30", office.host_ip),
            "dev",
            &host_end,
        ])?;
        ip(&["link", "set", &host_end, "up"])?;
        ip(&["-n", &office.name, "link", "set", "lo", "up"])?;
        ip(&[
            "-n",
            &office.name,
            "addr",
            "add",
            &format!("{}/30", office.office_ip),
            "dev",
            &office.inside,
        ])?;
        office.plug()?;
        Ok(office)
    }

    /// The link comes up and the router is learned again (as DHCP would).
    fn plug(&self) -> Result<()> {
        ip(&["-n", &self.name, "link", "set", &self.inside, "up"])?;
        ip(&[
            "-n",
            &self.name,
            "route",
            "replace",
            "default",
            "via",
            &self.host_ip,
        ])
    }

    /// The link goes down: no route leaves the namespace.
    fn unplug(&self) -> Result<()> {
        ip(&["-n", &self.name, "link", "set", &self.inside, "down"])
    }
}

impl Drop for Office {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the pair, and with it the host's.
        if let Err(error) = ip(&["netns", "del", &self.name]) {
            eprintln!("cannot remove network namespace {}: {error:#}", self.name);
        }
    }
}

/// Cable out long enough to give up, cable in: the agent reconnects at once, because it
/// noticed the network came back, not because a background retry came due (that one is
/// ten minutes away) or someone clicked Reconnect.
#[tokio::test]
async fn the_agent_reconnects_when_the_network_comes_back() -> Result<()> {
    let office = match Office::create() {
        Ok(office) => office,
        Err(error) => return skip_or_fail(&format!("no network namespace: {error:#}")),
    };
    let server = OriginalServer::start_with(0, 1_000, 1_000, &["--host", "0.0.0.0"]).await?;
    let url = format!("http://{}:{}", office.host_ip, server.port);
    let home = AgentHome::new()?;
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", &office.name])
        .arg(workspace_binary("printrelay-agent")?)
        .env("PRINTRELAY_CONFIG_DIR", home.path().join("config"))
        .env("PRINTRELAY_DATA_DIR", home.path().join("data"))
        .env_remove("PRINTRELAY_TOKEN");
    let client_id = unique_marker("office");
    let flags = [
        "--reconnect-attempts",
        "2",
        "--reconnect-delay-ms",
        "100",
        "--connect-timeout-ms",
        "1000",
        "--background-retry-ms",
        "600000",
    ];
    let mut agent = Agent::spawn(command, &url, &client_id, RAW_QUEUE, &flags).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;

    office.unplug()?;
    let gave_up = agent.wait_for_state("gaveUp", LIMIT).await?;
    let retry_at = gave_up["payload"]["retryAt"].as_u64().unwrap_or_default();
    ensure!(
        retry_at > printrelay_e2e::wall_ms() + 500_000,
        "the next background attempt is minutes away: {gave_up}"
    );

    office.plug()?;
    let plugged = tokio::time::Instant::now();
    agent.wait_for_state("connected", LIMIT).await?;
    eprintln!(
        "connected again {:.1} s after the link came back",
        plugged.elapsed().as_secs_f64()
    );
    wait_until_listed(&server.url(), &client_id, LIMIT).await?;
    Ok(())
}
