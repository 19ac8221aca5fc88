//! `/status` on the interactive port: JSON about the aggregator and its sources (gmetad
//! answers the same path with JSON too).

use std::time::Duration;

use serde_json::json;

use crate::aggregator::Snapshot;

/// The status document.
pub fn status_json(snap: &Snapshot, uptime: Duration) -> String {
    let sources: Vec<_> = snap
        .sources
        .iter()
        .map(|s| {
            json!({
                "name": &*s.name,
                "health": s.status.health,
                "error": s.status.last_error,
                "address": s.status.active_address,
                "last_success": s.status.last_success,
                "latency_ms": s.status.latency.as_millis() as u64,
                "bytes": s.status.wire_bytes,
                "clusters": s.clusters.iter().map(|c| c.cluster.name.to_string()).collect::<Vec<_>>(),
                "polls": { "ok": s.status.polls_ok, "failed": s.status.polls_failed },
            })
        })
        .collect();
    let v = json!({
        "gridname": &*snap.grid_name,
        "version": env!("CARGO_PKG_VERSION"),
        "server": "gantry",
        "uptime": uptime.as_secs(),
        "localtime": snap.taken_at,
        "hosts": { "up": snap.summary.hosts_up, "down": snap.summary.hosts_down },
        "sources": sources,
        // The files this aggregator saves (history, events), and a failing disk.
        "saves": crate::durable::saves(),
    });
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into())
}
