//! Job control: the central-manager protocol (docs/protocol.md), its codec, the reference
//! manager (`gantry cm`) and node agent (`gantry agent`), and the console's client.

pub mod codec;
pub mod job;
pub mod proto;
#[cfg(test)]
mod proto_tests;
