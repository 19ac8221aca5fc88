//! Overlays drawn over the current view, one component each: help, legend, sources. They
//! share the box they draw in: lines wrapped to its width, scrolled (never past the last row),
//! with a scrollbar and the rows shown when they do not all fit.

pub mod help;
pub mod legend;
pub mod sources;

use ratatui::Frame;
use ratatui::layout::Margin;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Clear, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState,
};

use crate::tui::action::{Action, Layer};
use crate::tui::app::App;
use crate::tui::component::{Ask, CommandInfo, Ctx};
use crate::tui::theme::Role;
use crate::tui::widgets::wrap::wrap;

pub use help::{HelpOverlay, Here};
pub use legend::LegendOverlay;
pub use sources::SourcesOverlay;

/// A centred box of at most `w`×`h` within `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The help page's lines for the app as it is: every action of the table, grouped, with its
/// current keys, the layer under the help first.
pub fn help_lines(app: &App) -> Vec<Line<'static>> {
    help::lines(&app.ctx(), &app.below_help(), app.jobs_read_only_here())
}

/// Columns for text inside an overlay at most `max_width` wide over `body_width`: less the
/// borders and the scrollbar's column.
pub(crate) fn text_width(max_width: u16, body_width: u16) -> usize {
    usize::from(max_width.min(body_width)).saturating_sub(3)
}

/// How far `lines` in an overlay at most `max_width` wide scroll before their last row reaches
/// the bottom of `body` (0 when all fits).
pub(crate) fn scroll_limit(lines: &[Line<'static>], max_width: u16, body: Rect) -> usize {
    let rows = wrap(lines, text_width(max_width, body.width)).len();
    let visible = usize::from(body.height.saturating_sub(2));
    rows.saturating_sub(visible)
}

/// The keys every overlay answers the same way: what else it opens, a poll.
pub(crate) fn common_ask(action: Action) -> Option<Ask> {
    match action {
        Action::Close => Some(Ask::Close),
        Action::Problems | Action::Top => Some(Ask::Open(action)),
        Action::Refresh => Some(Ask::PollNow),
        _ => None,
    }
}

/// An overlay's hint bar: close, the other page (`other`), problems, poll.
pub(crate) fn commands(other: Action) -> Vec<CommandInfo> {
    vec![
        CommandInfo::on(Action::Close),
        CommandInfo::on(other),
        CommandInfo::on(Action::Problems),
        CommandInfo::on(Action::Refresh),
    ]
}

/// The layer every overlay's keys are in.
pub(crate) const LAYER: Layer = Layer::List;

/// Draws an overlay box titled `title`, at most `max_width` wide, with `lines` wrapped to it
/// and scrolled to `scroll` (never past the last row).
pub(crate) fn draw_box(
    ctx: &Ctx<'_>,
    f: &mut Frame<'_>,
    area: Rect,
    (title, max_width): (&str, u16),
    lines: &[Line<'static>],
    scroll: usize,
) {
    let t = ctx.theme;
    let lines = wrap(lines, text_width(max_width, area.width));
    let h = (lines.len() as u16).saturating_add(2).min(area.height);
    let r = centered(area, max_width, h);
    let visible = usize::from(h.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(visible));
    f.render_widget(Clear, r);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            title.to_string(),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ))
        .border_style(t.fg(Role::DialogBorder))
        .style(t.fg(Role::Text).bg(t.color(Role::Dialog)));
    let more = lines.len() > visible;
    if more {
        block = block.title_bottom(
            Line::from(Span::styled(
                format!(
                    " lines {}–{} of {} ",
                    scroll + 1,
                    (scroll + visible).min(lines.len()),
                    lines.len()
                ),
                t.fg(Role::Muted),
            ))
            .right_aligned(),
        );
    }
    let block = if ctx.glyphs.unicode {
        block
    } else {
        block.border_set(ratatui::symbols::border::PLAIN)
    };
    let total = lines.len();
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll.min(usize::from(u16::MAX)) as u16, 0)),
        r,
    );
    if more {
        let mut bar = ScrollbarState::new(total.saturating_sub(visible)).position(scroll);
        let sb = if ctx.glyphs.unicode {
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
        } else {
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .symbols(ratatui::symbols::scrollbar::VERTICAL)
                .begin_symbol(Some("^"))
                .end_symbol(Some("v"))
                .track_symbol(Some("|"))
                .thumb_symbol("#")
        };
        f.render_stateful_widget(sb, r.inner(Margin::new(0, 1)), &mut bar);
    }
}
