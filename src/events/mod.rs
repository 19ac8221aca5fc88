//! Events: the nodes' log messages, grouped by the template they were written from.

pub mod file;
pub mod framing;
pub mod mask;
pub mod miner;
pub mod receiver;
pub mod store;
pub mod syslog;
