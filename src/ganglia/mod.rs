//! Ganglia's wire format: reading every document real gmond and gmetad 3.7.2 send, and
//! writing gmetad-compatible documents.

mod attrs;
mod builder;
mod damage;
pub mod dtd;
mod intern;
mod parse;
pub mod text;
pub mod write;

pub use damage::{Damage, DamageLog};
pub use intern::Interner;
pub use parse::{Limits, ParseError, Parsed, StreamParser, parse_bytes};
pub use write::{Flavor, XmlWriter, format_sum, gmond_document};
