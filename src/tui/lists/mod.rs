//! Lists over the monitor, each a component: problems and the hottest hosts.

pub mod problems;
pub mod table;
pub mod top;
