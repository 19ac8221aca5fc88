//! The console's graph: a series drawn into a rectangle of cells — braille lines (2×4 dots a
//! cell) on UTF-8 terminals, eighth-block columns for one-row sparklines, ASCII otherwise. A
//! missing sample is left blank, never drawn as zero.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::history::Point;

/// How the graph is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphMode {
    /// Braille dots: a line, 2 dots across and 4 down per cell.
    Braille,
    /// Eighth blocks: filled columns, 8 levels per cell.
    Block,
    /// Filled columns in eight ASCII steps (`_` … `#`).
    Ascii,
}

impl GraphMode {
    /// The mode for a capability and a height: blocks read better than braille in one row.
    pub fn pick(unicode: bool, height: u16) -> Self {
        match (unicode, height) {
            (false, _) => GraphMode::Ascii,
            (true, 1) => GraphMode::Block,
            (true, _) => GraphMode::Braille,
        }
    }
}

/// Averages of the points falling in each of `n` columns; `None` where all are gaps.
fn resample(points: &[Option<Point>], n: usize) -> Vec<Option<f64>> {
    let len = points.len();
    (0..n)
        .map(|c| {
            let a = c * len / n;
            let b = ((c + 1) * len / n).max(a + 1).min(len);
            let (mut sum, mut k) = (0.0, 0u32);
            for p in points.get(a..b).unwrap_or(&[]).iter().flatten() {
                if p.avg.is_finite() {
                    sum += p.avg;
                    k += 1;
                }
            }
            (k > 0).then(|| sum / f64::from(k))
        })
        .collect()
}

/// The value range drawn: from zero for non-negative data.
pub fn bounds(vals: &[Option<f64>]) -> (f64, f64) {
    let lo = vals.iter().flatten().copied().fold(0.0_f64, f64::min);
    let hi = vals
        .iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    (lo, hi)
}

/// Draws `points` into `area`, scaled to their own values.
pub fn draw(buf: &mut Buffer, area: Rect, points: &[Option<Point>], style: Style, mode: GraphMode) {
    let b = shared_bounds([points], area.width, mode);
    draw_scaled(buf, area, points, style, mode, b);
}

/// Columns of values a graph `width` cells wide draws in `mode`.
fn value_columns(width: u16, mode: GraphMode) -> usize {
    match mode {
        GraphMode::Braille => width as usize * 2,
        GraphMode::Block | GraphMode::Ascii => width as usize,
    }
}

/// The value range drawn for series `width` cells wide (the averages as drawn, so the highest
/// reaches the top row): several series of an overlay share it, one scale for all.
pub fn shared_bounds<'a>(
    series: impl IntoIterator<Item = &'a [Option<Point>]>,
    width: u16,
    mode: GraphMode,
) -> (f64, f64) {
    let n = value_columns(width, mode);
    let vals: Vec<Option<f64>> = series
        .into_iter()
        .filter(|s| !s.is_empty())
        .flat_map(|s| resample(s, n))
        .collect();
    bounds(&vals)
}

/// Draws `points` into `area` on the value range `(lo, hi)`. Braille dots are added to what
/// the cells already hold, so several series drawn into one area (an overlay across hosts)
/// keep each other's dots; a shared cell takes the colour of the last series drawn.
pub fn draw_scaled(
    buf: &mut Buffer,
    area: Rect,
    points: &[Option<Point>],
    style: Style,
    mode: GraphMode,
    (lo, hi): (f64, f64),
) {
    if area.width == 0 || area.height == 0 || points.is_empty() {
        return;
    }
    match mode {
        GraphMode::Braille => braille(buf, area, points, style, (lo, hi)),
        GraphMode::Block | GraphMode::Ascii => columns(buf, area, points, style, mode, (lo, hi)),
    }
}

/// The value range of every point of `series` (averages as recorded, not as resampled to a
/// width): a value scale labelled from it tells the truth whatever the graph's width.
pub fn value_bounds<'a>(series: impl IntoIterator<Item = &'a [Option<Point>]>) -> (f64, f64) {
    let vals: Vec<Option<f64>> = series
        .into_iter()
        .flat_map(|s| s.iter().map(|p| p.map(|p| p.avg).filter(|v| v.is_finite())))
        .collect();
    bounds(&vals)
}

