//! PrintRelay's wire contract (docs/protocol.md), typed once for the agent, the hub, the
//! desktop app and the tests. No I/O and no runtime: types, parsing and rules only.
//!
//! - [`events`]: the Socket.IO event names.
//! - [`client`]: who is connected: the agent's [`ClientInfo`] with its printers, the
//!   hub's [`Registered`] and [`Replaced`], the application [`Heartbeat`] and its ack.
//! - [`print`]: the `print` payload in its two shapes, validated into a [`PrintJob`] or a
//!   [`Rejected`] with a stable [`ErrorCode`].
//! - [`job`]: a job's states in their order ([`JobState`]), the `job_status` an agent
//!   sends ([`JobStatus`]), its answer to an acked `print` ([`PrintAck`]) and the error
//!   codes.
//! - [`time`]: epoch milliseconds, the wire's one time format besides RFC 3339 in
//!   `print`.

pub mod client;
pub mod job;
pub mod print;
pub mod time;

pub use client::{
    AppInfo, ClientInfo, Heartbeat, HeartbeatAck, HostInfo, PrinterInfo, PrinterState, Registered,
    Replaced,
};
pub use job::{ErrorCode, JobError, JobState, JobStatus, PrintAck, PrintAckState};
pub use print::*;
pub use time::{now_ms, EpochMillis};

/// Version of docs/protocol.md this crate describes.
pub const PROTOCOL_VERSION: u32 = 1;

/// Event names, in one place.
pub mod events {
    /// Agent -> server: the client id this socket prints for.
    pub const REGISTER: &str = "register";
    /// Server -> agent: the registration was taken.
    pub const REGISTERED: &str = "registered";
    /// Server -> agent: another socket registered the same client id and took over.
    pub const REPLACED: &str = "replaced";
    /// Agent -> server: printers, version, host.
    pub const CLIENT_INFO: &str = "client_info";
    /// Agent -> server: the application heartbeat.
    pub const HEARTBEAT: &str = "heartbeat";
    /// Server -> agent: a job.
    pub const PRINT: &str = "print";
    /// Agent -> server: a job's new state ([`crate::JobStatus`]).
    pub const JOB_STATUS: &str = "job_status";
    /// Server -> agent: send `client_info` again.
    pub const REFRESH_PRINTERS: &str = "refresh_printers";
    /// Server -> agent: cancel a job that has not printed yet.
    pub const CANCEL_JOB: &str = "cancel_job";
}
