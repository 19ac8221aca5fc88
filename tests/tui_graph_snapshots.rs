//! Any metric, graphed: a custom gmetric metric selected in the host view and graphed with its
//! time axis, a cluster coloured by memory with its legend, one metric overlaid across tagged
//! hosts, and the export of a custom metric — over real gmond documents (clusterA sends the
//! custom `gpu_util` and `job_count`).

mod common;

use std::sync::Arc;

use common::fixture;
use common::tui::{POLLED_AT, app, history_for, render, snapshot_from};
use gantry::aggregator::Snapshot;
use gantry::history::{HistoryStore, Range};
use gantry::tui::action::Action;
use gantry::tui::app::App;
use gantry::tui::views::host_view;

fn snap() -> Snapshot {
    snapshot_from(
        &[
            ("A", fixture("ganglia/gmond-8649-clusterA.xml")),
            ("B", fixture("ganglia/gmond-8659-clusterB.xml")),
        ],
        POLLED_AT,
    )
}

fn console(size: (u16, u16)) -> App {
    app(snap(), POLLED_AT + 7, size, true, true)
}

/// The metric the host view has selected.
fn selected_metric(a: &App) -> Option<String> {
    let st = a.host.as_ref()?;
    let (_, h) = st.find(&a.snap)?;
    host_view::metrics(a, h)
        .get(st.selected)
        .map(|m| m.meta.name.to_string())
}

/// Moves the host view's selection down to `metric` with the Down key.
fn select(a: &mut App, metric: &str) {
    for _ in 0..200 {
        if selected_metric(a).as_deref() == Some(metric) {
            return;
        }
        a.act(Action::Down);
    }
    panic!("{metric} never selected; at {:?}", selected_metric(a));
}

#[test]
fn a_custom_metric_is_graphed_with_its_time_axis() {
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        let mut a = console((w, h));
        a.act(Action::Drill);
        a.act(Action::Drill);
        select(&mut a, "gpu_util");
        a.act(Action::Drill);
        let text = render(&a);
        assert!(text.contains("gpu_util (%) on a-node01"), "{text}");
        // Ticks every ten minutes over the last hour, in UTC (POLLED_AT is 13:29 UTC).
        assert!(text.contains("12:40") && text.contains("13:20"), "{text}");
        insta::assert_snapshot!(format!("gpu_util_graph_{w}x{h}"), text);
        // Esc closes the graph, then leaves the host.
        a.act(Action::Back);
        assert!(a.host.as_ref().is_some_and(|h| h.graph.is_none()));
        a.act(Action::Back);
        assert!(a.host.is_none());
    }
}

#[test]
fn text_metrics_say_why_they_are_not_graphed() {
    let mut a = console((80, 24));
    a.act(Action::Drill);
    a.act(Action::Drill);
    select(&mut a, "os_name");
    a.act(Action::Drill);
    assert!(a.host.as_ref().is_some_and(|h| h.graph.is_none()));
    let m = a
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(m.contains("os_name is text"), "{m}");
}

#[test]
fn a_cluster_coloured_by_memory_and_its_legend() {
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        let mut a = console((w, h));
        a.act(Action::Drill);
        a.act(Action::ColorBy);
        a.act(Action::ColorBy);
        let text = render(&a);
        assert!(text.contains("colour: memory"), "{text}");
        insta::assert_snapshot!(format!("cluster_by_memory_{w}x{h}"), text);
        a.act(Action::Legend);
        let text = render(&a);
        assert!(text.contains("Tiles: memory in use"), "{text}");
        assert!(text.contains("90 % and over"), "{text}");
        insta::assert_snapshot!(format!("cluster_by_memory_legend_{w}x{h}"), text);
    }
}

