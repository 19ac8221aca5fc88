//! The console: a full-screen terminal UI over the aggregator's snapshots.

pub mod action;
pub mod bands;
pub mod command;
pub mod filter;
pub mod keymap;
pub mod keys;
pub mod natural;
pub mod theme;
