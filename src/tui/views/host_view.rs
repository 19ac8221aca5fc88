//! The host view: the key metrics first (cpu_idle … proc_total) with value, units and a graph
//! over the range, then every other metric — strings and constants included — with its age.
//! Any metric can be selected (up/down) and graphed large with a time axis (Enter), on this
//! host or overlaid across the cluster's tagged hosts (`v`). Series come prepared with the
//! state (`App::prepare_graphs`): drawing never reads the history store.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::aggregator::Liveness;
use crate::model::{Host, Metric};
use crate::tui::app::App;
use crate::tui::state::KEY_METRICS;
use crate::tui::state::host::MetricGraph;
use crate::tui::theme::Role;
use crate::tui::views::common::{
    Panel, compact, draw_points, fitting, graph_panel, stale_style, with_units,
};
use crate::tui::widgets::graph::{GraphMode, draw_scaled, draw_time_axis, value_bounds};
use crate::units::human_secs;

/// Lines of the "other metrics" table that fit.
pub fn table_rows(body: Rect) -> usize {
    let (_, _, table) = split(body);
    table.height.saturating_sub(1) as usize
}

fn split(body: Rect) -> (Rect, Rect, Rect) {
    let header = Rect::new(body.x, body.y, body.width, body.height.min(1));
    let rest = body.height.saturating_sub(1);
    let key_h = if rest >= 24 {
        rest * 3 / 5
    } else {
        rest.min(KEY_METRICS.len() as u16).max(rest / 2)
    };
    let keys = Rect::new(body.x, body.y + 1, body.width, key_h);
    let table = Rect::new(body.x, keys.y + key_h, body.width, rest - key_h);
    (header, keys, table)
}

/// How many key metrics the host reports (they come first in [`metrics`]).
pub fn key_count(h: &Host) -> usize {
    KEY_METRICS.iter().filter(|m| h.metric(m).is_some()).count()
}

/// Every metric in view order, which selection indexes: the key metrics the host reports,
/// then the other metrics in table order.
pub fn metrics<'h>(app: &App, h: &'h Host) -> Vec<&'h Metric> {
    let mut v: Vec<&Metric> = KEY_METRICS.iter().filter_map(|m| h.metric(m)).collect();
    v.extend(other_metrics(app, h));
    v
}

/// The other metrics in table order (by group, then name), after the host filter.
pub fn other_metrics<'h>(app: &App, h: &'h Host) -> Vec<&'h Metric> {
    let mut v: Vec<&Metric> = h
        .metrics
        .iter()
        .filter(|m| !KEY_METRICS.contains(&&*m.meta.name))
        .filter(|m| {
            app.filters[2]
                .as_ref()
                .is_none_or(|f| f.keeps(&m.meta.name))
        })
        .collect();
    v.sort_by(|a, b| {
        (a.meta.group().unwrap_or("~"), &a.meta.name)
            .cmp(&(b.meta.group().unwrap_or("~"), &b.meta.name))
    });
    v
}

/// Whether a metric's value reads better converted (gmond's KB and bytes/sec).
fn is_scaled(m: &Metric) -> bool {
    m.meta.kind.is_numeric() && m.value().is_some() && crate::units::is_byte_unit(&m.meta.units)
}

/// A metric's value as shown: converted to operator units where that helps, else as gmond
/// sent it, with its units.
fn human_metric(m: &Metric) -> String {
    let units = m.meta.units.trim();
    match m.value() {
        Some(v) if is_scaled(m) => crate::units::human_value(v, units),
        _ if units.is_empty() => m.text.to_string(),
        _ => format!("{} {units}", m.text),
    }
}

