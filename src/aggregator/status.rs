//! Per-source health as the console and `gantry status` show it.

use std::fmt;
use std::time::Duration;

/// How a source is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Not polled yet.
    #[default]
    Pending,
    /// The last poll read a clean document.
    Ok,
    /// The last poll read a document with damage, or only part of one.
    Degraded,
    /// The last poll got no usable answer from any address.
    Dead,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Pending => "pending",
            Health::Ok => "ok",
            Health::Degraded => "degraded",
            Health::Dead => "dead",
        })
    }
}

/// Status of one source after its last poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStatus {
    /// Health after the last poll.
    pub health: Health,
    /// The last problem in words, naming the address.
    pub last_error: Option<String>,
    /// Epoch seconds of the last poll attempt.
    pub last_attempt: Option<u64>,
    /// Epoch seconds of the last poll that brought data.
    pub last_success: Option<u64>,
    /// Time the last poll took.
    pub latency: Duration,
    /// Bytes received by the last poll.
    pub wire_bytes: u64,
    /// XML bytes of the last document (after decompression).
    pub xml_bytes: u64,
    /// The address that answered last.
    pub active_address: Option<String>,
    /// Polls that brought data.
    pub polls_ok: u64,
    /// Polls that did not.
    pub polls_failed: u64,
}
