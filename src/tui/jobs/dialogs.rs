//! What the job-control dialogs share: one-line text fields, the outbox a dialog leaves its
//! link commands and messages in, and the dialog frame, laid out once from a list of rows so
//! the size and the drawing cannot disagree.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use tui_textarea::TextArea;

pub use super::kill_dialog::KillDialog;
pub use super::login_dialog::LoginDialog;
pub use super::migrate_dialog::{MigrateDialog, overloaded};
use crate::jobs::JobCommand;
use crate::tui::component::Ctx;
use crate::tui::overlays::centered;
use crate::tui::theme::Role;

/// A one-line text field.
pub fn field(placeholder: &str, text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_string()]);
    t.set_placeholder_text(placeholder.to_string());
    t.set_cursor_line_style(Style::default());
    t.move_cursor(tui_textarea::CursorMove::End);
    t.set_block(Block::default().borders(Borders::NONE));
    t
}

/// The text of a one-line field.
pub fn text(t: &TextArea<'_>) -> String {
    t.lines().first().cloned().unwrap_or_default()
}

/// What a dialog leaves for job control after a key: a command for the manager link and a
/// status-line message. Dialogs cannot reach the link themselves, so drawing and keys stay
/// free of I/O and testable.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Send this to the link.
    pub command: Option<JobCommand>,
    /// Say this on the status line: (error?, text).
    pub message: Option<(bool, String)>,
}

impl Outbox {
    /// Leaves a message.
    pub fn say(&mut self, error: bool, text: impl Into<String>) {
        self.message = Some((error, text.into()));
    }
}

/// One row of a dialog, before it is laid out.
pub enum Row<'a> {
    /// One line, cut at the border.
    Line(Line<'a>),
    /// Text wrapped to the dialog's width: every word is shown.
    Wrap(String, Style),
    /// A label, then a text field from column `at`.
    Field {
        /// The label.
        label: Line<'a>,
        /// Where the field starts, from the inner left edge.
        at: u16,
        /// The field.
        input: &'a TextArea<'static>,
    },
    /// Room the dialog fills itself (a table, the form's fields): `want` rows, fewer (down to
    /// `min`) when the dialog would not fit.
    Slot {
        /// Rows wanted.
        want: u16,
        /// Rows at least.
        min: u16,
    },
    /// An empty row.
    Gap,
}

/// A row placed on screen.
pub enum Placed<'a> {
    /// A line.
    Line(Line<'a>),
    /// A label and its field (the field's area).
    Field(Line<'a>, &'a TextArea<'static>, Rect),
    /// A slot's area.
    Slot(Rect),
    /// Nothing to draw.
    Gap,
}

/// A dialog laid out: its frame, inner area and rows, each one line high but slots.
pub struct Laid<'a> {
    /// The whole dialog, border included.
    pub outer: Rect,
    /// Inside the border.
    pub inner: Rect,
    /// Rows, top to bottom, with their areas.
    pub rows: Vec<(Rect, Placed<'a>)>,
}

impl Laid<'_> {
    /// The areas of the slots, in order.
    pub fn slots(&self) -> Vec<Rect> {
        self.rows
            .iter()
            .filter_map(|(_, p)| match p {
                Placed::Slot(r) => Some(*r),
                _ => None,
            })
            .collect()
    }
}

/// Words of `text` in lines of at most `width` columns, each starting with a space as dialog
/// lines do; a word longer than a line is split.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    // Widths are terminal cells: a double-width character takes two.
    let width = width.saturating_sub(1).max(2);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_w = 0;
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let need = word.width() + usize::from(cur_w > 0);
            if cur_w + need <= width {
                if cur_w > 0 {
                    cur.push(' ');
                }
                cur.push_str(&word);
                cur_w += need;
                break;
            }
            if cur_w > 0 {
                out.push(format!(" {}", std::mem::take(&mut cur)));
                cur_w = 0;
                continue;
            }
            // A word wider than a line: cut it at the last character that fits.
            let mut used = 0;
            let cut = word
                .char_indices()
                .find(|(_, c)| {
                    used += c.width().unwrap_or(0);
                    used > width
                })
                .map_or(word.len(), |(i, _)| {
                    i.max(word.chars().next().map_or(1, char::len_utf8))
                });
            let rest = word.split_off(cut);
            out.push(format!(" {word}"));
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if cur_w > 0 || out.is_empty() {
        out.push(format!(" {cur}"));
    }
    out
}

