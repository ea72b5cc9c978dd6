//! Who is on the other end (protocol sections 1 and 2): the `client_info` an agent sends
//! after `register`, the hub's `registered` and `replaced`, and the application
//! heartbeat with its ack.

use serde::{Deserialize, Serialize};

use crate::time::EpochMillis;

/// Agent -> server after every `register`: what this PC is and which printers it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    pub client_id: String,
    /// The protocol version the agent speaks ([`crate::PROTOCOL_VERSION`]).
    pub protocol: u32,
    pub app: AppInfo,
    pub host: HostInfo,
    pub printers: Vec<PrinterInfo>,
    /// The printer jobs go to when they name none (`None`: the system default).
    pub selected_printer: Option<String>,
}

/// The agent program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
}

/// The PC the agent runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: String,
    /// As Rust names it: `windows`, `macos`, `linux`.
    pub os: String,
    pub arch: String,
}

/// A local printer as the agent reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterInfo {
    /// Display name.
    pub name: String,
    /// Name of the queue in the OS spooler; what settings store and jobs name.
    pub system_name: String,
    /// True for the OS default printer.
    pub is_default: bool,
    /// What the spooler says of it now.
    pub state: PrinterState,
    /// The queue sends data to the device untouched (a CUPS raw queue): text goes as
    /// plain bytes there instead of being laid out as pages.
    #[serde(default)]
    pub raw_queue: bool,
}

/// Printer state as reported by the spooler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PrinterState {
    Ready,
    Printing,
    Paused,
    Offline,
    /// Also what a state this version does not know reads as.
    #[serde(other)]
    Unknown,
}

/// Server -> agent: the registration was taken; `queued` jobs follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    pub client_id: String,
    pub server_time: EpochMillis,
    /// Jobs waiting for this client, delivered next.
    pub queued: usize,
}

/// Server -> agent: another connection registered this client id and took over; the
/// server disconnects this one next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Replaced {
    pub client_id: String,
    pub reason: String,
    /// The newer connection's socket id.
    pub by: String,
    pub at: EpochMillis,
}

/// Agent -> server, with an ack: the application heartbeat that measures the round
/// trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Heartbeat {
    /// When the agent sent it; the ack echoes it.
    pub at: EpochMillis,
    /// The agent's last measured round trip (`None` before the first ack).
    pub rtt_ms: Option<u64>,
}

/// The server's ack of a [`Heartbeat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatAck {
    /// The heartbeat's own `at`.
    pub at: EpochMillis,
    pub server_time: EpochMillis,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn client_info_reads_what_older_and_newer_agents_send() {
        let info: ClientInfo = serde_json::from_value(json!({
            "clientId": "pc-1", "protocol": 1,
            "app": {"name": "printrelay-agent", "version": "0.1.0"},
            "host": {"hostname": "front-desk", "os": "windows", "arch": "x86_64"},
            "printers": [
                // Before rawQueue was sent.
                {"name": "Labels", "systemName": "ZD420", "isDefault": true, "state": "ready"},
                // A state a newer agent knows.
                {"name": "A4", "systemName": "A4", "isDefault": false, "state": "warmingUp", "rawQueue": true},
            ],
            "selectedPrinter": null,
        }))
        .expect("client_info");
        assert!(!info.printers[0].raw_queue);
        assert_eq!(info.printers[1].state, PrinterState::Unknown);
        assert_eq!(info.selected_printer, None);
        let written = serde_json::to_value(&info).expect("write");
        assert_eq!(written["printers"][0]["systemName"], "ZD420");
        assert_eq!(written["selectedPrinter"], serde_json::Value::Null);
    }

    #[test]
    fn a_client_info_without_its_id_is_refused() {
        let missing = json!({"protocol": 1, "app": {}, "host": {}, "printers": []});
        assert!(serde_json::from_value::<ClientInfo>(missing).is_err());
    }

    #[test]
    fn hub_answers_are_written_as_the_doc_names_them() {
        let registered = Registered {
            client_id: "pc-1".into(),
            server_time: 5,
            queued: 2,
        };
        assert_eq!(
            serde_json::to_value(registered).expect("write"),
            json!({"clientId": "pc-1", "serverTime": 5, "queued": 2})
        );
        let ack = HeartbeatAck {
            at: 1,
            server_time: 2,
        };
        assert_eq!(
            serde_json::to_value(ack).expect("write"),
            json!({"at": 1, "serverTime": 2})
        );
        let beat: Heartbeat =
            serde_json::from_value(json!({"at": 7, "rttMs": null})).expect("read");
        assert_eq!(beat.rtt_ms, None);
    }
}
