//! The list every list component draws: a ratatui `Table` with a header, a selection kept in
//! view, columns as wide as their content, and a scrollbar when rows do not fit.

use std::cell::Cell;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Margin, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{
    Block, Borders, Cell as TableCell, Clear, Paragraph, Row, Scrollbar, ScrollbarOrientation,
    ScrollbarState, Table, TableState,
};

use crate::tui::theme::{Role, Theme};

/// A selection in a list, and where the list was last scrolled to.
#[derive(Debug, Default)]
pub struct Selection {
    /// The selected row.
    pub selected: usize,
    /// The first row shown at the last draw: drawing keeps the selection in view from there,
    /// so the list does not jump. A cache of the last frame, not state of the list.
    offset: Cell<usize>,
    /// Rows per page at the last draw (0 before the first), for page up and down.
    page: Cell<usize>,
}

impl Selection {
    /// Rows that fit on one page of a list drawn in `area` (for page up and down).
    pub fn page(area_height: u16) -> usize {
        usize::from(area_height.saturating_sub(3)).max(1)
    }

    /// The first row shown at the last draw.
    pub fn offset(&self) -> usize {
        self.offset.get()
    }

    /// Remembers how many rows a page of a list drawn `area_height` high holds.
    pub fn remember_page(&self, area_height: u16) {
        self.page.set(Self::page(area_height));
    }

    /// Remembers the first row the last draw showed.
    pub fn remember_offset(&self, offset: usize) {
        self.offset.set(offset);
    }

    /// Moves the selection within `len` rows by a navigation action, a page being what the
    /// last draw showed; whether the action was one of them.
    pub fn navigate(&mut self, len: usize, action: crate::tui::action::Action) -> bool {
        let page = match self.page.get() {
            0 => 10,
            p => p,
        };
        crate::tui::component::navigate(&mut self.selected, len, action, page)
    }
}

/// One row: its cells, and the role that colours it.
pub struct ListRow {
    /// Cell texts, one per column.
    pub cells: Vec<String>,
    /// The row's colour.
    pub role: Role,
}

/// What a list shows.
pub struct ListContent<'a> {
    /// The title on the border.
    pub title: Line<'a>,
    /// Column headings.
    pub header: &'a [&'a str],
    /// The rows.
    pub rows: &'a [ListRow],
    /// Said when there are no rows.
    pub empty: &'a str,
}

/// A column of a [`TableView`].
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    /// Its heading.
    pub title: &'a str,
    /// Numbers align right.
    pub right: bool,
    /// When the table is wider than its area, columns with a `shrink` rank give up width,
    /// lowest rank first, down to `min` columns each; the others never do.
    pub shrink: Option<u8>,
    /// The least width a shrinking column keeps.
    pub min: u16,
}

impl<'a> Column<'a> {
    /// A left-aligned column that keeps its width.
    pub const fn left(title: &'a str) -> Self {
        Self {
            title,
            right: false,
            shrink: None,
            min: 0,
        }
    }

    /// A right-aligned (number) column that keeps its width.
    pub const fn right(title: &'a str) -> Self {
        Self {
            right: true,
            ..Self::left(title)
        }
    }

    /// This column gives up width at `rank` (0 first), down to `min` columns.
    pub const fn shrinks(self, rank: u8, min: u16) -> Self {
        Self {
            shrink: Some(rank),
            min,
            ..self
        }
    }
}

/// A table to draw: title, columns, rows and what it says when empty.
pub struct TableView<'a> {
    /// The title on the border (no border when `None`).
    pub title: Option<Line<'a>>,
    /// The columns.
    pub columns: &'a [Column<'a>],
    /// The rows.
    pub rows: &'a [ListRow],
    /// Said when there are no rows.
    pub empty: &'a str,
    /// The colour of `empty`.
    pub empty_role: Role,
    /// The last column takes what is left of the width (free text such as a reason).
    pub fill_last: bool,
    /// Column headings stay above `empty`, so an empty list still says what it would hold.
    pub header_when_empty: bool,
    /// Blank columns between columns.
    pub spacing: u16,
    /// Draw the scrollbar in ASCII (the terminal's locale is not UTF-8).
    pub ascii: bool,
}

