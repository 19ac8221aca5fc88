//! Gantry: a keyboard-driven terminal operations console for compute clusters, with an
//! embedded Ganglia-compatible monitoring aggregator.

pub mod aggregator;
pub mod ganglia;
pub mod model;
