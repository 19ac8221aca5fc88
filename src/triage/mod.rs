//! Triage over a snapshot: what is wrong (problems) and what is hottest (top), across every
//! cluster. Pure functions of a snapshot, so the console, the command line and the benchmarks
//! share them.

pub mod events;
pub mod problems;
pub mod queue;
mod sensors;
pub mod top;

use crate::model::Host;

/// When a host counts as a problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Load as a fraction of the host's CPUs (load_one ÷ cpu_num) above which it is hot.
    pub load: f64,
    /// Fraction of memory used above which it is short of memory.
    pub memory: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            load: 1.0,
            memory: 0.9,
        }
    }
}

/// The fraction of a host's memory in use, as ganglia-web counts it (total less free, buffers
/// and cache); `None` unless the host reports both total and free.
pub fn mem_used_fraction(h: &Host) -> Option<f64> {
    let total = h.value("mem_total").filter(|t| *t > 0.0)?;
    let free = h.value("mem_free")?;
    let reclaimable = h.value("mem_buffers").unwrap_or(0.0) + h.value("mem_cached").unwrap_or(0.0);
    Some(((total - free - reclaimable) / total).clamp(0.0, 1.0))
}
