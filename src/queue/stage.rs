//! Between the job backends and the console: every queue report is also written into the
//! history (scope `queue`, one group per cluster), so the queue is graphed over hour…year
//! like any metric, and survives the console.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::history::HistoryStore;
use crate::jobs::JobEvent;

/// The history scope of queue series.
pub const SCOPE: &str = "queue";

/// The series recorded per cluster, as (name, value) for a report.
pub fn series(r: &super::QueueReport) -> [(&'static str, f64); 8] {
    let p = &r.pressure;
    [
        ("pending", p.pending as f64),
        ("running", p.running as f64),
        ("wait_p50", p.wait_p50 as f64),
        ("wait_p90", p.wait_p90 as f64),
        ("wait_max", p.wait_max as f64),
        ("done_per_hour", p.done_last_hour as f64),
        ("needs_nodes", f64::from(p.needs_nodes)),
        ("releasable", p.releasable.len() as f64),
    ]
}

/// Records one report.
pub fn record(history: &HistoryStore, cluster: &str, r: &super::QueueReport) {
    let s = series(r);
    history.record_counts(
        SCOPE,
        r.pressure.at,
        s.iter().map(|(n, v)| (cluster, *n, *v)),
    );
}

/// Passes every event on, recording queue reports on the way.
pub fn spawn(
    mut from: mpsc::UnboundedReceiver<(String, JobEvent)>,
    history: Option<Arc<HistoryStore>>,
) -> mpsc::UnboundedReceiver<(String, JobEvent)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((cluster, ev)) = from.recv().await {
            if let (Some(h), JobEvent::Queue(r)) = (&history, &ev) {
                record(h, &cluster, r);
            }
            if tx.send((cluster, ev)).is_err() {
                return;
            }
        }
    });
    rx
}
