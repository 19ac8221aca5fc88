//! Lines wrapped to a width before drawing, so an overlay's scroll offset counts the rows on
//! screen (ratatui's `Wrap` wraps at draw time, where a scroll offset cannot see the extra
//! rows, and the last ones were unreachable).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// One grapheme with its style and width.
struct Cell {
    symbol: String,
    style: Style,
    width: usize,
}

/// Wraps each line to `width` columns: at the last space that fits when there is one, else
/// mid-word. Continuation rows are indented two columns past the line's own indent, so they
/// read as part of it.
pub fn wrap(lines: &[Line<'_>], width: usize) -> Vec<Line<'static>> {
    let width = width.max(8);
    let mut out = Vec::new();
    for line in lines {
        let cells: Vec<Cell> = line
            .spans
            .iter()
            .flat_map(|s| s.styled_graphemes(line.style))
            .map(|g| Cell {
                width: Span::raw(g.symbol).width(),
                symbol: g.symbol.to_string(),
                style: g.style,
            })
            .collect();
        let lead = cells.iter().take_while(|c| c.symbol == " ").count();
        let indent = (lead + 2).min(width / 2);
        let mut row: Vec<Cell> = Vec::new();
        let mut row_w = 0;
        let mut first = true;
        for c in cells {
            // A row holding only its indent takes the cell whatever its width: progress.
            while row_w + c.width > width && row.len() > if first { 0 } else { indent } {
                let floor = if first { lead } else { indent } + 1;
                // Never between a number and its unit ("22.7 | kB").
                let cut = (floor..row.len()).rev().find(|&i| {
                    row[i].symbol == " " && !row[i - 1].symbol.chars().all(|ch| ch.is_ascii_digit())
                });
                let rest = match cut {
                    Some(i) => row.split_off(i + 1),
                    None => Vec::new(),
                };
                out.push(to_line(row));
                first = false;
                row = (0..indent)
                    .map(|_| Cell {
                        symbol: " ".into(),
                        style: Style::default(),
                        width: 1,
                    })
                    .chain(rest)
                    .collect();
                row_w = row.iter().map(|x| x.width).sum();
            }
            row_w += c.width;
            row.push(c);
        }
        out.push(to_line(row));
    }
    out
}

/// A row of cells as a line, runs of one style as one span, trailing spaces dropped.
fn to_line(mut row: Vec<Cell>) -> Line<'static> {
    while row.last().is_some_and(|c| c.symbol == " ") {
        row.pop();
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for c in row {
        if style.is_some_and(|s| s != c.style) {
            spans.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(c.style);
        text.push_str(&c.symbol);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, style.unwrap_or_default()));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    fn text(l: &Line<'_>) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn wraps_at_spaces_and_keeps_every_character() {
        let l = Line::from(vec![
            Span::styled("    no answer from ", Style::new().fg(Color::Red)),
            Span::raw("any address — 127.0.0.1:1: connection refused"),
        ]);
        let rows = wrap(&[l], 24);
        let texts: Vec<String> = rows.iter().map(text).collect();
        assert!(
            texts.iter().all(|t| Span::raw(t.as_str()).width() <= 24),
            "{texts:?}"
        );
        assert_eq!(texts[0], "    no answer from any");
        assert!(texts[1].starts_with("      address"), "{texts:?}");
        let joined: String = texts.iter().map(|t| t.trim()).collect::<Vec<_>>().join(" ");
        assert_eq!(
            joined,
            "no answer from any address — 127.0.0.1:1: connection refused"
        );
        assert_eq!(rows[0].spans[0].style.fg, Some(Color::Red), "styles kept");
    }

    #[test]
    fn a_number_stays_with_its_unit() {
        let rows = wrap(&[Line::from("source dead  answer 22.7 kB in 4 ms")], 25);
        let texts: Vec<String> = rows.iter().map(text).collect();
        assert_eq!(texts, ["source dead  answer", "  22.7 kB in 4 ms"]);
    }

    #[test]
    fn a_word_longer_than_the_width_is_cut() {
        let rows = wrap(&[Line::from("x".repeat(30))], 10);
        assert_eq!(rows.len(), 4);
        assert_eq!(text(&rows[0]), "x".repeat(10));
        assert_eq!(wrap(&[Line::from("")], 10).len(), 1, "empty lines stay");
    }
}
