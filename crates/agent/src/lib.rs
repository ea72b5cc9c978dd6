//! PrintRelay print agent core: connects a PC to a dispatch server and prints its jobs
//! silently on a local printer. No GUI here: the desktop shell and the headless binary
//! are thin front ends over [`Agent`].

pub mod agent;
pub mod allocator;
pub mod connection;
pub mod events;
pub mod fetch;
pub mod jobs;
pub mod logging;
pub mod outbox;
pub mod paths;
pub mod printing;
pub mod private;
pub mod record;
pub mod settings;
pub mod signals;
pub mod skip;
pub mod store;
pub mod test_page;
pub mod warning;

/// The wire contract, shared with the hub (crate `printrelay-protocol`).
pub use printrelay_protocol as protocol;

pub use agent::{Agent, Snapshot};
pub use events::AgentEvent;