/// Lays `rows` out in a dialog `width` columns wide (at most `area`'s), centred in `area`, as
/// high as its rows need (at most `area`'s height: slots give up rows first).
pub fn lay_out<'a>(area: Rect, width: u16, rows: Vec<Row<'a>>) -> Laid<'a> {
    let width = width.min(area.width);
    let inner_w = width.saturating_sub(2);
    // Wrapped text becomes lines now that the width is known.
    let mut flat: Vec<Row<'a>> = Vec::new();
    for r in rows {
        match r {
            Row::Wrap(t, style) => flat.extend(
                wrap(&t, usize::from(inner_w))
                    .into_iter()
                    .map(|l| Row::Line(Line::from(Span::styled(l, style)))),
            ),
            r => flat.push(r),
        }
    }
    let room = area.height.saturating_sub(2);
    let mut heights: Vec<u16> = flat
        .iter()
        .map(|r| match r {
            Row::Slot { want, .. } => *want,
            _ => 1,
        })
        .collect();
    let mut over = heights
        .iter()
        .fold(0u16, |a, h| a.saturating_add(*h))
        .saturating_sub(room);
    for (r, h) in flat.iter().zip(heights.iter_mut()) {
        if let Row::Slot { min, .. } = r {
            let give = over.min(h.saturating_sub(*min));
            *h -= give;
            over -= give;
        }
    }
    let height = heights.iter().fold(0u16, |a, h| a.saturating_add(*h));
    let outer = centered(area, width, height.saturating_add(2));
    let inner = Rect::new(
        outer.x.saturating_add(1),
        outer.y.saturating_add(1),
        outer.width.saturating_sub(2),
        outer.height.saturating_sub(2),
    );
    let mut y = inner.y;
    let bottom = inner.y.saturating_add(inner.height);
    let mut placed = Vec::new();
    for (r, h) in flat.into_iter().zip(heights) {
        // What does not fit is left out rather than drawn over the border.
        if y.saturating_add(h) > bottom {
            break;
        }
        let area = Rect::new(inner.x, y, inner.width, h);
        let p = match r {
            Row::Line(l) => Placed::Line(l),
            Row::Field { label, at, input } => {
                let at = at.min(inner.width);
                let f = Rect::new(inner.x + at, y, inner.width - at, 1);
                Placed::Field(label, input, f)
            }
            Row::Slot { .. } => Placed::Slot(area),
            Row::Gap | Row::Wrap(..) => Placed::Gap,
        };
        placed.push((area, p));
        y += h;
    }
    Laid {
        outer,
        inner,
        rows: placed,
    }
}

/// Draws a laid-out dialog's frame and rows; its slots are left to the dialog.
pub fn draw_laid(ctx: &Ctx<'_>, f: &mut Frame<'_>, laid: &Laid<'_>, title: &str) {
    let t = ctx.theme;
    f.render_widget(Clear, laid.outer);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            title.to_string(),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ))
        .border_style(t.fg(Role::DialogBorder))
        .style(t.fg(Role::Text).bg(t.color(Role::Dialog)));
    if !ctx.glyphs.unicode {
        block = block.border_set(ratatui::symbols::border::PLAIN);
    }
    f.render_widget(block, laid.outer);
    for (area, p) in &laid.rows {
        match p {
            Placed::Line(l) => f.render_widget(Paragraph::new(l.clone()), *area),
            Placed::Field(label, input, at) => {
                f.render_widget(Paragraph::new(label.clone()), *area);
                f.render_widget(*input, *at);
            }
            Placed::Slot(_) | Placed::Gap => {}
        }
    }
}

/// A button: `[ label ]`, highlighted when focused, red when it does harm.
pub fn button(ctx: &Ctx<'_>, label: &str, focused: bool, danger: bool) -> Span<'static> {
    let t = ctx.theme;
    let style = match (focused, danger) {
        (true, _) => t.selection().add_modifier(Modifier::BOLD),
        (false, true) => t.fg(Role::Critical),
        (false, false) => t.fg(Role::Text),
    };
    Span::styled(format!("[ {label} ]"), style)
}

/// Whether a far-reaching action's typed confirmation holds: nothing was asked (`word` is
/// `None`), or exactly the word was typed.
pub fn typed_confirms(word: Option<&str>, input: &TextArea<'_>) -> bool {
    word.is_none_or(|w| text(input).trim() == w)
}

/// What is said when it does not.
pub fn type_to_confirm(word: Option<&str>) -> String {
    format!("type {} to confirm", word.unwrap_or_default())
}

/// The typed confirmation: what to type (`what`, `word`), then its field, accented while it
/// has the focus.
pub fn confirm_rows<'a>(
    ctx: &Ctx<'_>,
    rows: &mut Vec<Row<'a>>,
    (what, word): (&str, &str),
    focused: bool,
    input: &'a TextArea<'static>,
) {
    let style = if focused {
        ctx.theme.fg(Role::Accent)
    } else {
        ctx.theme.fg(Role::Text)
    };
    rows.push(Row::Wrap(
        format!("type {what} ({word}) to confirm:"),
        style,
    ));
    rows.push(Row::Field {
        label: Line::from(Span::styled(" >", style)),
        at: 3,
        input,
    });
    rows.push(Row::Gap);
}

