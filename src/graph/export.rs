//! PNG and SVG files of a set of graphs, drawn with plotters: what operators paste into an
//! incident ticket. The SVG needs no font; the PNG needs a system font and is skipped, with the
//! reason, when there is none.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{GraphData, font, svg_text};
use crate::history::Range;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// There was nothing to draw.
    #[error("no history to graph for {0} yet")]
    Empty(String),
    /// Writing a file failed.
    #[error("{path}: {what}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        what: String,
    },
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The SVG file.
    pub svg: PathBuf,
    /// The PNG file, or why it was not written.
    pub png: Result<PathBuf, String>,
}

impl Exported {
    /// One line for a status bar or a terminal.
    pub fn describe(&self) -> String {
        match &self.png {
            Ok(p) => format!("wrote {} and {}", p.display(), self.svg.display()),
            Err(why) => format!("wrote {} (no PNG: {why})", self.svg.display()),
        }
    }
}

const CELL: (u32, u32) = (640, 240);
/// The time axis' label: ticks alone leave the reader to guess the time zone.
const TIME_AXIS: &str = "time (UTC)";
const HEADER: u32 = 44;

fn layout(n: usize) -> (usize, usize) {
    let cols = if n > 4 { 2 } else { 1 };
    (n.div_ceil(cols), cols)
}

/// Seconds since the epoch as a UTC label suited to the range (the console's time axes use
/// it too, so a screen and its export read alike).
pub fn time_label(t: u64, range: Range) -> String {
    let t = chrono::DateTime::from_timestamp(i64::try_from(t).unwrap_or(i64::MAX), 0)
        .unwrap_or_default();
    t.format(match range {
        Range::Hour | Range::Day => "%H:%M",
        Range::Week => "%m-%d %Hh",
        Range::Month | Range::Year => "%m-%d",
    })
    .to_string()
}

fn value_label(v: f64) -> String {
    crate::units::compact_number(v)
}

/// The graph with its values in the unit its axis is labelled in (sizes in kB…TB, rates in
/// B/s…GB/s, from gmond's KB and bytes/sec), so label and ticks agree.
fn in_axis_units(g: &GraphData) -> GraphData {
    let max = g
        .points
        .iter()
        .flatten()
        .map(|p| p.min.abs().max(p.max.abs()))
        .fold(0.0, f64::max);
    let scale = crate::units::axis_scale(&g.units, max);
    let f = scale.factor;
    GraphData {
        units: scale.unit,
        points: g
            .points
            .iter()
            .map(|p| {
                p.map(|p| crate::history::Point {
                    avg: p.avg * f,
                    min: p.min * f,
                    max: p.max * f,
                })
            })
            .collect(),
        ..g.clone()
    }
}

/// The y range of a graph: from zero for non-negative data, padded a little.
fn y_range(g: &GraphData) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in g.points.iter().flatten() {
        lo = lo.min(p.min);
        hi = hi.max(p.max);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if lo >= 0.0 {
        lo = 0.0;
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    (lo, hi + (hi - lo) * 0.05)
}

/// Runs of consecutive present points: (time, point).
fn segments(g: &GraphData) -> Vec<Vec<(f64, crate::history::Point)>> {
    let mut out: Vec<Vec<(f64, crate::history::Point)>> = vec![Vec::new()];
    for (i, p) in g.points.iter().enumerate() {
        let t = (g.start + i as u64 * u64::from(g.step)) as f64;
        match p {
            Some(p) => out.last_mut().map_or((), |s| s.push((t, *p))),
            None if out.last().is_some_and(|s| !s.is_empty()) => out.push(Vec::new()),
            None => {}
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn draw_one<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    g: &GraphData,
    range: Range,
    fonts: bool,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (lo, hi) = y_range(g);
    // The x axis counts whole units (10 minutes, hours, days) from a round origin, so the
    // "nice" tick values plotters picks land on round times (14:00, not 13:46).
    let unit: u64 = match range {
        Range::Hour => 600,
        Range::Day => 3600,
        Range::Week | Range::Month => 86_400,
        Range::Year => 30 * 86_400,
    };
    let origin = g.start / unit * unit;
    let x = move |t: f64| (t - origin as f64) / unit as f64;
    let t0 = x(g.start as f64);
    let t1 = x((g.start + g.points.len() as u64 * u64::from(g.step)) as f64);
    let mut b = ChartBuilder::on(area);
    b.margin(8);
    if fonts {
        let caption = if g.units.is_empty() {
            g.title.clone()
        } else {
            format!("{} ({})", g.title, g.units)
        };
        b.caption(caption, ("sans-serif", 16))
            .x_label_area_size(36)
            .y_label_area_size(56);
    } else {
        b.margin_top(28).margin_left(8);
    }
    let mut chart = b.build_cartesian_2d(t0..t1, lo..hi).map_err(err)?;
    if fonts {
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&|v| time_label(origin + (*v * unit as f64).round() as u64, range))
            .x_desc(TIME_AXIS)
            .y_label_formatter(&|v| value_label(*v))
            .light_line_style(RGBColor(235, 235, 235))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
    } else {
        chart
            .plotting_area()
            .draw(&Rectangle::new(
                [(t0, lo), (t1, hi)],
                RGBColor(200, 200, 200).stroke_width(1),
            ))
            .map_err(err)?;
    }
    let band = RGBColor(31, 119, 180).mix(0.18);
    let line = RGBColor(31, 119, 180);
    for seg in segments(g) {
        let half = f64::from(g.step) / 2.0;
        if seg.iter().any(|(_, p)| p.max > p.min) {
            let mut poly: Vec<(f64, f64)> = seg.iter().map(|(t, p)| (x(t + half), p.max)).collect();
            poly.extend(seg.iter().rev().map(|(t, p)| (x(t + half), p.min)));
            chart
                .draw_series(std::iter::once(Polygon::new(poly, band.filled())))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                seg.iter().map(|(t, p)| (x(t + half), p.avg)),
                line.stroke_width(2),
            ))
            .map_err(err)?;
        if seg.len() == 1 {
            let (t, p) = seg[0];
            chart
                .draw_series(std::iter::once(Circle::new(
                    (x(t + half), p.avg),
                    3,
                    line.filled(),
                )))
                .map_err(err)?;
        }
    }
    Ok(())
}

fn draw_all<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    graphs: &[GraphData],
    range: Range,
    fonts: bool,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let (_, body) = root.split_vertically(HEADER);
    if fonts {
        root.draw_text(
            title,
            &("sans-serif", 20).into_font().color(&BLACK),
            (12, 12),
        )
        .map_err(err)?;
    }
    let (rows, cols) = layout(graphs.len());
    for (g, area) in graphs.iter().zip(body.split_evenly((rows, cols))) {
        draw_one(&area, g, range, fonts)?;
    }
    root.present().map_err(err)
}

