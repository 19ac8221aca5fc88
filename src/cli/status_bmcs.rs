//! `gantry status`: the BMCs of every `[[bmc]]` table, polled once — counts by health, and
//! each one that is slow or failing with its error — as a table or JSON.

use std::io::Write;

use serde_json::json;

use crate::aggregator::{BmcHealth, Snapshot};

/// Whether every BMC answered (slow counts as answering).
pub fn all_ok(snap: &Snapshot) -> bool {
    snap.sensors
        .iter()
        .all(|sv| sv.error.is_none() && sv.bmcs.iter().all(|b| b.health != BmcHealth::Failing))
}

/// The BMCs as JSON: one object per table.
pub fn to_json(snap: &Snapshot) -> serde_json::Value {
    snap.sensors
        .iter()
        .map(|sv| {
            let c = sv.counts();
            json!({
                "cluster": &*sv.cluster,
                "error": sv.error,
                "ok": c.ok, "slow": c.slow, "degraded": c.degraded, "failing": c.failing,
                "bmcs": sv.bmcs.iter().map(|b| json!({
                    "host": &*b.host,
                    "url": &*b.url,
                    "health": b.health,
                    "error": b.error,
                    "sensors": b.readings.len(),
                    "requests": b.requests,
                    "took_ms": b.took.as_millis() as u64,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The BMCs as a table (nothing when none are configured).
pub fn write_table(snap: &Snapshot, out: &mut dyn Write) -> std::io::Result<()> {
    if snap.sensors.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<16} {:>5} {:>5} {:>5} {:>5} {:>8}  PROBLEM",
        "BMCS OF", "OK", "SLOW", "DEGR", "FAIL", "SENSORS"
    )?;
    for sv in &snap.sensors {
        let c = sv.counts();
        let sensors: usize = sv.bmcs.iter().map(|b| b.readings.len()).sum();
        writeln!(
            out,
            "{:<16} {:>5} {:>5} {:>5} {:>5} {sensors:>8}  {}",
            sv.cluster,
            c.ok,
            c.slow,
            c.degraded,
            c.failing,
            sv.error.as_deref().unwrap_or("")
        )?;
        for b in sv.bmcs.iter().filter(|b| b.health != BmcHealth::Ok) {
            writeln!(
                out,
                "  {:<14} {:<8} {}",
                b.host,
                b.health.word(),
                b.error
                    .clone()
                    .unwrap_or_else(|| format!("{} ms", b.took.as_millis()))
            )?;
        }
    }
    Ok(())
}