/// A vertical scrollbar, in ASCII when asked.
pub fn scrollbar(ascii: bool) -> Scrollbar<'static> {
    let bar = Scrollbar::new(ScrollbarOrientation::VerticalRight);
    if ascii {
        bar.symbols(ratatui::symbols::scrollbar::Set {
            track: "|",
            thumb: "#",
            begin: "^",
            end: "v",
        })
    } else {
        bar
    }
}

/// Draws a bordered table in `area`. Every column but the last is exactly as wide as its
/// widest cell (header included); the last takes the rest, so names are never cut while there
/// is room.
pub fn draw_list(
    f: &mut Frame<'_>,
    area: Rect,
    theme: &Theme,
    c: ListContent<'_>,
    sel: &Selection,
) {
    let columns: Vec<Column<'_>> = c.header.iter().map(|h| Column::left(h)).collect();
    let view = TableView {
        title: Some(c.title),
        columns: &columns,
        rows: c.rows,
        empty: c.empty,
        empty_role: Role::Ok,
        fill_last: true,
        header_when_empty: false,
        spacing: 2,
        ascii: false,
    };
    sel.page.set(Selection::page(area.height));
    let offset = draw_table(f, area, theme, &view, sel.selected, sel.offset.get());
    sel.offset.set(offset);
}

/// Column widths for `avail` columns of room, `spacing` between them: each as wide as its
/// widest cell; when that is too wide, shrinking columns give up width by rank down to their
/// minimum, then (still too wide) the columns from the right down to 3, so the table never
/// leaves it to the layout to squeeze columns (which cuts numbers from the left). A last column
/// that fills (`fill_last`) takes only what is left.
pub fn fit_widths(
    columns: &[Column<'_>],
    rows: &[ListRow],
    avail: u16,
    spacing: u16,
    fill_last: bool,
) -> Vec<u16> {
    let mut widths: Vec<u16> = columns.iter().map(|c| width_of(c.title)).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(&r.cells) {
            *w = (*w).max(width_of(cell));
        }
    }
    let gaps = spacing.saturating_mul(u16::try_from(columns.len().saturating_sub(1)).unwrap_or(0));
    let fill = usize::from(fill_last);
    let total = |w: &[u16]| {
        w[..w.len() - fill.min(w.len())]
            .iter()
            .fold(gaps, |a, b| a.saturating_add(*b))
    };
    let mut ranks: Vec<u8> = columns.iter().filter_map(|c| c.shrink).collect();
    ranks.sort_unstable();
    ranks.dedup();
    for rank in ranks {
        for (i, c) in columns.iter().enumerate() {
            let over = total(&widths).saturating_sub(avail);
            if over == 0 {
                return widths;
            }
            if c.shrink == Some(rank) {
                let give = over.min(widths[i].saturating_sub(c.min));
                widths[i] -= give;
            }
        }
    }
    let fixed = widths.len().saturating_sub(fill);
    for i in (0..fixed).rev() {
        let over = total(&widths).saturating_sub(avail);
        if over == 0 {
            break;
        }
        widths[i] -= over.min(widths[i].saturating_sub(3));
    }
    widths
}

/// Terminal cells `s` takes (a double-width character takes two).
fn width_of(s: &str) -> u16 {
    u16::try_from(UnicodeWidthStr::width(s)).unwrap_or(u16::MAX)
}

