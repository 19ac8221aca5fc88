//! The grid view: every cluster on one screen — hosts up and down, CPUs, load (sum and
//! utilisation), memory in use, a sparkline of cluster load over the range, and a compact
//! field of its node tiles (down first, then hottest first). Remote grids show their summary.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Goto, Handled, JobsView};
use crate::tui::state::ClusterNumbers;
use crate::tui::state::{GridRow, GridState};
use crate::tui::theme::Role;
use crate::tui::views::common::{compact, draw_points, fitting, stale_style, with_units};
use crate::tui::views::host_view;
use crate::tui::widgets::tiles;
use crate::units::human_secs;

/// Lines each row takes in a body of `height` lines for `rows` rows.
pub fn lines_per_row(height: u16, rows: usize) -> u16 {
    if rows > 0 && height as usize >= rows * 3 {
        3
    } else {
        2
    }
}

/// Which row is at screen line `y`.
pub fn row_at(st: &GridState, body: Rect, y: u16) -> Option<usize> {
    if y < body.y || y >= body.y + body.height {
        return None;
    }
    let per = lines_per_row(body.height, st.rows.len());
    let i = st.scroll + ((y - body.y) / per) as usize;
    (i < st.rows.len()).then_some(i)
}

/// Rows that fit in the body.
pub fn visible_rows(st: &GridState, body: Rect) -> usize {
    (body.height / lines_per_row(body.height, st.rows.len())).max(1) as usize
}

impl GridState {
    /// Selects the row at screen line `y` of `body`; whether there was one.
    pub fn click(&mut self, body: Rect, y: u16) -> bool {
        let Some(i) = row_at(self, body, y) else {
            return false;
        };
        self.selected = i;
        self.moved = true;
        true
    }

    /// Enter: the selected cluster (showing only the hosts a search matched, when it was kept
    /// for them); a remote grid has no hosts here to open.
    fn drill(&self, ctx: &Ctx<'_>) -> Ask {
        match self.current() {
            Some(GridRow::Cluster(name)) => {
                let carried = self
                    .filter
                    .as_ref()
                    .filter(|_| self.current_host_matches() > 0);
                Ask::Go(match carried {
                    Some(f) => Goto::ClusterMatching {
                        cluster: name.clone(),
                        filter: f.text.clone(),
                    },
                    None => Goto::Cluster(name.clone()),
                })
            }
            Some(GridRow::Remote(name)) => {
                let auth = ctx
                    .snap
                    .remote_grids()
                    .find(|g| *g.name == **name)
                    .map(|g| g.authority.to_string())
                    .unwrap_or_default();
                Ask::Say(
                    true,
                    format!(
                        "{name} is a remote grid known only by its summary; its hosts are at {auth}"
                    ),
                )
            }
            None => Ask::Nothing,
        }
    }
}

impl Component for GridState {
    fn layer(&self) -> Layer {
        Layer::Monitor
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, body: Rect) {
        let t = ctx.theme;
        if self.rows.is_empty() {
            let msg = if self.filter.is_some() {
                " no cluster matches the filter".to_string()
            } else if ctx
                .snap
                .sources
                .iter()
                .all(|s| s.status.last_attempt.is_none())
            {
                " polling the sources…".to_string()
            } else {
                " no cluster has answered yet — press s for the sources".to_string()
            };
            f.render_widget(Paragraph::new(msg).style(t.fg(Role::Muted)), body);
            return;
        }
        let per = lines_per_row(body.height, self.rows.len());
        let visible = visible_rows(self, body);
        for (slot, i) in (self.scroll..self.rows.len()).take(visible).enumerate() {
            let area = Rect::new(
                body.x,
                body.y + slot as u16 * per,
                body.width,
                per.min(body.height),
            );
            match &self.rows[i] {
                GridRow::Cluster(name) => cluster_row(ctx, self, f, area, name, i),
                GridRow::Remote(name) => remote_row(ctx, self, f, area, name, i),
            }
        }
    }

