//! The command line: one file per subcommand.

pub mod aggregator;
pub mod bmc;
pub mod cm;
pub mod console;
pub mod demo;
pub mod events;
pub mod export;
pub mod graph;
pub mod history_file;
pub mod info;
pub mod local_cm;
pub mod logout;
pub mod status;
pub mod status_bmcs;
pub mod status_managers;
pub mod takeback;
