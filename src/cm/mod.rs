//! Job control: the central-manager protocol (docs/protocol.md), its codec, the reference
//! manager (`gantry cm`) and node agent (`gantry agent`), and the console's client.

pub mod agent;
pub mod client;
pub mod codec;
pub mod job;
pub mod link;
pub mod manager;
pub mod proto;
#[cfg(test)]
mod proto_tests;
pub mod store;
pub mod users;
