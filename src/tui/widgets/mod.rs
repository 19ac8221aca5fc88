//! Widgets shared by the views.

pub mod chrome;
pub mod graph;
pub mod tiles;
pub mod wrap;
