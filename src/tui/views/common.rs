//! Pieces the views share: cluster numbers, series lookups and graph panels.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::history::{Point, SummaryValue};
use crate::tui::app::App;
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

/// A summary series' points over the current range.
pub fn summary_series_points(
    app: &App,
    scope: &str,
    metric: &str,
    value: SummaryValue,
) -> Option<Vec<Option<Point>>> {
    app.history
        .summary_series(scope, metric, value, app.range, app.now)
        .map(|s| s.points)
}

/// A host series' points over the current range.
pub fn host_series_points(
    app: &App,
    cluster: &str,
    host: &str,
    metric: &str,
) -> Option<Vec<Option<Point>>> {
    app.history
        .host_series(cluster, host, metric, app.range, app.now)
        .map(|s| s.points)
}

/// Formats a value compactly: `0.67`, `12.5`, `23.1M`.
pub fn compact(v: f64) -> String {
    crate::units::compact_number(v)
}

/// Draws a series' averages into `area`; gaps stay empty.
pub fn draw_points(
    app: &App,
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
        GraphMode::pick(app.glyphs.unicode, area.height),
    );
}

/// A value with its units as operators read them (see [`crate::units::human_value`]).
pub fn with_units(v: f64, units: &str) -> String {
    crate::units::human_value(v, units)
}

/// A titled graph panel over the graph: `label last (min–max)`, or, when the label already
/// carries the current value, `label  hour min–max`.
pub fn graph_panel(
    app: &App,
    f: &mut Frame<'_>,
    area: Rect,
    label: &str,
    units: &str,
    points: Option<&[Option<Point>]>,
    label_has_value: bool,
) {
    let t = &app.theme;
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
            app.range.as_str(),
            crate::units::human_range(lo, hi, units)
        ),
        (Some(last), Some(lo), Some(hi)) => {
            let full = format!(
                " {} ({} {})",
                with_units(*last, units),
                app.range.as_str(),
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
    let label = Span::styled(format!(" {label}"), t.fg(Role::Accent));
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
    if let Some(pts) = points {
        let g = Rect::new(
            area.x + 1,
            area.y + 1,
            area.width.saturating_sub(2),
            area.height.saturating_sub(1),
        );
        draw_points(app, f, g, pts, t.fg(Role::Graph));
    }
}
