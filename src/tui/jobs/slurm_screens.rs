//! What Slurm users expect beside the process monitor and the results: the partitions (state,
//! nodes and CPUs allocated/idle/other, time limit, running and pending jobs with their waits),
//! the nodes (CPUs and memory allocated of total, GRES, features, partitions, reason), and one
//! job in detail. All drawn from the last poll's `SlurmView`; the `/` filter keeps the rows
//! whose text matches (a user, a partition, a state).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::JobsUi;
use crate::slurm::parse::SlurmNode;
use crate::slurm::view::Partition;
use crate::tui::component::Ctx;
use crate::tui::lists::table::{Column, ListRow, Selection, TableView, draw_table};
use crate::tui::theme::Role;
use crate::units::human_secs;

const PARTITION_COLUMNS: [Column<'static>; 9] = [
    Column::left("partition").shrinks(1, 6),
    Column::left("state"),
    Column::right("nodes"),
    Column::right("CPUs"),
    Column::right("limit").shrinks(0, 5),
    Column::right("run"),
    Column::right("pend"),
    Column::right("max wait"),
    Column::right("median"),
];

/// The reason before the rest: it is what an operator looks for on a drained node. The first
/// column marks tagged nodes.
const NODE_COLUMNS: [Column<'static>; 9] = [
    Column::left(" "),
    Column::left("node").shrinks(2, 8),
    Column::left("state"),
    Column::right("CPUs"),
    Column::right("memory (MB)"),
    Column::left("reason").shrinks(1, 10),
    Column::left("partitions").shrinks(0, 6),
    Column::left("GRES").shrinks(0, 4),
    Column::left("features"),
];

fn four(n: [u32; 4]) -> String {
    format!("{}/{}/{}/{}", n[0], n[1], n[2], n[3])
}

fn wait(pending: usize, secs: u64) -> String {
    if pending == 0 {
        "–".into()
    } else {
        human_secs(secs)
    }
}

fn partition_cells(p: &Partition) -> Vec<String> {
    vec![
        p.name.clone(),
        p.state.clone(),
        four(p.nodes),
        four(p.cpus),
        p.time_limit.clone(),
        p.running.to_string(),
        p.pending.to_string(),
        wait(p.pending, p.longest_wait),
        wait(p.pending, p.median_wait),
    ]
}

fn node_cells(n: &SlurmNode) -> Vec<String> {
    vec![
        n.name.clone(),
        n.state_text(),
        format!("{}/{}", n.alloc_cpus, n.cpus),
        format!("{}/{}", n.alloc_memory, n.real_memory),
        n.reason.clone(),
        n.partitions.join(","),
        n.gres.clone(),
        n.features.clone(),
    ]
}

impl JobsUi {
    fn keeps(&self, cells: &[String]) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.keeps(&cells.join(" ")))
    }

    /// The partitions' rows the filter keeps.
    pub fn visible_partitions(&self) -> Vec<Vec<String>> {
        let Some(v) = &self.slurm else {
            return Vec::new();
        };
        v.partitions
            .iter()
            .map(partition_cells)
            .filter(|c| self.keeps(c))
            .collect()
    }

    /// The nodes' rows the filter keeps, in natural name order.
    pub fn visible_nodes(&self) -> Vec<Vec<String>> {
        let Some(v) = &self.slurm else {
            return Vec::new();
        };
        let mut nodes: Vec<&SlurmNode> = v.nodes.iter().collect();
        nodes.sort_by(|a, b| crate::tui::natural::natural_cmp(&a.name, &b.name));
        nodes
            .into_iter()
            .map(node_cells)
            .filter(|c| self.keeps(c))
            .collect()
    }

    /// Lines of the job detail screen.
    pub fn detail_lines(&self) -> usize {
        match &self.detail {
            Some((_, Ok(fields))) => fields.len(),
            _ => 1,
        }
    }
}