    fn on_key(&mut self, ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        let cluster = self.cluster_name();
        let jobs = |open| Ask::Jobs {
            open,
            cluster: cluster.clone(),
            host: None,
        };
        Handled::Consumed(match a {
            Action::Up
            | Action::Down
            | Action::Left
            | Action::Right
            | Action::PageUp
            | Action::PageDown
            | Action::First
            | Action::Last => {
                self.navigate(a, visible_rows(self, ctx.body));
                Ask::Nothing
            }
            Action::Drill => self.drill(ctx),
            Action::Back if self.filter.is_some() => {
                self.filter = None;
                self.rebuild(ctx.snap, ctx.now, ctx.bands);
                Ask::Say(false, "filter cleared".into())
            }
            Action::Back => Ask::Say(false, "this is the top; q leaves".into()),
            Action::Filter => Ask::EditFilter,
            Action::Sort => Ask::Say(true, "sorting applies to a cluster's hosts".into()),
            Action::ColorBy => Ask::ColourBy(ctx.color_by.next_in(ctx.snap)),
            Action::Tag => Ask::Say(
                true,
                "tag hosts in a cluster's view (enter on a cluster)".into(),
            ),
            Action::Overlay => Ask::Say(true, host_view::OVERLAY_NEEDS_A_HOST.into()),
            Action::ExportGraph => {
                Ask::Say(true, "open a cluster or a host to export its graphs".into())
            }
            Action::Processes => jobs(JobsView::Processes),
            Action::JobResults => jobs(JobsView::Results),
            Action::Submit => jobs(JobsView::Submit),
            _ => return Handled::Ignored,
        })
    }

    fn commands(&self) -> Vec<CommandInfo> {
        use Action::*;
        // Help and quit first, so a narrow terminal still shows them.
        [
            Help, Quit, Problems, Top, Drill, Filter, Command, RangeDay, Refresh, Processes,
            Legend, Sources,
        ]
        .into_iter()
        .map(CommandInfo::on)
        .collect()
    }

    fn refresh(&mut self, ctx: &Ctx<'_>) {
        self.rebuild(ctx.snap, ctx.now, ctx.bands);
    }
}

fn marker(st: &GridState, unicode: bool, i: usize) -> &'static str {
    match (i == st.selected, unicode) {
        (true, true) => "▶",
        (true, false) => ">",
        _ => " ",
    }
}

