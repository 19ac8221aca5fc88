//! Gantry: a keyboard-driven terminal operations console for compute clusters, with an
//! embedded Ganglia-compatible monitoring aggregator.

pub mod aggregator;
pub mod cli;
pub mod cm;
pub mod collector;
pub mod config;
pub mod durable;
pub mod events;
pub mod ganglia;
pub mod graph;
pub mod guard;
pub mod history;
pub mod jitter;
pub mod jobs;
pub mod listen;
pub mod logging;
pub mod model;
pub mod queue;
pub mod redfish;
pub mod server;
pub mod sim;
pub mod slurm;
pub mod triage;
pub mod tui;
pub mod units;
