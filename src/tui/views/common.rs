//! Pieces the views share: cluster numbers, series lookups and graph panels.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::aggregator::ClusterView;
use crate::history::{Point, SummaryValue};
use crate::tui::app::App;
use crate::tui::theme::Role;

/// What a cluster's summary line says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterNumbers {
    /// Hosts up now.
    pub up: usize,
    /// Hosts down now.
    pub down: usize,
    /// CPUs of up hosts.
    pub cpus: u64,
    /// Sum of load_one.
    pub load_sum: f64,
    /// load_one ÷ CPUs, in percent.
    pub load_pct: Option<f64>,
    /// Memory in use, in percent of mem_total.
    pub mem_pct: Option<f64>,
}

/// The numbers of a cluster now.
pub fn cluster_numbers(cv: &ClusterView, now: u64) -> ClusterNumbers {
    let s = cv.summary();
    let (up, down) = if cv.cluster.hosts.is_empty() {
        (s.hosts_up as usize, s.hosts_down as usize)
    } else {
        cv.hosts_up_down(now)
    };
    let sum = |m: &str| s.sum(m);
    let mem_pct = match (sum("mem_total"), sum("mem_free")) {
        (Some(total), Some(free)) if total > 0.0 => {
            let used =
                total - free - sum("mem_buffers").unwrap_or(0.0) - sum("mem_cached").unwrap_or(0.0);
            Some((used / total * 100.0).clamp(0.0, 100.0))
        }
        _ => None,
    };
    ClusterNumbers {
        up,
        down,
        cpus: sum("cpu_num").unwrap_or(0.0) as u64,
        load_sum: sum("load_one").unwrap_or(0.0),
        load_pct: s.load_fraction().map(|l| l * 100.0),
        mem_pct,
    }
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

/// A value with its units, compactly; kilobytes (gmond's memory unit) as bytes with a suffix.
pub fn with_units(v: f64, units: &str) -> String {
    match units {
        "KB" if v >= 0.0 => crate::units::human_bytes((v * 1024.0) as u64),
        "%" => format!("{}%", compact(v)),
        "" => compact(v),
        u => format!("{} {u}", compact(v)),
    }
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
            "  {} {}–{}",
            app.range.as_str(),
            with_units(lo, units),
            with_units(hi, units)
        ),
        (Some(last), Some(lo), Some(hi)) => {
            let full = format!(
                " {} ({}–{})",
                with_units(*last, units),
                with_units(lo, units),
                with_units(hi, units)
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
    let title = Line::from(vec![
        Span::styled(format!(" {label}"), t.fg(Role::Accent)),
        Span::styled(stats, t.fg(Role::Muted)),
    ]);
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