/// Draws the view.
pub fn draw(app: &App, f: &mut Frame<'_>, body: Rect) {
    let t = &app.theme;
    let Some(st) = &app.host else { return };
    let Some((cv, h)) = st.find(&app.snap) else {
        let msg = format!(
            " host '{}' is not in the latest data of '{}'",
            st.host, st.cluster
        );
        f.render_widget(Paragraph::new(msg).style(t.fg(Role::Warn)), body);
        return;
    };
    let (header, keys, table) = split(body);
    let age = cv.age(app.now);
    let heard = u64::from(h.tn) + age;
    let mut spans = vec![Span::styled(
        format!(" {} ", h.name),
        t.fg(Role::Title).add_modifier(Modifier::BOLD),
    )];
    match cv.liveness(h, app.now) {
        Liveness::Up => spans.push(Span::styled(" up ", t.fg(Role::Ok))),
        Liveness::Down => spans.push(Span::styled(
            " DOWN ",
            t.fg(Role::Critical)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )),
        // Its source is silent or stale: what follows is the last known.
        Liveness::Unknown { since, was_up } => {
            spans.push(Span::styled(
                format!(
                    " UNKNOWN since {} ago ",
                    human_secs(app.now.saturating_sub(since))
                ),
                t.fg(Role::Stale)
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ));
            spans.push(Span::styled(
                format!(
                    " values last known, when it was {} ",
                    if was_up { "up" } else { "down" }
                ),
                stale_style(t),
            ));
        }
    }
    spans.push(Span::styled(
        format!(" heard {} ago ", human_secs(heard)),
        t.fg(Role::Muted),
    ));
    let text = |m: &str| h.metric(m).map(|x| x.text.to_string());
    if let Some(c) = text("cpu_num") {
        spans.push(Span::styled(format!(" {c} CPUs "), t.fg(Role::Text)));
    }
    if let (Some(os), Some(rel)) = (text("os_name"), text("os_release")) {
        spans.push(Span::styled(format!(" {os} {rel} "), t.fg(Role::Text)));
    }
    if let Some(boot) = h.value("boottime") {
        let up_for = app.now.saturating_sub(boot as u64);
        spans.push(Span::styled(
            format!(" up {} ", human_secs(up_for)),
            t.fg(Role::Muted),
        ));
    }
    if let Some((state, reason)) = app.sched_state(&h.name) {
        let why = if reason.is_empty() {
            String::new()
        } else {
            format!(" ({reason})")
        };
        spans.push(Span::styled(
            format!(" slurm: {state}{why} "),
            t.fg(Role::Accent),
        ));
    }
    spans.push(Span::styled(
        format!(" {} loc {} ", h.ip, h.location),
        t.fg(Role::Muted),
    ));
    let spans = fitting(spans, header.width as usize);
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), header);

    let all = metrics(app, h);
    if let Some(g) = &st.graph {
        metric_graph(app, f, keys, g);
    } else {
        key_panels(app, st.selected, h, f, keys);
    }
    metric_table(app, st, &all, cv.age(app.now), f, table);
}

/// The key metrics, each with a graph over the range: two columns when wide.
fn key_panels(app: &App, selected: usize, h: &Host, f: &mut Frame<'_>, keys: Rect) {
    let t = &app.theme;
    let st_series = app.host.as_ref();
    let shown: Vec<&str> = KEY_METRICS
        .iter()
        .copied()
        .filter(|m| h.metric(m).is_some())
        .collect();
    let cols: u16 = if keys.width >= 120 { 2 } else { 1 };
    let per_col = shown.len().div_ceil(cols as usize).max(1);
    let panel_h = (keys.height / per_col as u16).max(1);
    for (i, name) in shown.iter().enumerate() {
        let col = (i / per_col) as u16;
        let row = (i % per_col) as u16;
        if (row + 1) * panel_h > keys.height {
            continue;
        }
        let w = keys.width / cols;
        let r = Rect::new(keys.x + col * w, keys.y + row * panel_h, w, panel_h);
        let Some(m) = h.metric(name) else { continue };
        let units = m.meta.units.trim();
        let series = st_series.and_then(|s| s.key_series(name));
        let pts = series.map(|s| &s.points);
        let shown = human_metric(m);
        if panel_h == 1 {
            let label = format!(" {:<13}{:>18} ", name, shown);
            let style = if i == selected {
                t.selection()
            } else {
                t.fg(Role::Text)
            };
            f.render_widget(Paragraph::new(label.clone()).style(style), r);
            let gx = r.x + label.chars().count() as u16;
            if let Some(p) = &pts {
                draw_points(
                    app,
                    f,
                    Rect::new(gx, r.y, r.width.saturating_sub(gx - r.x + 1), 1),
                    p,
                    t.fg(Role::Graph),
                );
            } else {
                f.render_widget(
                    Paragraph::new("no history yet").style(t.fg(Role::Muted)),
                    Rect::new(gx, r.y, r.width.saturating_sub(gx - r.x), 1),
                );
            }
        } else {
            let label = format!("{name} = {shown}");
            graph_panel(
                app,
                f,
                r,
                Panel {
                    label: &label,
                    units,
                    series,
                    label_has_value: true,
                    selected: i == selected,
                },
            );
        }
    }
}

