//! The host view's metrics: the key metrics as panels with a graph over the range, and the
//! table of every other metric with its value, units, age and group; the selection
//! highlighted in either.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::Paragraph;

use crate::model::{Host, Metric};
use crate::tui::component::Ctx;
use crate::tui::state::{HostState, KEY_METRICS};
use crate::tui::theme::Role;
use crate::tui::views::common::{Panel, compact, draw_points, graph_panel};
use crate::tui::views::host_view::key_count;
use crate::units::human_secs;

/// Whether a metric's value reads better converted (gmond's KB and bytes/sec).
fn is_scaled(m: &Metric) -> bool {
    m.meta.kind.is_numeric() && m.value().is_some() && crate::units::is_byte_unit(&m.meta.units)
}

/// A metric's value as shown: converted to operator units where that helps, else as gmond
/// sent it, with its units.
pub fn human_metric(m: &Metric) -> String {
    let units = m.meta.units.trim();
    match m.value() {
        Some(v) if is_scaled(m) => crate::units::human_value(v, units),
        _ if units.is_empty() => m.text.to_string(),
        _ => format!("{} {units}", m.text),
    }
}

/// The key metrics, each with a graph over the range: two columns when wide.
pub fn key_panels(ctx: &Ctx<'_>, st: &HostState, h: &Host, f: &mut Frame<'_>, keys: Rect) {
    let t = ctx.theme;
    let selected = st.selected;
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
        let series = st.key_series(name);
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
                    ctx,
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
                ctx,
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

/// The metric table: the metrics after the key ones, or, while a graph takes the key
/// metrics' place, every metric; the selection highlighted.
pub fn metric_table(
    ctx: &Ctx<'_>,
    st: &HostState,
    all: &[&Metric],
    age: u64,
    f: &mut Frame<'_>,
    table: Rect,
) {
    let t = ctx.theme;
    if table.height == 0 {
        return;
    }
    let first = match (&st.graph, st.find(ctx.snap)) {
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
