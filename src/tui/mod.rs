//! The console: a full-screen terminal UI over the aggregator's snapshots.

pub mod action;
pub mod keymap;
pub mod keys;
pub mod theme;
