//! Per-view state, derived from snapshots outside of drawing.

pub mod cluster;
pub mod grid;
pub mod host;
pub mod numbers;

pub use cluster::{ClusterState, Sort, Tile};
pub use grid::{GridRow, GridState};
pub use host::{HostState, KEY_METRICS};
pub use numbers::{ClusterNumbers, cluster_numbers, summary_numbers};
