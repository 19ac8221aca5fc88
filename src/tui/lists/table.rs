//! The list every list component draws: a ratatui `Table` with a header, a selection kept in
//! view, columns as wide as their content, and a scrollbar when rows do not fit.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::{Constraint, Margin, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{
    Block, Borders, Cell as TableCell, Clear, Row, Scrollbar, ScrollbarOrientation, ScrollbarState,
    Table, TableState,
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
}

impl Selection {
    /// Rows that fit on one page of a list drawn in `area` (for page up and down).
    pub fn page(area_height: u16) -> usize {
        usize::from(area_height.saturating_sub(3)).max(1)
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
    let ListContent {
        title,
        header,
        rows,
        empty,
    } = c;
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.fg(Role::Border))
        .title(title)
        .style(theme.text());
    let inner = block.inner(area);
    f.render_widget(block, area);
    if rows.is_empty() {
        f.render_widget(
            ratatui::widgets::Paragraph::new(empty.to_string()).style(theme.fg(Role::Ok)),
            inner.inner(Margin::new(1, 0)),
        );
        return;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.cells.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let last = widths.len().saturating_sub(1);
    let constraints: Vec<Constraint> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == last {
                Constraint::Fill(1)
            } else {
                Constraint::Length(*w as u16)
            }
        })
        .collect();
    let table_rows = rows.iter().map(|r| {
        Row::new(r.cells.iter().map(|c| TableCell::from(c.clone()))).style(theme.fg(r.role))
    });
    let head = Row::new(header.iter().map(|h| TableCell::from(*h)))
        .style(theme.fg(Role::Title).add_modifier(Modifier::BOLD));
    let table = Table::new(table_rows, constraints)
        .header(head)
        .column_spacing(2)
        .row_highlight_style(theme.selection());
    let selected = sel.selected.min(rows.len() - 1);
    let mut state = TableState::default()
        .with_offset(sel.offset.get())
        .with_selected(Some(selected));
    let list_area = inner.inner(Margin::new(1, 0));
    f.render_stateful_widget(table, list_area, &mut state);
    sel.offset.set(state.offset());
    let visible = usize::from(list_area.height.saturating_sub(1));
    if rows.len() > visible {
        let mut bar =
            ScrollbarState::new(rows.len().saturating_sub(visible)).position(state.offset());
        f.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight),
            area.inner(Margin::new(0, 1)),
            &mut bar,
        );
    }
}
