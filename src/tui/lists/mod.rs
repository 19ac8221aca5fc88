//! Lists over the monitor, each a component: problems, the hottest hosts, log events.

pub mod event_detail;
pub mod events;
pub mod problems;
pub mod table;
pub mod top;
