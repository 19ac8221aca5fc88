//! The embedded monitoring aggregator: a gmetad replacement that polls Ganglia sources with
//! failover, keeps their last good data, computes summaries, judges liveness and staleness,
//! records history, and publishes immutable snapshots.

mod address;
mod fetch;
mod history_sink;
mod local;
mod merge;
mod run;
mod sensors;
mod source;
mod status;
mod summary;
mod view;

pub use address::{AddressError, Endpoint, SourceAddress};
pub use fetch::{Failure, FetchReport, FetchSettings, Fetched, fetch, plain_io};
pub use run::{Aggregator, AggregatorConfig, now_epoch, poll_once, with_sensors};
pub use sensors::{BmcCounts, BmcFactory, BmcHealth, BmcView, SensorSource, SensorView};
pub use source::{HistorySink, SourceConfig, SourceKind, SourceState};
pub use status::{Health, SourceStatus};
pub use summary::{HostRatios, host_ratios, summarize_cluster, summarize_grid};
pub use view::{ClusterView, GridInfo, Liveness, Snapshot, SourceView, Stale};
