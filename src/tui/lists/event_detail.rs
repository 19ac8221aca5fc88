//! One template's messages (Enter in the events view): the template, its severity, counts,
//! hosts and the last hour per minute above the messages kept, newest first, each with the
//! Ganglia host (and cluster) that sent it. Enter on a message opens that host.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::events::{Detail, HostScope, sparkline};
use super::table::{Column, ListRow, TableView, draw_table};
use crate::triage::events::{HostIndex, minutes_to, rate, severity_word};
use crate::tui::component::Ctx;
use crate::tui::theme::Role;
use crate::units::human_secs;

/// Hosts named on the hosts line, the busiest first.
const HOSTS_SHOWN: usize = 8;

/// Draws one template's messages in `area`.
pub fn draw(
    ctx: &Ctx<'_>,
    f: &mut Frame<'_>,
    area: Rect,
    d: &Detail,
    hosts: &HostIndex,
    scope: Option<&HostScope>,
) {
    let t = ctx.theme;
    f.render_widget(Clear, area);
    let Some(st) = &d.stats else {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.fg(Role::Border))
            .title(" Template ")
            .style(t.text());
        let p = Paragraph::new("This template was forgotten (the least used go past the cap).")
            .style(t.fg(Role::Warn))
            .block(block);
        f.render_widget(p, area);
        return;
    };
    let r = rate(st, ctx.now, ctx.events.map_or(0, |e| e.since));
    let title = Line::from(vec![
        Span::styled(
            format!(" Template {} ", d.id),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(
                "{} · {} messages from {} hosts · {} in 5 min{} · first {} ago, last {} ago ",
                severity_word(st.severity),
                st.count,
                st.hosts.len() as u64 + st.more_hosts,
                r.now,
                match r.baseline {
                    Some(b) if b > 0.0 => format!(" ({:.1}× usual)", r.ratio),
                    Some(_) if r.now > 0 => " (not heard before)".to_string(),
                    _ => String::new(),
                },
                human_secs(ctx.now.saturating_sub(st.first)),
                human_secs(ctx.now.saturating_sub(st.last)),
            ),
            t.fg(Role::Muted),
        ),
    ]);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.fg(Role::Border))
        .title(title)
        .style(t.text());
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut busiest: Vec<(&String, &u64)> = st.hosts.iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let more = busiest.len().saturating_sub(HOSTS_SHOWN) as u64 + st.more_hosts;
    let mut hosts_line: Vec<String> = busiest
        .iter()
        .take(HOSTS_SHOWN)
        .map(|(h, n)| format!("{h} ({n})"))
        .collect();
    if more > 0 {
        hosts_line.push(format!("and {more} more"));
    }
    let minutes = minutes_to(st, ctx.now);
    let spark_width = usize::from(inner.width.saturating_sub(14)).clamp(1, minutes.len().max(1));
    let head = vec![
        Line::styled(st.text.clone(), t.fg(Role::Accent)),
        Line::from(vec![
            Span::styled("last hour  ", t.fg(Role::Muted)),
            Span::styled(
                sparkline(&minutes, spark_width, ctx.glyphs.unicode),
                t.fg(Role::Graph),
            ),
        ]),
        Line::from(vec![
            Span::styled("hosts      ", t.fg(Role::Muted)),
            Span::raw(hosts_line.join(", ")),
        ]),
    ];
    let head_height = {
        let w = usize::from(inner.width.max(1));
        let text_rows = st.text.chars().count().div_ceil(w).max(1);
        let host_rows = (11 + hosts_line.join(", ").chars().count())
            .div_ceil(w)
            .max(1);
        (text_rows + 1 + host_rows) as u16
    };
    let [top, list] = Layout::vertical([
        Constraint::Length(head_height.min(inner.height / 2).max(1)),
        Constraint::Min(1),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), top);
    let rows: Vec<ListRow> = st
        .samples
        .iter()
        .rev()
        .map(|s| {
            let at = hosts.find(&s.host);
            let mine =
                scope.is_none_or(|sc| at.is_some_and(|(c, h)| *c == sc.cluster && *h == sc.host));
            ListRow {
                cells: vec![
                    human_secs(ctx.now.saturating_sub(s.at)),
                    s.host.clone(),
                    at.map_or_else(|| "-".to_string(), |(c, _)| c.clone()),
                    s.app.clone(),
                    s.text.clone(),
                ],
                role: if mine { Role::Text } else { Role::Muted },
            }
        })
        .collect();
    let columns = [
        Column::right("ago"),
        Column::left("host"),
        Column::left("cluster"),
        Column::left("program"),
        Column::left("message"),
    ];
    let view = TableView {
        title: None,
        columns: &columns,
        rows: &rows,
        empty: "No message kept.",
        empty_role: Role::Muted,
        fill_last: true,
        header_when_empty: true,
        spacing: 1,
        ascii: !ctx.glyphs.unicode,
    };
    d.sel.remember_page(list.height + 2);
    let offset = draw_table(f, list, t, &view, d.sel.selected, d.sel.offset());
    d.sel.remember_offset(offset);
}
