//! One metric graphed large: title, value scale on the left, the graph, a time axis; when
//! overlaid across hosts, a line naming each host in its colour with its latest value. Drawn
//! from the series prepared with the host view's state, never from the history store.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::component::Ctx;
use crate::tui::state::host::MetricGraph;
use crate::tui::theme::Role;
use crate::tui::views::common::{fitting, with_units};
use crate::tui::widgets::graph::{GraphMode, draw_scaled, draw_time_axis, value_bounds};

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
pub fn draw(ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect, g: &MetricGraph) {
    let t = ctx.theme;
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
            format!("· last {} · times UTC · esc closes", ctx.range.as_str()),
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
            let swatch = if ctx.glyphs.unicode { "━━" } else { "--" };
            spans.push(Span::styled(format!(" {swatch} "), style));
            let v = latest(s).map_or_else(|| "no history".to_string(), |v| with_units(v, units));
            spans.push(Span::styled(format!("{host} {v} "), t.fg(Role::Text)));
        }
        if t.monochrome {
            // Without colour the lines cannot be told apart here; the export draws one graph
            // per host.
            let key = ctx
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
    let mode = GraphMode::pick(ctx.glyphs.unicode, graph_h);
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
    let tick = if ctx.glyphs.unicode { "┤" } else { "|" };
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
