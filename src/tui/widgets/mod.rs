//! Widgets shared by the views.

pub mod chrome;
pub mod tiles;
