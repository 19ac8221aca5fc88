//! Pieces the views share: cluster numbers, series lookups and graph panels.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::history::{Point, Series};
use crate::tui::component::Ctx;
use crate::tui::theme::{Role, Theme};

/// How stale ("last known") figures look: greyed, and dim where there is no colour to grey.
pub fn stale_style(t: &Theme) -> Style {
    let s = t.fg(Role::Stale);
    if t.monochrome {
        s.add_modifier(Modifier::DIM)
    } else {
        s
    }
}

/// The spans that fit whole in `width` columns: a figure cut short ("mem 1" of "mem 12%")
/// would be a different figure.
pub fn fitting(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut used = 0;
    spans
        .into_iter()
        .take_while(|s| {
            used += s.width();
            used <= width
        })
        .collect()
}

/// Formats a value compactly: `0.67`, `12.5`, `23.1M`.
pub fn compact(v: f64) -> String {
    crate::units::compact_number(v)
}

/// Draws a series' averages into `area`; gaps stay empty.
pub fn draw_points(
    ctx: &Ctx<'_>,
    f: &mut Frame<'_>,
    area: Rect,
    points: &[Option<Point>],
    style: Style,
) {
    use crate::tui::widgets::graph::{GraphMode, draw};
    draw(
        f.buffer_mut(),
        area,
        points,
        style,
        GraphMode::pick(ctx.glyphs.unicode, area.height),
    );
}

/// A value with its units as operators read them (see [`crate::units::human_value`]).
pub fn with_units(v: f64, units: &str) -> String {
    crate::units::human_value(v, units)
}

/// What a graph panel shows.
#[derive(Debug, Clone, Copy)]
pub struct Panel<'a> {
    /// Its title.
    pub label: &'a str,
    /// Units of the values.
    pub units: &'a str,
    /// The prepared series (`None`: no history yet).
    pub series: Option<&'a Series>,
    /// The label already carries the current value: the stats show the range only.
    pub label_has_value: bool,
    /// The panel's metric is the selection.
    pub selected: bool,
}

/// A titled graph panel over the graph: `label last (min–max)`, or, when the label already
/// carries the current value, `label  hour min–max`; with a time axis under the graph when
/// there are rows for it (title, two graph rows, the axis).
pub fn graph_panel(ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect, p: Panel<'_>) {
    let Panel {
        label,
        units,
        series,
        label_has_value,
        selected,
    } = p;
    let points = series.map(|s| s.points.as_slice());
    let t = ctx.theme;
    if area.height == 0 || area.width < 4 {
        return;
    }
    let present: Vec<f64> = points
        .unwrap_or(&[])
        .iter()
        .flatten()
        .map(|p| p.avg)
        .collect();
    let stats = match (
        present.last(),
        present.iter().copied().reduce(f64::min),
        present.iter().copied().reduce(f64::max),
    ) {
        (Some(_), Some(lo), Some(hi)) if label_has_value => format!(
            "  {} {}",
            ctx.range.as_str(),
            crate::units::human_range(lo, hi, units)
        ),
        (Some(last), Some(lo), Some(hi)) => {
            let full = format!(
                " {} ({} {})",
                with_units(*last, units),
                ctx.range.as_str(),
                crate::units::human_range(lo, hi, units)
            );
            // The range goes first when the panel is narrow: a cut "(47.8 GB–95.6" misleads.
            if label.chars().count() + 1 + full.chars().count() <= area.width as usize {
                full
            } else {
                format!(" {}", with_units(*last, units))
            }
        }
        _ if area.width >= 34 => " no history yet".to_string(),
        _ => " –".to_string(),
    };
    // A figure that does not fit is left out, not cut ("10.9" of "10.90%").
    let label_style = if selected {
        t.selection()
    } else {
        t.fg(Role::Accent)
    };
    let label = Span::styled(format!(" {label}"), label_style);
    let stats = Span::styled(stats, t.fg(Role::Muted));
    let title = if label.width() + stats.width() <= area.width as usize {
        Line::from(vec![label, stats])
    } else {
        Line::from(label)
    };
    f.render_widget(
        Paragraph::new(title),
        Rect::new(area.x, area.y, area.width, 1),
    );
    if let (Some(s), Some(pts)) = (series, points) {
        let axis = area.height >= 4;
        let g = Rect::new(
            area.x + 1,
            area.y + 1,
            area.width.saturating_sub(2),
            area.height.saturating_sub(1 + u16::from(axis)),
        );
        draw_points(ctx, f, g, pts, t.fg(Role::Graph));
        if axis {
            let row = Rect::new(g.x, g.y + g.height, g.width, 1);
            crate::tui::widgets::graph::draw_time_axis(f.buffer_mut(), row, s, t.fg(Role::Muted));
        }
    }
}

/// The queue in a few words: jobs waiting (and for how long), and what the rule says.
pub fn queue_span<'a>(
    ctx: &crate::tui::component::Ctx<'_>,
    q: &crate::queue::QueueReport,
    wide: bool,
) -> ratatui::text::Span<'a> {
    let t = ctx.theme;
    let p = &q.pressure;
    let mut text = if wide {
        format!("  queue {} waiting", p.pending)
    } else {
        format!("  q {}", p.pending)
    };
    if p.pending > 0 && wide {
        text.push_str(&format!(" ≤{}", crate::units::human_secs(p.wait_max)));
    }
    if p.needs_nodes > 0 {
        text.push_str(&format!(" +{} nodes", p.needs_nodes));
    } else if !p.releasable.is_empty() && wide {
        text.push_str(&format!(" -{} idle", p.releasable.len()));
    }
    let style = if p.needs_nodes > 0 {
        t.fg(crate::tui::theme::Role::Warn)
            .add_modifier(ratatui::style::Modifier::BOLD)
    } else {
        t.fg(crate::tui::theme::Role::Text)
    };
    ratatui::text::Span::styled(text, style)
}