fn stats_spans(ctx: &Ctx<'_>, n: &ClusterNumbers, wide: bool) -> Vec<Span<'static>> {
    let t = ctx.theme;
    let (up_word, down_word) = match (wide, ctx.glyphs.unicode) {
        (true, _) => (" up", " down"),
        (false, true) => ("↑", "↓"),
        (false, false) => ("u", "d"),
    };
    let sum = format!("(sum {})", compact(n.load_sum));
    let load = match (n.load_pct, wide) {
        (Some(l), true) => format!("  load {l:>4.0}% {sum:<12}"),
        (Some(l), false) => format!("  load {l:>3.0}%"),
        (None, _) => "  load  n/a".to_string(),
    };
    let mem = match (n.mem_pct, n.mem_total_kb, wide) {
        (Some(m), Some(kb), true) => format!("  mem {m:>3.0}% of {:>8}", with_units(kb, "KB")),
        (Some(m), _, _) => format!("  mem {m:>3.0}%"),
        (None, _, _) => "  mem  n/a".to_string(),
    };
    if let Some(known) = n.known_at {
        // Stale: the hosts are unknown now; every figure is from the last fresh data, greyed
        // and said to be so.
        let grey = stale_style(t);
        let unknown = if wide {
            format!(
                "{:>6} unknown for {}",
                n.hosts(),
                human_secs(ctx.now.saturating_sub(known))
            )
        } else {
            format!("{:>6} unknown", n.hosts())
        };
        let cpus = format!(" {} CPU{}", n.cpus, if wide { "s" } else { "" });
        let load = match (n.load_pct, wide) {
            (Some(l), true) => format!(" load {l:.0}% {sum}"),
            (Some(l), false) => format!(" load {l:.0}%"),
            (None, _) => " load n/a".to_string(),
        };
        let mem = match (n.mem_pct, n.mem_total_kb, wide) {
            (Some(m), Some(kb), true) => format!(" mem {m:.0}% of {}", with_units(kb, "KB")),
            (Some(m), _, _) => format!(" mem {m:.0}%"),
            (None, _, _) => " mem n/a".to_string(),
        };
        return vec![
            Span::styled(unknown, t.fg(Role::Stale).add_modifier(Modifier::BOLD)),
            Span::styled(
                if wide { " · last known:" } else { " · last:" },
                t.fg(Role::Stale).add_modifier(Modifier::ITALIC),
            ),
            Span::styled(format!(" {}{up_word}", n.up), grey),
            Span::styled(format!(" {}{down_word}", n.down), grey),
            Span::styled(cpus, grey),
            Span::styled(load, grey),
            Span::styled(mem, grey),
        ];
    }
    let down_style = if n.down > 0 {
        t.fg(Role::Critical).add_modifier(Modifier::BOLD)
    } else {
        t.fg(Role::Muted)
    };
    let muted_na = |s: String| {
        let style = if s.ends_with("n/a") {
            t.fg(Role::Muted)
        } else {
            t.fg(Role::Text)
        };
        Span::styled(s, style)
    };
    vec![
        Span::styled(format!("{:>6}{up_word}", n.up), t.fg(Role::Ok)),
        Span::styled(format!("{:>5}{down_word}", n.down), down_style),
        Span::styled(
            format!("{:>7} CPU{}", n.cpus, if wide { "s" } else { "" }),
            t.fg(Role::Text),
        ),
        muted_na(load),
        muted_na(mem),
    ]
}

fn cluster_row(ctx: &Ctx<'_>, st: &GridState, f: &mut Frame<'_>, area: Rect, name: &str, i: usize) {
    let t = ctx.theme;
    let Some(cv) = ctx.snap.cluster(name) else {
        return;
    };
    let n = st.numbers.get(i).copied().unwrap_or_default();
    let selected = i == st.selected;
    let name_style = match (selected, n.known_at) {
        (true, _) => t.selection(),
        (false, Some(_)) => stale_style(t).add_modifier(Modifier::BOLD),
        (false, None) => t.fg(Role::Title).add_modifier(Modifier::BOLD),
    };
    let age = match n.known_at {
        Some(_) => Span::styled(
            " STALE ",
            t.fg(Role::Stale)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ),
        None => Span::styled(
            format!(" {}", human_secs(cv.age(ctx.now) / 5 * 5)),
            t.fg(Role::Muted),
        ),
    };
    let mut spans = vec![
        Span::styled(marker(st, ctx.glyphs.unicode, i), t.fg(Role::Accent)),
        Span::styled(format!(" {:<14.14}", name), name_style),
    ];
    // Kept by a search for its hosts: say how many, first.
    let hits = st.host_matches.get(i).copied().unwrap_or(0);
    if hits > 0 {
        spans.push(Span::styled(
            format!(" {hits} host{} match ", if hits == 1 { "" } else { "s" }),
            t.fg(Role::Accent).add_modifier(Modifier::BOLD),
        ));
    }
    // Its scheduler cannot be reached: jobs can be neither listed nor acted on.
    if let Some(d) = ctx.scheduler_down(name) {
        spans.push(Span::styled(
            format!(
                " {} DOWN {} ",
                d.what,
                human_secs(ctx.now.saturating_sub(d.since))
            ),
            t.fg(Role::Critical)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
    }
    spans.extend(stats_spans(ctx, &n, area.width >= 120));
    let queue = ctx.queue(name);
    if let Some(q) = queue {
        spans.push(super::common::queue_span(ctx, q, area.width >= 120));
    }
    let spans = fitting(spans, (area.width as usize).saturating_sub(age.width() + 1));
    let used: usize = spans.iter().map(Span::width).sum::<usize>() + age.width() + 2;
    let spark_w = (area.width as usize).saturating_sub(used).min(40);
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(t.text()),
        Rect::new(area.x, area.y, area.width, 1),
    );
    // The queue's sparkline takes the right end of the room, the load's the rest.
    let queue_pts = queue.and_then(|_| st.queue_sparks.get(i).and_then(Option::as_ref));
    let queue_w = if queue_pts.is_some() && spark_w >= 20 {
        spark_w / 3
    } else {
        0
    };
    let load_w = spark_w - queue_w;
    if load_w >= 6 {
        let x = area.x + (used - age.width() - 1) as u16;
        if let Some(pts) = st.sparks.get(i).and_then(Option::as_ref) {
            let style = match n.known_at {
                Some(_) => stale_style(t),
                None => t.fg(Role::Graph),
            };
            let w = if queue_w > 0 { load_w - 1 } else { load_w };
            draw_points(ctx, f, Rect::new(x, area.y, w as u16, 1), pts, style);
        }
    }
    if let (Some(pts), true) = (queue_pts, queue_w > 0) {
        let x = area.x + (used - age.width() - 1 + load_w) as u16;
        draw_points(
            ctx,
            f,
            Rect::new(x, area.y, queue_w as u16, 1),
            pts,
            t.fg(Role::Accent),
        );
    }
    let age_x = area.x + area.width.saturating_sub(age.width() as u16);
    f.render_widget(
        Paragraph::new(Line::from(age)),
        Rect::new(age_x, area.y, area.width.min(age_x), 1),
    );
    // The tile field, one cell per host.
    let field = st.fields.get(i).map(Vec::as_slice).unwrap_or(&[]);
    let lines = area.height.saturating_sub(1) as usize;
    let width = (area.width as usize).saturating_sub(3);
    let capacity = width * lines;
    let buf = f.buffer_mut();
    for (k, state) in field.iter().enumerate() {
        if k >= capacity {
            break;
        }
        let more = field.len() - k;
        if k + 1 == capacity && more > 1 {
            let label = format!("+{more} more");
            let x = area.x + 2 + (width - label.len().min(width)) as u16;
            buf.set_string(x, area.y + 1 + (k / width) as u16, label, t.fg(Role::Muted));
            break;
        }
        let x = area.x + 2 + (k % width) as u16;
        let y = area.y + 1 + (k / width) as u16;
        buf.set_string(
            x,
            y,
            tiles::glyph(*state, ctx.glyphs.unicode),
            tiles::style(*state, t),
        );
    }
    if field.is_empty() && lines > 0 {
        let total = (n.up + n.down) as u64;
        let msg = if total == 0 {
            "  (no hosts)"
        } else {
            "  (summary only)"
        };
        buf.set_string(area.x, area.y + 1, msg, t.fg(Role::Muted));
    }
}

fn remote_row(ctx: &Ctx<'_>, st: &GridState, f: &mut Frame<'_>, area: Rect, name: &str, i: usize) {
    let t = ctx.theme;
    let Some(g) = ctx.snap.remote_grids().find(|g| &*g.name == name) else {
        return;
    };
    let n = st.numbers.get(i).copied().unwrap_or_default();
    let selected = i == st.selected;
    let name_style = match (selected, n.known_at) {
        (true, _) => t.selection(),
        (false, Some(_)) => stale_style(t).add_modifier(Modifier::BOLD),
        (false, None) => t.fg(Role::Title).add_modifier(Modifier::BOLD),
    };
    let mut spans = vec![
        Span::styled(marker(st, ctx.glyphs.unicode, i), t.fg(Role::Accent)),
        Span::styled(format!(" {:<14.14}", name), name_style),
    ];
    // Kept by a search for its hosts: say how many, first.
    let hits = st.host_matches.get(i).copied().unwrap_or(0);
    if hits > 0 {
        spans.push(Span::styled(
            format!(" {hits} host{} match ", if hits == 1 { "" } else { "s" }),
            t.fg(Role::Accent).add_modifier(Modifier::BOLD),
        ));
    }
    spans.extend(stats_spans(ctx, &n, area.width >= 120));
    f.render_widget(
        Paragraph::new(Line::from(fitting(spans, area.width as usize))).style(t.text()),
        Rect::new(area.x, area.y, area.width, 1),
    );
    if area.height > 1 {
        let line = format!(
            "  remote grid, known by its summary; full data at {}",
            g.authority
        );
        f.render_widget(
            Paragraph::new(line).style(t.fg(Role::Muted)),
            Rect::new(area.x, area.y + 1, area.width, 1),
        );
    }
}
