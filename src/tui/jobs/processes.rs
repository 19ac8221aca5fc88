//! The process monitor: processes on the cluster's nodes (or one host's), busiest first by
//! default, tagged ones marked, full node names while they fit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::{JobsUi, ProcSort};
use crate::tui::component::Ctx;
use crate::tui::lists::table::{Column, ListRow, Selection, TableView, draw_table};
use crate::tui::theme::Role;
use crate::units::human_bytes;

/// The columns: node names give up width last, after process and user names.
const COLUMNS: [Column<'static>; 9] = [
    Column::left(" "),
    Column::left("node").shrinks(1, 12),
    Column::right("pid"),
    Column::left("S"),
    Column::left("name").shrinks(0, 10),
    Column::left("user").shrinks(0, 8),
    Column::right("CPU%"),
    Column::right("memory"),
    Column::left("job"),
];

/// The list's title: what is listed, where, in what order.
fn title<'a>(ctx: &Ctx<'_>, j: &JobsUi, shown: usize) -> Line<'a> {
    let t = ctx.theme;
    let sort = match j.sort {
        ProcSort::Cpu => "CPU",
        ProcSort::Memory => "memory",
        ProcSort::Node => "node",
    };
    let place = match &j.host_scope {
        Some(h) => format!(" Processes on {h} "),
        None => " Processes ".to_string(),
    };
    let mut info = format!("{shown} shown, by {sort}");
    if !j.tagged.is_empty() {
        info.push_str(&format!(", {} tagged", j.tagged.len()));
    }
    Line::from(vec![
        Span::styled(place, t.fg(Role::Title).add_modifier(Modifier::BOLD)),
        Span::styled(format!("{info} "), t.fg(Role::Muted)),
    ])
}

/// Draws the process monitor in `area`.
pub fn draw(ctx: &Ctx<'_>, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let procs = j.visible_procs();
    let rows: Vec<ListRow> = procs
        .iter()
        .map(|p| {
            let tagged = j.tagged.contains(&(p.node.clone(), p.pid));
            ListRow {
                cells: vec![
                    if tagged { "*" } else { " " }.to_string(),
                    p.node.clone(),
                    p.pid.to_string(),
                    p.state.to_string(),
                    p.name.clone(),
                    p.user.clone(),
                    format!("{:.1}", p.cpu_pct),
                    human_bytes(p.rss_kb.saturating_mul(1024)),
                    p.job.clone(),
                ],
                role: if tagged { Role::Accent } else { Role::Text },
            }
        })
        .collect();
    let empty = if j.login.is_none() {
        "log in to see processes (Enter)"
    } else if j.filter.is_some() {
        "no process matches the filter"
    } else if let (true, Some(h)) = (rows.is_empty(), &j.host_scope) {
        // Said plainly: a host without an agent has no processes to list.
        return draw_empty_scoped(ctx, j, f, area, h);
    } else {
        "no processes"
    };
    j.page.set(Selection::page(area.height));
    let view = TableView {
        title: Some(title(ctx, j, rows.len())),
        columns: &COLUMNS,
        rows: &rows,
        empty,
        empty_role: Role::Muted,
        fill_last: true,
        header_when_empty: true,
        spacing: 1,
        ascii: !ctx.glyphs.unicode,
    };
    draw_table(f, area, ctx.theme, &view, j.selected, j.scroll);
}

fn draw_empty_scoped(ctx: &Ctx<'_>, j: &JobsUi, f: &mut Frame<'_>, area: Rect, host: &str) {
    let msg = format!(
        "no processes listed on {host}: its manager has no agent there, or it runs nothing (p on \
         another host, Esc back)"
    );
    let view = TableView {
        title: Some(title(ctx, j, 0)),
        columns: &COLUMNS,
        rows: &[],
        empty: &msg,
        empty_role: Role::Muted,
        fill_last: true,
        header_when_empty: true,
        spacing: 1,
        ascii: !ctx.glyphs.unicode,
    };
    draw_table(f, area, ctx.theme, &view, 0, 0);
}