/// The texts an SVG drawn without a font gets: the title and each graph's caption.
fn plain_texts(title: &str, graphs: &[GraphData]) -> Vec<(i32, i32, u32, String)> {
    let (_, cols) = layout(graphs.len());
    let mut t = vec![(12, 28, 20, title.to_string())];
    for (i, g) in graphs.iter().enumerate() {
        let (r, c) = ((i / cols) as u32, (i % cols) as u32);
        let present: Vec<f64> = g.points.iter().flatten().map(|p| p.avg).collect();
        let figures = match (
            present.last(),
            present.iter().copied().reduce(f64::min),
            present.iter().copied().reduce(f64::max),
        ) {
            (Some(last), Some(lo), Some(hi)) => format!(
                "  last {}  min {}  max {}",
                value_label(*last),
                value_label(lo),
                value_label(hi)
            ),
            _ => String::new(),
        };
        let units = if g.units.is_empty() {
            String::new()
        } else {
            format!(" ({})", g.units)
        };
        t.push((
            (c * CELL.0 + 16) as i32,
            (HEADER + r * CELL.1 + 22) as i32,
            14,
            format!("{}{units}{figures}", g.title),
        ));
        // Without a font there are no tick labels: the axis says what time it spans.
        let end = g.start + g.points.len() as u64 * u64::from(g.step);
        t.push((
            (c * CELL.0 + 16) as i32,
            (HEADER + (r + 1) * CELL.1 - 6) as i32,
            12,
            format!(
                "{TIME_AXIS} {} – {}",
                time_label(g.start, Range::Week),
                time_label(end, Range::Week)
            ),
        ));
    }
    t
}

