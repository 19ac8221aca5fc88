//! A minimal block-character graph, used until the full graph widget lands.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::history::Point;

/// Draws averages as block columns; gaps stay empty.
pub fn draw(buf: &mut Buffer, area: Rect, points: &[Option<Point>], style: Style, unicode: bool) {
    if area.width == 0 || area.height == 0 || points.is_empty() {
        return;
    }
    let cols = area.width as usize;
    let vals: Vec<Option<f64>> = (0..cols)
        .map(|c| {
            let a = c * points.len() / cols;
            let b = ((c + 1) * points.len() / cols).max(a + 1).min(points.len());
            let v: Vec<f64> = points[a..b]
                .iter()
                .flatten()
                .map(|p| p.avg)
                .filter(|v| v.is_finite())
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        })
        .collect();
    let lo = vals.iter().flatten().copied().fold(0.0_f64, f64::min);
    let hi = vals.iter().flatten().copied().fold(f64::MIN, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let levels = area.height as usize * 8;
    let eighths = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
    for (c, v) in vals.iter().enumerate() {
        let Some(v) = v else { continue };
        let filled = (((v - lo) / span) * (levels as f64 - 1.0)).round() as usize + 1;
        for row in 0..area.height as usize {
            let from_bottom = row * 8;
            if filled <= from_bottom {
                break;
            }
            let n = (filled - from_bottom).min(8);
            let sym = if unicode {
                eighths[n - 1]
            } else if n >= 4 {
                "#"
            } else {
                "."
            };
            let y = area.y + area.height - 1 - row as u16;
            buf.set_string(area.x + c as u16, y, sym, style);
        }
    }
}