/// Per-item outcomes once sent: `waiting` until the first arrives, then ✓ (with what it is
/// now, when said) or ✗ with the error line by line, the first `max` of them, the rest counted.
pub fn result_rows(
    ctx: &Ctx<'_>,
    rows: &mut Vec<Row<'_>>,
    results: &[(String, Result<String, String>)],
    waiting: &str,
    max: usize,
) {
    let t = ctx.theme;
    rows.push(Row::Gap);
    if results.is_empty() {
        rows.push(Row::Line(Line::from(Span::styled(
            format!(" {waiting}"),
            t.fg(Role::Muted),
        ))));
    }
    for (what, r) in results.iter().take(max) {
        match r {
            Ok(now) if now.is_empty() => rows.push(Row::Wrap(format!("✓ {what}"), t.fg(Role::Ok))),
            Ok(now) => rows.push(Row::Wrap(format!("✓ {what}: {now}"), t.fg(Role::Ok))),
            Err(e) => {
                for (i, l) in e.lines().enumerate() {
                    let head = if i == 0 {
                        format!("✗ {what}: ")
                    } else {
                        "  ".into()
                    };
                    rows.push(Row::Wrap(format!("{head}{l}"), t.fg(Role::Critical)));
                }
            }
        }
    }
    if results.len() > max {
        let failed = results.iter().filter(|(_, r)| r.is_err()).count();
        rows.push(Row::Line(Line::from(format!(
            "   … and {} more ({failed} failed in all)",
            results.len() - max
        ))));
    }
}

/// A one-of-many chooser in `area`: `(•)` on the chosen item, scrolled to keep it in view,
/// highlighted while the chooser has the focus.
pub fn draw_choice(
    ctx: &Ctx<'_>,
    f: &mut ratatui::Frame<'_>,
    area: Rect,
    items: &[String],
    chosen: usize,
    focused: bool,
) {
    let t = ctx.theme;
    let h = usize::from(area.height).max(1);
    let first = chosen.saturating_sub(h - 1);
    let lines: Vec<Line<'_>> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(h)
        .map(|(i, name)| {
            let mark = if i == chosen { "(•)" } else { "( )" };
            let style = if i == chosen && focused {
                t.selection()
            } else if i == chosen {
                t.fg(Role::Accent)
            } else {
                t.fg(Role::Text)
            };
            Line::from(Span::styled(format!("   {mark} {name}"), style))
        })
        .collect();
    f.render_widget(ratatui::widgets::Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word() {
        let w = wrap("Total Tasks: 4000000000 is more than a job may have", 20);
        assert!(w.iter().all(|l| l.chars().count() <= 20), "{w:?}");
        let joined: Vec<&str> = w.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(
            joined.join(" "),
            "Total Tasks: 4000000000 is more than a job may have"
        );
        assert_eq!(wrap("abcdefghij", 6), vec![" abcde", " fghij"]);
        assert_eq!(wrap("", 10), vec![" "]);
        // Double-width characters count two cells each.
        assert_eq!(wrap("計算ノード 七", 7), vec![" 計算ノ", " ード", " 七"]);
        assert_eq!(wrap("計算", 2), vec![" 計", " 算"]);
    }

    #[test]
    fn slots_give_up_rows_when_the_dialog_does_not_fit() {
        let rows = vec![
            Row::Line(Line::from("a")),
            Row::Slot { want: 20, min: 3 },
            Row::Line(Line::from("b")),
        ];
        let laid = lay_out(Rect::new(0, 0, 80, 12), 60, rows);
        assert_eq!(laid.outer.height, 12);
        assert_eq!(laid.slots(), vec![Rect::new(11, 2, 58, 8)]);
        assert_eq!(laid.rows.len(), 3, "the line after the slot still shows");
    }
}