/// Where the ticks of a time axis go and what they read: `(column, label)` within `width`
/// columns for points from `start` every `step` seconds, `len` of them. Ticks fall on round
/// times (every 10 minutes, 4 hours, day, 5 days or 60 days by range), in UTC like exports;
/// a label that would touch the one before is left out rather than overlap it.
pub fn time_ticks(
    start: u64,
    step: u32,
    len: usize,
    range: crate::history::Range,
    width: u16,
) -> Vec<(u16, String)> {
    use crate::history::Range;
    let span = len as u64 * u64::from(step);
    if width == 0 || span == 0 {
        return Vec::new();
    }
    let every: u64 = match range {
        Range::Hour => 600,
        Range::Day => 4 * 3600,
        Range::Week => 86_400,
        Range::Month => 5 * 86_400,
        Range::Year => 60 * 86_400,
    };
    // Week ticks fall on midnights: the date alone says it ("11-30", not "11-30 00h").
    let label_range = if range == Range::Week {
        Range::Month
    } else {
        range
    };
    let mut out: Vec<(u16, String)> = Vec::new();
    let mut next_free = 0u16;
    let mut t = start.div_ceil(every) * every;
    while t < start + span {
        let col = ((t - start) as f64 / span as f64 * f64::from(width)) as u16;
        let label = crate::graph::time_label(t, label_range);
        let len = label.chars().count() as u16;
        if col >= next_free && col + len <= width {
            next_free = col + len + 1;
            out.push((col, label));
        }
        t += every;
    }
    out
}

/// Draws a time axis (see [`time_ticks`]) into one row.
pub fn draw_time_axis(buf: &mut Buffer, area: Rect, series: &crate::history::Series, style: Style) {
    if area.height == 0 {
        return;
    }
    for (col, label) in time_ticks(
        series.start,
        series.step,
        series.points.len(),
        series.range,
        area.width,
    ) {
        buf.set_string(area.x + col, area.y, label, style);
    }
}

