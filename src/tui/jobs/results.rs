//! Job results: every job the manager knows, newest first, with its state, nodes, times, exit
//! code and why it ended so.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::JobsUi;
use crate::tui::component::Ctx;
use crate::tui::lists::table::{Column, ListRow, Selection, TableView, draw_table};
use crate::tui::theme::Role;
use crate::units::human_secs;

/// The columns; the reason takes what is left.
const COLUMNS: [Column<'static>; 10] = [
    Column::right("id"),
    Column::left("name").shrinks(1, 6),
    Column::left("user").shrinks(1, 5),
    Column::left("state"),
    Column::left("nodes").shrinks(0, 12),
    Column::right("submitted"),
    Column::right("started"),
    Column::right("ended"),
    Column::right("exit"),
    Column::left("reason"),
];

fn age(now: u64, t: Option<u64>) -> String {
    match t {
        Some(t) if now >= t => format!("{} ago", human_secs(now - t)),
        Some(_) => "now".into(),
        None => "–".into(),
    }
}

/// Draws the job results in `area`.
pub fn draw(ctx: &Ctx<'_>, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let t = ctx.theme;
    let jobs = j.visible_jobs();
    // Slurm's array tasks by the name Slurm gives them (5_3), never their raw id.
    let labels: std::collections::HashMap<u64, String> = j
        .slurm
        .as_ref()
        .map(|v| v.jobs.iter().map(|x| (x.id, x.label())).collect())
        .unwrap_or_default();
    let label = |id: u64| labels.get(&id).cloned().unwrap_or_else(|| id.to_string());
    let rows: Vec<ListRow> = jobs
        .iter()
        .map(|jb| ListRow {
            cells: vec![
                label(jb.id),
                jb.name.clone(),
                jb.user.clone(),
                jb.state.clone(),
                jb.nodes.clone(),
                // 0: not known (not "56 years ago").
                age(ctx.now, (jb.submitted > 0).then_some(jb.submitted)),
                age(ctx.now, jb.started),
                age(ctx.now, jb.ended),
                jb.exit.map_or("–".into(), |e| e.to_string()),
                // Why it ended so (a launch error), or why its state is unknown.
                jb.reason.clone(),
            ],
            role: match jb.state.as_str() {
                "failed" | "lost" => Role::Critical,
                "killed" | "unknown" => Role::Warn,
                "running" => Role::Ok,
                _ => Role::Text,
            },
        })
        .collect();
    let title = Line::from(vec![
        Span::styled(" Jobs ", t.fg(Role::Title).add_modifier(Modifier::BOLD)),
        Span::styled(
            format!("{} shown, newest first ", rows.len()),
            t.fg(Role::Muted),
        ),
    ]);
    j.page.set(Selection::page(area.height));
    let view = TableView {
        title: Some(title),
        columns: &COLUMNS,
        rows: &rows,
        empty: if j.filter.is_some() {
            "no job matches the filter"
        } else {
            "no jobs yet (n submits one)"
        },
        empty_role: Role::Muted,
        fill_last: true,
        header_when_empty: true,
        spacing: 1,
        ascii: !ctx.glyphs.unicode,
    };
    draw_table(f, area, t, &view, j.selected, j.scroll);
}
