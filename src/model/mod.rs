//! The data model: grids, clusters, hosts and metrics as Ganglia reports them. Everything here
//! is plain immutable data once built; readers share it through `Arc`.

mod cluster;
mod grid;
mod host;
mod metric;
mod summary;

pub use cluster::Cluster;
pub use grid::{Document, Grid, Item, Origin};
pub use host::{Host, host_is_up};
pub use metric::{Metric, MetricMeta, MetricType, Slope, decimals_of, parse_number};
pub use summary::{MetricSummary, Ratio, Summary};
