//! The host view: the key metrics first (cpu_idle … proc_total) with value, units and a graph
//! over the range, then every other metric — strings and constants included — with its age.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::aggregator::Liveness;
use crate::model::{Host, Metric};
use crate::tui::app::App;
use crate::tui::state::KEY_METRICS;
use crate::tui::theme::Role;
use crate::tui::views::common::{
    compact, draw_points, fitting, graph_panel, host_series_points, stale_style,
};
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

    // Key metrics: two columns when wide.
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
        let pts = host_series_points(app, &cv.cluster.name, &h.name, name);
        let shown = human_metric(m);
        if panel_h == 1 {
            let label = format!(" {:<13}{:>18} ", name, shown);
            f.render_widget(Paragraph::new(label.clone()).style(t.fg(Role::Text)), r);
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
            graph_panel(app, f, r, &label, units, pts.as_deref(), true);
        }
    }

    // Every other metric.
    if table.height == 0 {
        return;
    }
    let others = other_metrics(app, h);
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
        let style = if expired {
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