fn table(
    ctx: &Ctx<'_>,
    j: &JobsUi,
    f: &mut Frame<'_>,
    area: Rect,
    (title, columns): (Line<'_>, &[Column<'_>]),
    rows: Vec<Vec<String>>,
    role: impl Fn(&[String]) -> Role,
) {
    let rows: Vec<ListRow> = rows
        .into_iter()
        .map(|cells| ListRow {
            role: role(&cells),
            cells,
        })
        .collect();
    j.page.set(Selection::page(area.height));
    let view = TableView {
        title: Some(title),
        columns,
        rows: &rows,
        empty: if j.filter.is_some() {
            "nothing matches the filter"
        } else if j.slurm.is_none() {
            "Slurm has not answered yet"
        } else {
            "Slurm lists none"
        },
        empty_role: Role::Muted,
        fill_last: true,
        header_when_empty: true,
        spacing: 1,
        ascii: !ctx.glyphs.unicode,
    };
    draw_table(f, area, ctx.theme, &view, j.selected, j.scroll);
}

fn title<'a>(ctx: &Ctx<'_>, name: &str, info: String) -> Line<'a> {
    let t = ctx.theme;
    Line::from(vec![
        Span::styled(
            format!(" {name} "),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{info} "), t.fg(Role::Muted)),
    ])
}

/// Draws the partitions, with the queue's totals in the title.
pub fn draw_partitions(ctx: &Ctx<'_>, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let rows = j.visible_partitions();
    let (running, pending) = j.slurm.as_ref().map_or((0, 0), |v| {
        v.partitions
            .iter()
            .fold((0, 0), |(r, p), x| (r + x.running, p + x.pending))
    });
    let info = format!(
        "{} shown · {running} running, {pending} pending · nodes, CPUs: allocated/idle/other/total",
        rows.len()
    );
    table(
        ctx,
        j,
        f,
        area,
        (title(ctx, "Partitions", info), &PARTITION_COLUMNS),
        rows,
        |c| match c[1].as_str() {
            "up" => Role::Text,
            _ => Role::Warn,
        },
    );
}

/// Draws the nodes.
pub fn draw_nodes(ctx: &Ctx<'_>, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let rows: Vec<Vec<String>> = j
        .visible_nodes()
        .into_iter()
        .map(|mut cells| {
            let tagged = cells.first().is_some_and(|n| j.tagged_nodes.contains(n));
            cells.insert(0, if tagged { "*" } else { " " }.to_string());
            cells
        })
        .collect();
    let mut info = format!("{} shown · CPUs and memory: allocated/total", rows.len());
    if !j.tagged_nodes.is_empty() {
        info.push_str(&format!(" · {} tagged", j.tagged_nodes.len()));
    }
    table(
        ctx,
        j,
        f,
        area,
        (title(ctx, "Slurm nodes", info), &NODE_COLUMNS),
        rows,
        |c| {
            let s = c[2].as_str();
            if c[0] == "*" {
                return Role::Accent;
            }
            if s.starts_with("down") || s.contains("not_responding") || s.contains("fail") {
                Role::Critical
            } else if s.contains("drain") {
                Role::Warn
            } else {
                Role::Text
            }
        },
    );
}

/// Draws one job in detail: field, value; scrolled with the selection.
pub fn draw_detail(ctx: &Ctx<'_>, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let t = ctx.theme;
    let (label, lines): (&str, Vec<Line<'_>>) = match &j.detail {
        None => ("", vec![Line::from("no job chosen (i on a job)")]),
        Some((label, Err(e))) => (
            label,
            e.lines()
                .map(|l| Line::from(Span::styled(l.to_string(), t.fg(Role::Critical))))
                .collect(),
        ),
        Some((label, Ok(fields))) => {
            let w = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            (
                label,
                fields
                    .iter()
                    .map(|(k, v)| {
                        Line::from(vec![
                            Span::styled(format!(" {k:<w$}  "), t.fg(Role::Accent)),
                            Span::styled(v.clone(), t.fg(Role::Text)),
                        ])
                    })
                    .collect(),
            )
        }
    };
    let head = title(ctx, &format!("Job {label}"), "Esc back".into());
    f.render_widget(
        Paragraph::new(head),
        Rect::new(area.x, area.y, area.width, 1),
    );
    let body = Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(1),
    );
    j.page.set(usize::from(body.height).max(1));
    let first = j.selected.min(lines.len().saturating_sub(1));
    f.render_widget(
        Paragraph::new(lines.into_iter().skip(first).collect::<Vec<_>>()),
        body,
    );
}
