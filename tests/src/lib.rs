//! Helpers for end-to-end tests: real processes (the headless agent, the Node reference
//! server), real CUPS queues set up by `scripts/setup.sh test`, and waits on their output.
//!
//! Every wait is bounded and fails with what was seen, so a broken run says why.

pub mod chromedriver;
pub mod connect_proxy;
pub mod cutting_proxy;
pub mod desktop;
pub mod doc_server;
pub mod fixtures;
pub mod log_watch;
pub mod openapi;
pub mod postgres;
pub mod procs;
pub mod raw_client;
pub mod redis;
pub mod skip;
pub mod sse;
pub mod webdriver;

mod agent;
mod common;
mod display;
mod hub;
mod loadgen;
mod original_server;
mod process;
mod spool;

pub mod wine;
pub mod wine_desktop;

pub use agent::*;
pub use common::*;
pub use connect_proxy::ConnectProxy;
pub use display::*;
pub use hub::*;
pub use loadgen::*;
pub use original_server::*;
pub use process::*;
pub use spool::*;
pub use sse::EventStream;