#[test]
fn one_metric_overlaid_across_tagged_hosts() {
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        let mut a = console((w, h));
        a.act(Action::Drill);
        a.act(Action::Tag);
        a.act(Action::Right);
        a.act(Action::Tag);
        a.act(Action::Right);
        a.act(Action::Tag);
        assert_eq!(a.cluster.as_ref().map(|c| c.tagged.len()), Some(3));
        insta::assert_snapshot!(format!("cluster_tagged_{w}x{h}"), render(&a));
        // Back to a-node01, which reports gpu_util (a-node03 does not).
        a.act(Action::First);
        a.act(Action::Drill);
        select(&mut a, "gpu_util");
        a.act(Action::Drill);
        a.act(Action::Overlay);
        let g = a.host.as_ref().and_then(|h| h.graph.clone());
        let g = g.expect("a graph");
        assert!(g.overlay);
        assert_eq!(g.series.len(), 3, "this host and the two other tagged");
        let text = render(&a);
        assert!(text.contains("gpu_util (%) across 3 hosts"), "{text}");
        insta::assert_snapshot!(format!("gpu_util_overlay_{w}x{h}"), text);
        // v again: this host alone.
        a.act(Action::Overlay);
        assert_eq!(
            a.host
                .as_ref()
                .and_then(|h| h.graph.as_ref())
                .map(|g| g.series.len()),
            Some(1)
        );
    }
}

#[test]
fn drawing_reads_prepared_series_not_the_store() {
    // Once the state is prepared, the store can be swapped for an empty one (as if locked
    // away): the host view still draws every graph, because drawing never reads it.
    // The grid's sparklines too.
    let mut g = console((200, 60));
    g.prepare_graphs();
    assert!(
        g.grid
            .sparks
            .iter()
            .any(|s| s.as_ref().is_some_and(|p| p.iter().any(Option::is_some))),
        "the grid has sparklines to draw"
    );
    let grid = render(&g);
    g.history = Arc::new(HistoryStore::new());
    assert_eq!(render(&g), grid, "the grid drew from the store");
    let mut a = console((200, 60));
    a.act(Action::Drill);
    a.act(Action::Drill);
    select(&mut a, "job_count");
    a.act(Action::Drill);
    let before = render(&a);
    a.history = Arc::new(HistoryStore::new());
    assert_eq!(render(&a), before);
    // The next change of state reads the (now empty) store again.
    a.act(Action::RangeDay);
    assert!(render(&a).contains("no history of job_count yet"));
}

#[test]
fn a_custom_metric_exports_with_a_labelled_time_axis() {
    let s = snap();
    let now = POLLED_AT + 7;
    let history = history_for(&s, now);
    let gs = gantry::graph::metric_graphs(
        &history,
        "clusterA",
        &["a-node01".to_string()],
        "gpu_util",
        "%",
        Range::Hour,
        now,
    );
    assert_eq!(gs.len(), 1);
    assert!(gs[0].has_data());
    let dir = tempfile::tempdir().unwrap();
    let out = gantry::graph::export(
        dir.path(),
        "clusterA_a-node01_gpu_util",
        "clusterA › a-node01 › gpu_util — last hour (times in UTC)",
        &gs,
        Range::Hour,
    )
    .unwrap();
    let svg = std::fs::read_to_string(&out.svg).unwrap();
    assert!(svg.contains("gpu_util (%)"), "{svg}");
    assert!(svg.contains("time (UTC)"), "the time axis is labelled");
    // With a font, tick labels in HH:MM; without one, the span it covers.
    assert!(svg.contains("13:"), "{svg}");
}

#[test]
fn an_overlay_without_colour_says_where_hosts_are_told_apart() {
    let mut a = app(snap(), POLLED_AT + 7, (200, 60), false, false);
    a.act(Action::Drill);
    a.act(Action::Tag);
    a.act(Action::Right);
    a.act(Action::Tag);
    a.act(Action::First);
    a.act(Action::Drill);
    select(&mut a, "gpu_util");
    a.act(Action::Overlay);
    let text = render(&a);
    assert!(text.contains("gpu_util (%) across 2 hosts"), "{text}");
    assert!(
        text.contains("no colour: the export (e) draws each host apart"),
        "{text}"
    );
    // ASCII: the scale's ticks and the axis need no UTF-8.
    assert!(text.contains(" |") && !text.contains('┤'), "{text}");
}
