//! Events: the nodes' log messages, grouped by the template they were written from.

pub mod mask;
pub mod miner;