/// `s` in `width` columns: whole when it fits, else cut with `…` so a cut is never mistaken for
/// the whole name.
fn cut(s: &str, width: u16) -> String {
    let width = usize::from(width);
    if UnicodeWidthStr::width(s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Draws `view` in `area` with row `selected` highlighted, scrolled from `offset` as far as
/// needed to show it. Returns the offset drawn with, for the next frame.
pub fn draw_table(
    f: &mut Frame<'_>,
    area: Rect,
    theme: &Theme,
    view: &TableView<'_>,
    selected: usize,
    offset: usize,
) -> usize {
    let (inner, bar_area) = match &view.title {
        Some(title) => {
            // A bordered list floats over the view: nothing of it may show through. A bare
            // one sits in a dialog or a screen that drew its own background.
            f.render_widget(Clear, area);
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(theme.fg(Role::Border))
                .title(title.clone())
                .style(theme.text());
            let inner = block.inner(area).inner(Margin::new(1, 0));
            f.render_widget(block, area);
            (inner, area.inner(Margin::new(0, 1)))
        }
        None => {
            // The scrollbar takes the last column, so rows stop one short of it.
            let inner = Rect {
                width: area.width.saturating_sub(1),
                ..area
            };
            let bar = Rect {
                y: area.y.saturating_add(1),
                height: area.height.saturating_sub(1),
                ..area
            };
            (inner, bar)
        }
    };
    if view.rows.is_empty() {
        let head = Line::from(
            view.columns
                .iter()
                .map(|c| c.title)
                .collect::<Vec<_>>()
                .join("  "),
        )
        .style(theme.fg(Role::Muted).add_modifier(Modifier::BOLD));
        let empty = Line::from(view.empty).style(theme.fg(view.empty_role));
        let lines = if view.header_when_empty {
            vec![head, empty]
        } else {
            vec![empty]
        };
        f.render_widget(Paragraph::new(lines), inner);
        return 0;
    }
    let widths = fit_widths(
        view.columns,
        view.rows,
        inner.width,
        view.spacing,
        view.fill_last,
    );
    let last = widths.len().saturating_sub(1);
    let constraints: Vec<Constraint> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == last && view.fill_last {
                Constraint::Fill(1)
            } else {
                Constraint::Length(*w)
            }
        })
        .collect();
    let cell = |text: String, c: &Column<'_>| {
        let line = Line::from(text);
        TableCell::from(if c.right {
            line.alignment(Alignment::Right)
        } else {
            line
        })
    };
    let table_rows = view.rows.iter().map(|r| {
        Row::new(
            r.cells
                .iter()
                .zip(view.columns.iter().zip(&widths))
                .enumerate()
                .map(|(i, (text, (c, w)))| {
                    // The fill column is cut by the table at the edge; the others here.
                    if i == last && view.fill_last {
                        cell(text.clone(), c)
                    } else {
                        cell(cut(text, *w), c)
                    }
                }),
        )
        .style(theme.fg(r.role))
    });
    let head = Row::new(
        view.columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| cell(cut(c.title, *w), c)),
    )
    .style(theme.fg(Role::Title).add_modifier(Modifier::BOLD));
    let table = Table::new(table_rows, constraints)
        .header(head)
        .column_spacing(view.spacing)
        .row_highlight_style(theme.selection());
    let selected = selected.min(view.rows.len() - 1);
    let mut state = TableState::default()
        .with_offset(offset)
        .with_selected(Some(selected));
    f.render_stateful_widget(table, inner, &mut state);
    let visible = usize::from(inner.height.saturating_sub(1));
    if view.rows.len() > visible {
        let mut bar =
            ScrollbarState::new(view.rows.len().saturating_sub(visible)).position(state.offset());
        f.render_stateful_widget(scrollbar(view.ascii), bar_area, &mut bar);
    }
    state.offset()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_width_names_are_measured_and_cut_in_cells() {
        assert_eq!(width_of("計算ノード01"), 12);
        let c = cut("計算ノード01", 7);
        assert_eq!(c, "計算ノ…");
        assert!(UnicodeWidthStr::width(c.as_str()) <= 7);
        assert_eq!(cut("node01", 6), "node01");
        assert_eq!(cut("node0123", 6), "node0…");
    }

    fn row(cells: &[&str]) -> ListRow {
        ListRow {
            cells: cells.iter().map(|c| c.to_string()).collect(),
            role: Role::Text,
        }
    }

    #[test]
    fn columns_fit_their_content_and_shrink_by_rank() {
        let cols = [
            Column::left("node").shrinks(1, 12),
            Column::right("pid"),
            Column::left("name").shrinks(0, 8),
        ];
        let rows = [row(&[
            "rack12-compute-node-0042.site1",
            "4711",
            "solver-with-a-long-name",
        ])];
        // Room for everything: every column as wide as its content.
        assert_eq!(fit_widths(&cols, &rows, 200, 2, false), vec![30, 4, 23]);
        // Tight: the name gives up width first, then the node.
        assert_eq!(fit_widths(&cols, &rows, 50, 2, false), vec![30, 4, 12]);
        assert_eq!(fit_widths(&cols, &rows, 30, 2, false), vec![14, 4, 8]);
        // Tighter than every minimum: columns from the right give up the rest.
        assert_eq!(fit_widths(&cols, &rows, 20, 2, false), vec![10, 3, 3]);
        // A filling last column takes only what is left.
        assert_eq!(fit_widths(&cols, &rows, 40, 2, true), vec![30, 4, 23]);
        assert_eq!(cut("rack12-compute-node-0042.site1", 10), "rack12-co…");
    }
}
