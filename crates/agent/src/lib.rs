//! PrintRelay print agent core: connects a PC to a dispatch server and prints its jobs
//! silently on a local printer. No GUI here: the desktop shell and the headless binary
//! are thin front ends over [`Agent`].
//!
//! A map, from the handle down to the helpers (no module imports one that imports it
//! back):
//!
//! - [`agent`]: [`Agent`], the handle front ends hold; starts the tasks below and answers
//!   commands (reconnect, pause, cancel, reprint, settings, history).
//! - [`connection`]: the supervisor task that owns the Socket.IO session: connect,
//!   heartbeat, reconnect with backoff, every state the UI shows.
//! - [`jobs`]: the worker task that stores and prints jobs in order, and a watcher task
//!   per print queue that follows spooled jobs to their end.
//! - [`outbox`]: the task that sends every stored status until the server has it.
//! - [`printing`]: the spooler behind a trait (CUPS, Windows' winspool and GDI, a fake);
//!   every call blocks and runs in `spawn_blocking`. [`fetch`]: documents by URL, from
//!   allowed hosts only. [`tls`]: certificates checked as the OS does, for both;
//!   [`proxy`]: the HTTP proxy they go through, if any.
//! - [`store`]: SQLite: jobs and their documents, the outbox, the connection log.
//!   [`record`]: a job as it is stored and shown.
//! - [`events`]: what front ends are told ([`AgentEvent`]); [`warning`]: what the user
//!   should know that is not one job's error.
//! - [`settings`], [`paths`], [`private`], [`logging`], [`signals`]: configuration,
//!   folders, 0600 files, logs, OS signals; [`admin`]: an administrator's presets and
//!   policy over the settings, [`status_report`] what `printrelay-agent status` says; [`winreg`] (Windows): the registry calls they and the
//!   proxy make. [`test_page`], [`allocator`], [`skip`],
//!   [`error_text`]: small helpers.
//! - [`protocol`]: the wire contract, shared with the hub (crate `printrelay-protocol`).

pub mod admin;
pub mod agent;
pub mod allocator;
pub mod connection;
pub mod error_text;
pub mod events;
pub mod fetch;
pub mod jobs;
pub mod logging;
pub mod outbox;
pub mod paths;
pub mod printing;
pub mod private;
pub mod proxy;
pub mod record;
pub mod render;
pub mod settings;
pub mod signals;
pub mod skip;
pub mod status_report;
pub mod store;
pub mod test_page;
pub mod tls;
pub mod warning;
#[cfg(windows)]
pub mod winreg;

pub use printrelay_protocol as protocol;

pub use agent::{Agent, Snapshot};
pub use events::AgentEvent;
