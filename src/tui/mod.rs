//! The console: a full-screen terminal UI over the aggregator's snapshots.

pub mod action;
pub mod app;
pub mod bands;
pub mod command;
pub mod component;
pub mod export;
pub mod filter;
pub mod handle;
pub mod jobs;
pub mod keymap;
pub mod keys;
pub mod lists;
pub mod natural;
pub mod overlays;
pub mod run;
pub mod sensor_bands;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod views;
pub mod widgets;
