//! Configuration: where files live, what the config file may say, and errors that point at the
//! file, line and key at fault.

pub mod bmc;
mod error;
pub mod events;
mod file;
mod paths;

pub use error::{ConfigError, line_col};
pub use file::{
    AggregatorSection, CmSection, Config, ConfigFile, HistorySection, ManagerEntry, SourceEntry,
    parse_data_source,
};
pub use paths::{PathError, Paths};