const BRAILLE_BITS: [[u8; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];

fn braille(
    buf: &mut Buffer,
    area: Rect,
    points: &[Option<Point>],
    style: Style,
    (lo, hi): (f64, f64),
) {
    let (w, h) = (area.width as usize * 2, area.height as usize * 4);
    let vals = resample(points, w);
    let level = |v: f64| {
        let f = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
        // 0 is the bottom dot row.
        (f * (h as f64 - 1.0)).round() as usize
    };
    let mut cells = vec![0u8; area.width as usize * area.height as usize];
    let mut prev: Option<usize> = None;
    for (x, v) in vals.iter().enumerate() {
        let Some(v) = v else {
            prev = None;
            continue;
        };
        let y = level(*v);
        // Join to the previous dot column so steep changes stay a line.
        let (from, to) = match prev {
            Some(p) if p < y => (p + 1, y),
            Some(p) if p > y => (y, p - 1),
            _ => (y, y),
        };
        for yy in from..=to.max(from) {
            let row_from_top = h - 1 - yy;
            let (cx, cy) = (x / 2, row_from_top / 4);
            cells[cy * area.width as usize + cx] |= BRAILLE_BITS[x % 2][row_from_top % 4];
        }
        prev = Some(y);
    }
    for (i, bits) in cells.iter().enumerate() {
        if *bits == 0 {
            continue;
        }
        let (cx, cy) = (i % area.width as usize, i / area.width as usize);
        let cell = &mut buf[(area.x + cx as u16, area.y + cy as u16)];
        // Dots already there (another series of an overlay) stay.
        let had = cell
            .symbol()
            .chars()
            .next()
            .map(u32::from)
            .filter(|c| (0x2800..=0x28ff).contains(c))
            .map_or(0, |c| c - 0x2800);
        if let Some(ch) = char::from_u32(0x2800 + (had | u32::from(*bits))) {
            cell.set_char(ch).set_style(style);
        }
    }
}

fn columns(
    buf: &mut Buffer,
    area: Rect,
    points: &[Option<Point>],
    style: Style,
    mode: GraphMode,
    (lo, hi): (f64, f64),
) {
    let vals = resample(points, area.width as usize);
    let levels = area.height as usize * 8;
    const EIGHTHS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    // The same eight steps in ASCII, so a one-row sparkline still shows its shape.
    const ASCII: [char; 8] = ['_', '.', ':', '-', '=', '+', '*', '#'];
    for (c, v) in vals.iter().enumerate() {
        let Some(v) = v else { continue };
        let filled =
            (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * (levels as f64 - 1.0)).round() as usize + 1;
        for row in 0..area.height as usize {
            let from_bottom = row * 8;
            if filled <= from_bottom {
                break;
            }
            let n = (filled - from_bottom).min(8);
            let ch = match mode {
                GraphMode::Ascii => ASCII[n - 1],
                _ => EIGHTHS[n - 1],
            };
            let y = area.y + area.height - 1 - row as u16;
            buf[(area.x + c as u16, y)].set_char(ch).set_style(style);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[Option<f64>]) -> Vec<Option<Point>> {
        v.iter()
            .map(|v| {
                v.map(|v| Point {
                    avg: v,
                    min: v,
                    max: v,
                })
            })
            .collect()
    }

    fn render(points: &[Option<Point>], w: u16, h: u16, mode: GraphMode) -> Vec<String> {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        draw(&mut buf, area, points, Style::default(), mode);
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect()
    }

    #[test]
    fn gaps_stay_blank_in_every_mode() {
        let p = pts(&[Some(1.0), Some(1.0), None, None, Some(0.0), Some(1.0)]);
        for mode in [GraphMode::Braille, GraphMode::Block, GraphMode::Ascii] {
            let w = if mode == GraphMode::Braille { 3 } else { 6 };
            let rows = render(&p, w, 2, mode);
            let gap_col = if mode == GraphMode::Braille { 1 } else { 2 };
            for r in &rows {
                assert_eq!(r.chars().nth(gap_col), Some(' '), "{mode:?}: {rows:?}");
            }
        }
    }

    #[test]
    fn zero_is_drawn_at_the_bottom_not_left_out() {
        let rows = render(&pts(&[Some(0.0), Some(4.0)]), 2, 1, GraphMode::Block);
        assert_eq!(rows, vec!["▁█"]);
        let rows = render(&pts(&[Some(0.0), Some(4.0)]), 2, 1, GraphMode::Ascii);
        assert_eq!(rows, vec!["_#"]);
    }

    #[test]
    fn braille_joins_a_rising_line() {
        // Two dot columns in one cell: bottom-left, then top-right with the rise joined.
        let rows = render(&pts(&[Some(0.0), Some(3.0)]), 1, 1, GraphMode::Braille);
        let ch = rows[0].chars().next().unwrap() as u32 - 0x2800;
        assert_eq!(ch, 0x40 | 0x20 | 0x10 | 0x08);
    }

    #[test]
    fn overlaid_series_keep_each_others_dots() {
        let area = Rect::new(0, 0, 1, 1);
        let mut buf = Buffer::empty(area);
        let (lo, hi) = (0.0, 3.0);
        let low = pts(&[Some(0.0), Some(0.0)]);
        let high = pts(&[Some(3.0), Some(3.0)]);
        draw_scaled(
            &mut buf,
            area,
            &low,
            Style::default(),
            GraphMode::Braille,
            (lo, hi),
        );
        draw_scaled(
            &mut buf,
            area,
            &high,
            Style::default(),
            GraphMode::Braille,
            (lo, hi),
        );
        let ch = buf[(0, 0)].symbol().chars().next().unwrap() as u32 - 0x2800;
        // Bottom dots of the first series and top dots of the second, in one cell.
        assert_eq!(ch, 0x40 | 0x80 | 0x01 | 0x08);
    }

    #[test]
    fn time_ticks_fall_on_round_utc_times_and_never_overlap() {
        use crate::history::Range;
        // An hour of minutes from 12:29:00 UTC (2026-11-22).
        let start = 1_795_350_540;
        let ticks = time_ticks(start, 60, 60, Range::Hour, 60);
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["12:30", "12:40", "12:50", "13:00", "13:10", "13:20"]
        );
        assert_eq!(ticks[0].0, 1, "12:30 is one minute in");
        // Too narrow for all: some are left out, none overlap or run past the edge.
        let narrow = time_ticks(start, 60, 60, Range::Hour, 14);
        assert!(!narrow.is_empty() && narrow.len() < 6, "{narrow:?}");
        for w in narrow.windows(2) {
            assert!(w[0].0 + 5 < w[1].0, "{narrow:?}");
        }
        assert!(narrow.iter().all(|(c, l)| c + l.len() as u16 <= 14));
        // A week's ticks are dates.
        let week = time_ticks(start - 7 * 86_400, 7200, 84, Range::Week, 80);
        assert!(
            week.iter().all(|(_, l)| l.len() == 5 && l.contains('-')),
            "{week:?}"
        );
        assert!(time_ticks(start, 60, 0, Range::Hour, 60).is_empty());
    }

    #[test]
    fn mode_follows_capability_and_height() {
        assert_eq!(GraphMode::pick(true, 4), GraphMode::Braille);
        assert_eq!(GraphMode::pick(true, 1), GraphMode::Block);
        assert_eq!(GraphMode::pick(false, 4), GraphMode::Ascii);
    }
}
