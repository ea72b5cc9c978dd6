//! What an IT department sets for a fleet of PCs, as the agent meets it on Linux: presets
//! (`defaults.json`, the starting values of a fresh install) and policy (`policy.json`,
//! values the user cannot change, over the command line too). Release builds read them
//! from `/etc/printrelay/`; these debug builds from `PRINTRELAY_ADMIN_DIR`, so tests do not
//! touch the machine's own. The Windows registry's policy is tested under Wine
//! (windows_desktop.rs).

use std::ffi::OsStr;
use std::time::Duration;

use anyhow::Result;
use printrelay_e2e::{
    unique_marker, wait_until_listed, workspace_binary, Agent, AgentHome, Hub, RAW_QUEUE,
};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(30);

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_lowercase()
}

#[tokio::test]
async fn the_policy_wins_over_the_command_line_and_names_each_pc_by_its_hostname() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start_with(
        &db.path().join("hub.db"),
        2_000,
        1_000,
        &["--agent-token", "fleet-token-1"],
    )
    .await?;
    let admin = tempfile::tempdir()?;
    let suffix = unique_marker("fleet");
    std::fs::write(
        admin.path().join("policy.json"),
        serde_json::to_vec(&json!({
            "serverUrl": hub.url(),
            "clientId": format!("{{hostname}}-{suffix}"),
            "token": "fleet-token-1",
            "colour": "blue",
        }))?,
    )?;
    let home = AgentHome::new()?;
    // What a user (or a stale shortcut) passes is overruled.
    let env: [(&str, &OsStr); 1] = [("PRINTRELAY_ADMIN_DIR", admin.path().as_os_str())];
    let mut agent = Agent::start_in_env(
        &home,
        "http://127.0.0.1:1",
        "users-own-id",
        RAW_QUEUE,
        &[],
        &env,
    )
    .await?;
    let warning = agent
        .wait_for(LIMIT, "a warning about the unknown policy value", |e| {
            e["type"] == "warning" && e["payload"]["code"] == "admin_setting_unusable"
        })
        .await?;
    assert!(
        warning["payload"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("colour")),
        "{warning}"
    );
    agent.wait_for_state("connected", LIMIT).await?;
    let client_id = format!("{}-{suffix}", hostname());
    wait_until_listed(&hub.url(), &client_id, LIMIT).await?;

    // How IT checks the PC: what is in force, what the policy fixed; never the token.
    let out = std::process::Command::new(workspace_binary("printrelay-agent")?)
        .args(["status", "--json"])
        .env("PRINTRELAY_CONFIG_DIR", home.path().join("config"))
        .env("PRINTRELAY_DATA_DIR", home.path().join("data"))
        .env("PRINTRELAY_ADMIN_DIR", admin.path())
        .env_remove("PRINTRELAY_TOKEN")
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("fleet-token-1"),
        "the token is shown: {text}"
    );
    let report: Value = serde_json::from_str(&text)?;
    assert_eq!(report["clientId"], client_id.as_str(), "{report}");
    assert_eq!(report["serverUrl"], hub.url().as_str(), "{report}");
    assert_eq!(report["tokenSet"], true, "{report}");
    assert_eq!(
        report["locked"],
        json!(["clientId", "serverUrl", "token"]),
        "{report}"
    );
    assert_eq!(
        report["lastConnection"]["event"]["state"], "connected",
        "{report}"
    );
    Ok(())
}

#[tokio::test]
async fn presets_start_a_fresh_install_and_then_the_users_file_is_theirs() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start_with(
        &db.path().join("hub.db"),
        2_000,
        1_000,
        &["--agent-token", "preset-token-1"],
    )
    .await?;
    let admin = tempfile::tempdir()?;
    let presets = admin.path().join("defaults.json");
    std::fs::write(
        &presets,
        serde_json::to_vec(&json!({"token": "preset-token-1", "language": "zh-CN"}))?,
    )?;
    let env: [(&str, &OsStr); 1] = [("PRINTRELAY_ADMIN_DIR", admin.path().as_os_str())];
    let home = AgentHome::new()?;
    let client_id = unique_marker("preset");
    let mut agent =
        Agent::start_in_env(&home, &hub.url(), &client_id, RAW_QUEUE, &[], &env).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    drop(agent);
    let file: Value =
        serde_json::from_slice(&std::fs::read(home.path().join("config/settings.json"))?)?;
    assert_eq!(file["token"], "preset-token-1", "{file}");
    assert_eq!(file["language"], "zh-CN", "{file}");

    // New presets do not rewrite a user's settings: the PC keeps its token.
    std::fs::write(
        &presets,
        serde_json::to_vec(&json!({"token": "another-token"}))?,
    )?;
    let mut agent =
        Agent::start_in_env(&home, &hub.url(), &client_id, RAW_QUEUE, &[], &env).await?;
    agent.wait_for_state("connected", LIMIT).await?;
    Ok(())
}
