//! Hardware sensors from the nodes' baseboard controllers over Redfish (DMTF's REST API):
//! the documents as BMCs serve them (`model`), turned into readings named like gmond's metrics
//! with the BMC's thresholds and health (`reading`), and the client that fetches them from one
//! BMC (`client`, `poll`).

pub mod client;
pub mod metric;
pub mod model;
pub mod poll;
pub mod pool;
pub mod reading;

pub use reading::{Kind, Level, Reading, Thresholds};