/// Writes `DIR/STEM-RANGE.svg` and, when a font is found, `DIR/STEM-RANGE.png`.
pub fn export(
    dir: &Path,
    stem: &str,
    title: &str,
    graphs: &[GraphData],
    range: Range,
) -> Result<Exported, ExportError> {
    let graphs: Vec<GraphData> = graphs
        .iter()
        .filter(|g| g.has_data())
        .map(in_axis_units)
        .collect();
    if graphs.is_empty() {
        return Err(ExportError::Empty(title.to_string()));
    }
    let (rows, cols) = layout(graphs.len());
    let size = (CELL.0 * cols as u32, HEADER + CELL.1 * rows as u32);
    let name = format!("{stem}-{}", range.as_str());
    let svg_path = dir.join(format!("{name}.svg"));
    let png_path = dir.join(format!("{name}.png"));
    let fail = |path: &Path, what: String| ExportError::Write {
        path: path.to_path_buf(),
        what,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e.to_string()))?;
    let font = font::ensure();
    let fonts = font.is_ok();

    let mut svg = String::new();
    draw_all(
        SVGBackend::with_string(&mut svg, size).into_drawing_area(),
        title,
        &graphs,
        range,
        fonts,
    )
    .map_err(|e| fail(&svg_path, e))?;
    if !fonts {
        svg_text::insert(&mut svg, &plain_texts(title, &graphs));
    }
    std::fs::write(&svg_path, svg).map_err(|e| fail(&svg_path, e.to_string()))?;

    let png = match font {
        Ok(_) => draw_all(
            BitMapBackend::new(&png_path, size).into_drawing_area(),
            title,
            &graphs,
            range,
            true,
        )
        .map(|()| png_path.clone())
        .map_err(|e| format!("{}: {e}", png_path.display())),
        Err(why) => Err(why.to_string()),
    };
    Ok(Exported { svg: svg_path, png })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_labels_are_utc_and_fit_the_range() {
        // 2026-11-30 08:53:00 UTC
        let t = 1_796_028_780;
        assert_eq!(time_label(t, Range::Hour), "08:53");
        assert_eq!(time_label(t, Range::Week), "11-30 08h");
        assert_eq!(time_label(t, Range::Year), "11-30");
    }

    fn sample() -> Vec<GraphData> {
        let p = |v: f64| {
            Some(crate::history::Point {
                avg: v,
                min: v * 0.5,
                max: v * 1.5,
            })
        };
        let mut pts: Vec<_> = (0..60).map(|i| p(f64::from(i % 7) + 1.0)).collect();
        pts[20] = None;
        pts[21] = None;
        vec![GraphData {
            title: "load_one".into(),
            units: "".into(),
            start: 1_796_028_000,
            step: 60,
            points: pts,
        }]
    }

    #[test]
    fn writes_svg_and_png_with_a_system_font() {
        let dir = tempfile::tempdir().unwrap();
        let out = export(dir.path(), "c_h", "c › h — hour", &sample(), Range::Hour).unwrap();
        let svg = std::fs::read_to_string(&out.svg).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("load_one"));
        assert_eq!(out.svg.file_name().unwrap(), "c_h-hour.svg");
        match &out.png {
            Ok(p) => {
                let b = std::fs::read(p).unwrap();
                assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
            }
            Err(why) => {
                assert!(why.contains("no TrueType sans font"), "{why}");
                assert!(
                    std::env::var_os("GANTRY_REQUIRE_REAL").is_none(),
                    "CI installs a font: {why}"
                );
                println!("SKIPPED PNG check: {why}");
            }
        }
    }

    #[test]
    fn svg_without_a_font_still_carries_its_text() {
        let mut svg = String::new();
        let graphs = sample();
        draw_all(
            SVGBackend::with_string(&mut svg, (640, 284)).into_drawing_area(),
            "t",
            &graphs,
            Range::Hour,
            false,
        )
        .unwrap();
        svg_text::insert(&mut svg, &plain_texts("c & h <hour>", &graphs));
        assert!(svg.contains("c &amp; h &lt;hour&gt;"));
        assert!(svg.contains("load_one  last"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn memory_axis_is_labelled_in_the_unit_of_its_ticks() {
        // A cluster's free memory summed in gmond's KB: about 20 TB.
        let mut g = sample();
        g[0].title = "memory free (sum)".into();
        g[0].units = "KB".into();
        for p in g[0].points.iter_mut().flatten() {
            *p = crate::history::Point {
                avg: p.avg * 2.5e9,
                min: p.min * 2.5e9,
                max: p.max * 2.5e9,
            };
        }
        let scaled = in_axis_units(&g[0]);
        assert_eq!(scaled.units, "TB");
        let top = scaled
            .points
            .iter()
            .flatten()
            .map(|p| p.max)
            .fold(0.0, f64::max);
        assert!((1.0..1000.0).contains(&top), "{top}");
        let dir = tempfile::tempdir().unwrap();
        let out = export(dir.path(), "c", "c — hour", &g, Range::Hour).unwrap();
        let svg = std::fs::read_to_string(&out.svg).unwrap();
        assert!(svg.contains("memory free (sum) (TB)"), "axis label in TB");
        assert!(!svg.contains("(KB)"));
        let mut plain = String::new();
        draw_all(
            SVGBackend::with_string(&mut plain, (640, 284)).into_drawing_area(),
            "t",
            std::slice::from_ref(&scaled),
            Range::Hour,
            false,
        )
        .unwrap();
        let texts = plain_texts("t", std::slice::from_ref(&scaled));
        assert!(
            texts[1].3.starts_with("memory free (sum) (TB)  last "),
            "{:?}",
            texts[1]
        );
        assert!(
            !texts[1].3.contains('G'),
            "no G-suffixed figures: {:?}",
            texts[1]
        );
    }

    #[test]
    fn nothing_to_draw_is_an_error_not_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = sample();
        g[0].points.iter_mut().for_each(|p| *p = None);
        let e = export(dir.path(), "x", "x", &g, Range::Day).unwrap_err();
        assert_eq!(e.to_string(), "no history to graph for x yet");
    }

    #[test]
    fn gaps_split_segments() {
        let p = |v| {
            Some(crate::history::Point {
                avg: v,
                min: v,
                max: v,
            })
        };
        let g = GraphData {
            title: "x".into(),
            units: String::new(),
            start: 0,
            step: 60,
            points: vec![p(1.0), p(2.0), None, None, p(3.0), None],
        };
        let s = segments(&g);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].len(), 2);
        assert_eq!(s[1][0].0, 240.0);
    }
}