/// Colours of an overlay's hosts, in order: roles distinct in every shipped theme.
const OVERLAY_ROLES: [Role; 8] = [
    Role::Graph,
    Role::Warn,
    Role::Ok,
    Role::Critical,
    Role::Accent,
    Role::Title,
    Role::Load1,
    Role::Load3,
];

/// One metric graphed large: title, value scale on the left, the graph, a time axis; when
/// overlaid, a line naming each host in its colour with its latest value.
fn metric_graph(app: &App, f: &mut Frame<'_>, area: Rect, g: &MetricGraph) {
    let t = &app.theme;
    if area.height < 3 || area.width < 20 {
        return;
    }
    let units = g.units.as_str();
    let with_u = if units.is_empty() {
        g.metric.clone()
    } else {
        format!("{} ({units})", g.metric)
    };
    let whom = match g.series.len() {
        0 | 1 => format!("on {}", g.series.first().map_or("", |(h, _)| h.as_str())),
        n => format!("across {n} hosts"),
    };
    let title = vec![
        Span::styled(
            format!(" {with_u} "),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{whom} "), t.fg(Role::Text)),
        Span::styled(
            format!("· last {} · times UTC · esc closes", app.range.as_str()),
            t.fg(Role::Muted),
        ),
    ];
    f.render_widget(
        Paragraph::new(Line::from(fitting(title, area.width as usize))),
        Rect::new(area.x, area.y, area.width, 1),
    );
    let mut top = area.y + 1;
    // Who is who: each host in its colour, with its latest value.
    let latest = |s: &Option<crate::history::Series>| {
        s.as_ref()
            .and_then(|s| s.points.iter().rev().flatten().next().map(|p| p.avg))
    };
    if g.series.len() > 1 {
        let mut spans = Vec::new();
        for (i, (host, s)) in g.series.iter().enumerate() {
            let style = t.fg(OVERLAY_ROLES[i % OVERLAY_ROLES.len()]);
            let swatch = if app.glyphs.unicode { "━━" } else { "--" };
            spans.push(Span::styled(format!(" {swatch} "), style));
            let v = latest(s).map_or_else(|| "no history".to_string(), |v| with_units(v, units));
            spans.push(Span::styled(format!("{host} {v} "), t.fg(Role::Text)));
        }
        if t.monochrome {
            // Without colour the lines cannot be told apart here; the export draws one graph
            // per host.
            let key = app
                .keymap
                .first_key(
                    crate::tui::action::Layer::Monitor,
                    crate::tui::action::Action::ExportGraph,
                )
                .map_or_else(String::new, |k| format!(" ({k})"));
            spans.push(Span::styled(
                format!(" · no colour: the export{key} draws each host apart"),
                t.fg(Role::Muted),
            ));
        }
        f.render_widget(
            Paragraph::new(Line::from(fitting(spans, area.width as usize))),
            Rect::new(area.x, top, area.width, 1),
        );
        top += 1;
    }
    let bottom = area.y + area.height;
    // Rows left: the graph, then one for the time axis.
    let graph_h = bottom.saturating_sub(top).saturating_sub(1);
    let drawn: Vec<&crate::history::Series> =
        g.series.iter().filter_map(|(_, s)| s.as_ref()).collect();
    let Some(first) = drawn.first() else {
        f.render_widget(
            Paragraph::new(format!(
                " no history of {} yet: it is recorded from the next poll on",
                g.metric
            ))
            .style(t.fg(Role::Muted)),
            Rect::new(area.x, top, area.width, 1),
        );
        return;
    };
    if graph_h == 0 {
        return;
    }
    // The value scale: top, middle and bottom of the graph, in the metric's units, from the
    // recorded values, so the labels hold at any width; one scale for every host of an
    // overlay, so heights compare.
    let mode = GraphMode::pick(app.glyphs.unicode, graph_h);
    let (lo, hi) = value_bounds(drawn.iter().map(|s| s.points.as_slice()));
    let marks = [(0, hi), (graph_h / 2, (lo + hi) / 2.0), (graph_h - 1, lo)];
    let labels: Vec<(u16, String)> = marks
        .iter()
        .map(|(row, v)| (*row, with_units(*v, units)))
        .collect();
    let gutter = labels
        .iter()
        .map(|(_, l)| l.chars().count() as u16)
        .max()
        .unwrap_or(0)
        + 2;
    let tick = if app.glyphs.unicode { "┤" } else { "|" };
    for (row, l) in &labels {
        f.buffer_mut().set_string(
            area.x,
            top + row,
            format!("{l:>w$} {tick}", w = (gutter - 2) as usize),
            t.fg(Role::Muted),
        );
    }
    let plot = Rect::new(
        area.x + gutter + 1,
        top,
        area.width.saturating_sub(gutter + 2),
        graph_h,
    );
    for (i, (_, s)) in g.series.iter().enumerate() {
        if let Some(s) = s {
            let style = t.fg(OVERLAY_ROLES[i % OVERLAY_ROLES.len()]);
            draw_scaled(f.buffer_mut(), plot, &s.points, style, mode, (lo, hi));
        }
    }
    let axis = Rect::new(plot.x, plot.y + plot.height, plot.width, 1);
    draw_time_axis(f.buffer_mut(), axis, first, t.fg(Role::Muted));
}

/// The metric table: the metrics after the key ones, or, while a graph takes the key
/// metrics' place, every metric; the selection highlighted.
fn metric_table(
    app: &App,
    st: &crate::tui::state::HostState,
    all: &[&Metric],
    age: u64,
    f: &mut Frame<'_>,
    table: Rect,
) {
    let t = &app.theme;
    if table.height == 0 {
        return;
    }
    let first = match (&st.graph, st.find(&app.snap)) {
        (None, Some((_, h))) => key_count(h),
        _ => 0,
    };
    let others = all.get(first..).unwrap_or(&[]);
    let head = format!(
        " {:<22} {:>18} {:<12} {:>8}  {}",
        "metric", "value", "units", "age", "group"
    );
    f.render_widget(
        Paragraph::new(head).style(t.fg(Role::Muted).add_modifier(Modifier::BOLD)),
        Rect::new(table.x, table.y, table.width, 1),
    );
    for (k, m) in others
        .iter()
        .skip(st.scroll)
        .take(table.height.saturating_sub(1) as usize)
        .enumerate()
    {
        let age = u64::from(m.tn) + age;
        let expired = m.is_expired(age);
        // Sizes and rates in operator units, which then carry the unit themselves.
        let (value, units): (String, &str) = if is_scaled(m) {
            (human_metric(m), "")
        } else if m.meta.kind.is_numeric() && m.text.len() > 18 {
            (
                m.value().map_or_else(|| m.text.to_string(), compact),
                m.meta.units.trim(),
            )
        } else {
            (m.text.chars().take(18).collect(), m.meta.units.trim())
        };
        let line = format!(
            " {:<22.22} {:>18} {:<12.12} {:>8}  {}",
            m.meta.name,
            value,
            units,
            human_secs(age),
            m.meta.group().unwrap_or("")
        );
        let style = if first + st.scroll + k == st.selected {
            t.selection()
        } else if expired {
            t.fg(Role::Muted)
        } else {
            t.fg(Role::Text)
        };
        f.render_widget(
            Paragraph::new(line).style(style),
            Rect::new(table.x, table.y + 1 + k as u16, table.width, 1),
        );
    }
    if others.is_empty() {
        f.render_widget(
            Paragraph::new(" no other metrics").style(t.fg(Role::Muted)),
            Rect::new(table.x, table.y + 1, table.width, 1),
        );
    }
}
