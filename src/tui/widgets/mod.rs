//! Widgets shared by the views.

pub mod chrome;
pub mod graph;
pub mod metric_graph;
pub mod metric_table;
pub mod sensor_panel;
pub mod tile_field;
pub mod tiles;
pub mod wrap;
