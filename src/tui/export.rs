//! Graph export from the console: the current host's or cluster's graphs (on the grid, the
//! selected cluster's) for the range, written as PNG and SVG off the UI loop.

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::graph::{GraphTarget, default_units, export, graphs, metric_graphs};
use crate::tui::app::App;
use crate::tui::state::GridRow;

/// What the console would export now, if anything.
pub fn target(app: &App) -> Option<GraphTarget> {
    if let Some(h) = &app.host {
        return Some(GraphTarget {
            cluster: h.cluster.clone(),
            host: Some(h.host.clone()),
        });
    }
    if let Some(c) = &app.cluster {
        return Some(GraphTarget {
            cluster: c.name.clone(),
            host: None,
        });
    }
    match app.grid.current() {
        Some(GridRow::Cluster(name)) => Some(GraphTarget {
            cluster: name.clone(),
            host: None,
        }),
        _ => None,
    }
}

/// Starts an export of what is on screen; the result arrives as a status line note.
pub fn start(app: &App, notes: mpsc::Sender<(bool, String)>) {
    let Some(target) = target(app) else {
        let _ = notes.try_send((true, "nothing to export here: select a cluster".into()));
        return;
    };
    // Units from the live document where the host is known, else gmond's defaults.
    let live_units: Vec<(String, String)> = target
        .host
        .as_deref()
        .and_then(|h| app.snap.cluster(&target.cluster)?.cluster.host(h).cloned())
        .map(|h| {
            h.metrics
                .iter()
                .map(|m| (m.meta.name.to_string(), m.meta.units.trim().to_string()))
                .collect()
        })
        .unwrap_or_default();
    // A metric graphed in the host view (alone or overlaid across tagged hosts) exports as
    // shown; otherwise the host's or cluster's standard graphs.
    let shown_graph = app.host.as_ref().and_then(|h| {
        let g = h.graph.as_ref()?;
        let hosts: Vec<String> = g.series.iter().map(|(h, _)| h.clone()).collect();
        Some((g.metric.clone(), g.units.clone(), hosts))
    });
    let (history, range, now) = (app.history.clone(), app.range, app.now);
    let dir: PathBuf = app.export_dir.clone();
    tokio::task::spawn_blocking(move || {
        let units = |m: &str| {
            live_units
                .iter()
                .find(|(n, _)| n == m)
                .map_or_else(|| default_units(m), |(_, u)| u.clone())
        };
        let (gs, title, stem) = match &shown_graph {
            Some((metric, units, hosts)) => (
                metric_graphs(&history, &target.cluster, hosts, metric, units, range, now),
                format!(
                    "{} › {metric} — last {} (times in UTC)",
                    target.label(),
                    range.as_str()
                ),
                // A custom metric's name comes from the network: only safe characters.
                format!(
                    "{}_{}",
                    target.file_stem(),
                    metric
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        })
                        .collect::<String>()
                ),
            ),
            None => (
                graphs(&history, &target, range, now, units),
                format!(
                    "{} — last {} (times in UTC)",
                    target.label(),
                    range.as_str()
                ),
                target.file_stem(),
            ),
        };
        let note = match export(&dir, &stem, &title, &gs, range) {
            Ok(done) => (done.png.is_err(), done.describe()),
            Err(e) => (true, format!("export failed: {e}")),
        };
        let _ = notes.blocking_send(note);
    });
}
