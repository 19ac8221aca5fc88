//! The cluster view: a summary line, the cluster's graphs, one tile per host (down hosts
//! first), and the selected host's details.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::aggregator::{ClusterView, Liveness, Snapshot};
use crate::tui::action::{Action, Layer};
use crate::tui::bands::{ColorBy, TileState};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Goto, Handled, JobsView};
use crate::tui::state::ClusterState;
use crate::tui::theme::Role;
use crate::tui::views::common::{Panel, compact, fitting, graph_panel, stale_style, with_units};
use crate::tui::views::host_view::OVERLAY_NEEDS_A_HOST;
use crate::tui::widgets::tile_field;
use crate::tui::widgets::tiles::{self, TileGeometry};
use crate::units::human_secs;

/// Where the parts of the cluster view go.
#[derive(Debug, Clone, Copy)]
pub struct Parts {
    /// One summary line.
    pub header: Rect,
    /// The graphs strip (may be empty on small screens).
    pub graphs: Rect,
    /// The tile field.
    pub tiles: Rect,
    /// The selected host's line.
    pub detail: Rect,
}

/// Splits the body.
pub fn parts(body: Rect) -> Parts {
    let graphs_h = match body.height {
        0..=11 => 0,
        12..=30 => 3,
        _ => 6,
    };
    let header = Rect::new(body.x, body.y, body.width, body.height.min(1));
    let graphs = Rect::new(
        body.x,
        body.y + 1,
        body.width,
        graphs_h.min(body.height.saturating_sub(1)),
    );
    let rest_y = graphs.y + graphs.height;
    let rest_h = (body.y + body.height).saturating_sub(rest_y);
    let tiles = Rect::new(body.x, rest_y, body.width, rest_h.saturating_sub(1));
    let detail = Rect::new(
        body.x,
        rest_y + tiles.height,
        body.width,
        u16::from(rest_h > 0),
    );
    Parts {
        header,
        graphs,
        tiles,
        detail,
    }
}

/// The tile geometry for the current state and body.
pub fn geometry(snap: &Snapshot, st: &ClusterState, body: Rect) -> TileGeometry {
    let p = parts(body);
    let longest = snap.cluster(&st.name).map_or(8, |cv| {
        cv.cluster
            .hosts
            .iter()
            .map(|h| h.name.chars().count())
            .max()
            .unwrap_or(8)
    });
    tiles::geometry(p.tiles.width, p.tiles.height, st.tiles.len(), longest)
}

/// Which tile is at a screen position.
pub fn tile_at(snap: &Snapshot, st: &ClusterState, body: Rect, x: u16, y: u16) -> Option<usize> {
    let p = parts(body);
    let g = geometry(snap, st, body);
    if !p.tiles.contains((x, y).into()) {
        return None;
    }
    let col = ((x - p.tiles.x) / g.width) as usize;
    let row = (y - p.tiles.y) as usize + st.scroll;
    if col >= g.per_row {
        return None;
    }
    let i = row * g.per_row + col;
    (i < st.tiles.len()).then_some(i)
}

/// What is said after tagging (`now_tagged`) or untagging `host`, `n` being tagged then.
pub fn tag_said(host: &str, now_tagged: bool, n: usize) -> String {
    if now_tagged {
        format!("tagged {host} ({n} tagged; v on a graphed metric overlays them)")
    } else {
        format!("untagged {host} ({n} tagged)")
    }
}

impl ClusterState {
    /// Moves the selection by a navigation action over the tile rows that fit in `body`,
    /// keeping it in view.
    fn navigate(&mut self, snap: &Snapshot, a: Action, body: Rect) {
        let g = geometry(snap, self, body);
        let per_row = g.per_row.max(1) as isize;
        let page = per_row * g.rows.max(1) as isize;
        let sel = self.selected as isize;
        let n = self.tiles.len() as isize;
        let target = match a {
            Action::Left => sel - 1,
            Action::Right => sel + 1,
            Action::Up => sel - per_row,
            Action::Down => sel + per_row,
            Action::PageUp => sel - page,
            Action::PageDown => sel + page,
            Action::First => 0,
            Action::Last => n - 1,
            _ => sel,
        };
        self.select(snap, target);
        self.keep_visible(g.per_row, g.rows);
    }

    /// Selects the tile at a screen position of `body`; whether there was one.
    pub fn click(&mut self, snap: &Snapshot, body: Rect, x: u16, y: u16) -> bool {
        let Some(p) = tile_at(snap, self, body, x, y) else {
            return false;
        };
        self.select(snap, p as isize);
        true
    }
}

impl Component for ClusterState {
    fn layer(&self) -> Layer {
        Layer::Monitor
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, body: Rect) {
        let t = ctx.theme;
        let Some(cv) = self.view(ctx.snap) else {
            let msg = format!(" cluster '{}' is not in the latest data", self.name);
            f.render_widget(Paragraph::new(msg).style(t.fg(Role::Warn)), body);
            return;
        };
        let p = parts(body);
        header(ctx, self, cv, f, p.header);
        graphs(ctx, self, f, p.graphs);
        tile_field::draw(ctx, self, cv, f, p.tiles);
        detail(ctx, self, cv, f, p.detail);
    }

    fn on_key(&mut self, ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        let selected = self.selected_host(ctx.snap).map(str::to_string);
        let name = self.name.clone();
        let jobs = |open, host| Ask::Jobs {
            open,
            cluster: Some(name.clone()),
            host,
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
                self.navigate(ctx.snap, a, ctx.body);
                Ask::Nothing
            }
            Action::Drill => match selected {
                Some(host) => Ask::Go(Goto::Host {
                    cluster: name.clone(),
                    host,
                }),
                None => Ask::Nothing,
            },
            Action::Back if self.filter.is_some() => {
                self.filter = None;
                self.rebuild(ctx.snap, ctx.now, ctx.bands);
                Ask::Say(false, "filter cleared".into())
            }
            Action::Back => Ask::Close,
            Action::Filter => Ask::EditFilter,
            Action::Sort => {
                self.sort = self.sort.next();
                self.rebuild(ctx.snap, ctx.now, ctx.bands);
                let label = self.sort.label();
                Ask::Say(
                    false,
                    format!("sorted by {label} (down hosts always first)"),
                )
            }
            Action::ColorBy => {
                self.color_by = ctx.color_by.next_in(ctx.snap);
                self.rebuild(ctx.snap, ctx.now, ctx.bands);
                Ask::ColourBy(self.color_by)
            }
            Action::Tag => match self.toggle_tag(ctx.snap) {
                Some((h, now)) => Ask::Say(false, tag_said(&h, now, self.tagged.len())),
                None => Ask::Say(true, "no host selected to tag".into()),
            },
            Action::Overlay => Ask::Say(true, OVERLAY_NEEDS_A_HOST.into()),
            Action::ExportGraph => Ask::Export,
            Action::Processes => jobs(JobsView::Processes, selected),
            Action::JobResults => jobs(JobsView::Results, None),
            Action::Submit => jobs(JobsView::Submit, None),
            _ => return Handled::Ignored,
        })
    }

    fn commands(&self) -> Vec<CommandInfo> {
        use Action::*;
        [
            Help,
            Quit,
            Problems,
            Top,
            Drill,
            Processes,
            Back,
            Sort,
            Filter,
            Command,
            RangeDay,
            ExportGraph,
            Legend,
            ColorBy,
            Tag,
        ]
        .into_iter()
        .map(CommandInfo::on)
        .collect()
    }

    fn refresh(&mut self, ctx: &Ctx<'_>) {
        self.rebuild(ctx.snap, ctx.now, ctx.bands);
    }
}

fn header(ctx: &Ctx<'_>, st: &ClusterState, cv: &ClusterView, f: &mut Frame<'_>, area: Rect) {
    let t = ctx.theme;
    let n = st.numbers;
    let mut spans = vec![Span::styled(
        format!(" {} ", cv.cluster.name),
        t.fg(Role::Title).add_modifier(Modifier::BOLD),
    )];
    // Its scheduler does not answer: the node states on the tiles are the last it gave.
    if let Some(d) = ctx.scheduler_down(&cv.cluster.name) {
        spans.push(Span::styled(
            format!(
                " {} DOWN {}: scheduler marks last known ",
                d.what,
                human_secs(ctx.now.saturating_sub(d.since))
            ),
            t.fg(Role::Critical)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
    }
    // Stale: hosts are unknown now, and every figure after "last known" is from then.
    let (text, ok, bad) = match n.known_at {
        Some(known) => {
            spans.push(Span::styled(
                format!(
                    " {} unknown for {} ",
                    n.hosts(),
                    human_secs(ctx.now.saturating_sub(known))
                ),
                t.fg(Role::Stale).add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(
                "· last known:",
                t.fg(Role::Stale).add_modifier(Modifier::ITALIC),
            ));
            let g = stale_style(t);
            (g, g, g)
        }
        None => (
            t.fg(Role::Text),
            t.fg(Role::Ok),
            if n.down > 0 {
                t.fg(Role::Critical).add_modifier(Modifier::BOLD)
            } else {
                t.fg(Role::Muted)
            },
        ),
    };
    spans.push(Span::styled(format!(" {} up ", n.up), ok));
    spans.push(Span::styled(format!("{} down ", n.down), bad));
    if let Some(q) = ctx.queue(&cv.cluster.name) {
        spans.push(super::common::queue_span(ctx, q, true));
        let p = &q.pressure;
        let powered = [
            (p.powered_down, "powered down"),
            (p.powering_up, "powering up"),
            (p.powering_down, "powering down"),
        ];
        for (n, word) in powered.iter().filter(|(n, _)| *n > 0) {
            spans.push(Span::styled(format!(", {n} {word}"), t.fg(Role::Muted)));
        }
        // What the manager's provisioning or release command last did.
        if let Some(a) = q.actions.last() {
            let ago = human_secs(ctx.now.saturating_sub(a.at));
            let (text, role) = match (a.dry_run, &a.error) {
                (true, _) => (
                    format!(" · would {} {} ({ago} ago, dry run)", a.what, a.count),
                    Role::Muted,
                ),
                (false, Some(_)) => (
                    format!(" · {} of {} FAILED {ago} ago", a.what, a.count),
                    Role::Critical,
                ),
                (false, None) => (format!(" · {} {} {ago} ago", a.what, a.count), Role::Muted),
            };
            spans.push(Span::styled(text, t.fg(role)));
        }
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(format!(" {} CPUs ", n.cpus), text));
    if let Some(l) = n.load_pct {
        spans.push(Span::styled(
            format!(" load {l:.0}% (sum {}) ", compact(n.load_sum)),
            text,
        ));
    }
    match (n.mem_pct, n.mem_total_kb) {
        (Some(m), Some(kb)) => spans.push(Span::styled(
            format!(" mem {m:.0}% of {} used ", with_units(kb, "KB")),
            text,
        )),
        (Some(m), None) => spans.push(Span::styled(format!(" mem {m:.0}% used "), text)),
        _ => {}
    }
    spans.push(Span::styled(
        format!(" via {} ", cv.source),
        t.fg(Role::Muted),
    ));
    let spans = fitting(spans, area.width as usize);
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
}

/// The cluster's graphs, from the series prepared with the state (never the live store).
fn graphs(ctx: &Ctx<'_>, st: &ClusterState, f: &mut Frame<'_>, area: Rect) {
    if area.height == 0 {
        return;
    }
    // The queue's graphs join the cluster's where its job backend reports a queue.
    let queue = crate::graph::QUEUE_GRAPHS
        .iter()
        .zip(&st.queue_graphs)
        .map(|((_, label, units), s)| (*label, *units, s.as_ref()));
    let panels: Vec<(&str, &str, Option<&crate::history::Series>)> = crate::graph::CLUSTER_GRAPHS
        .iter()
        .enumerate()
        .map(|(i, (_, label, _, units))| {
            (*label, *units, st.graphs.get(i).and_then(Option::as_ref))
        })
        .chain(queue)
        .collect();
    let w = area.width / panels.len() as u16;
    for (i, (label, units, series)) in panels.into_iter().enumerate() {
        let r = Rect::new(area.x + i as u16 * w, area.y, w, area.height);
        graph_panel(
            ctx,
            f,
            r,
            Panel {
                label,
                units,
                series,
                label_has_value: false,
                selected: false,
            },
        );
    }
}

fn detail(ctx: &Ctx<'_>, st: &ClusterState, cv: &ClusterView, f: &mut Frame<'_>, area: Rect) {
    let t = ctx.theme;
    let Some(tile) = st.tiles.get(st.selected) else {
        return;
    };
    let h = &cv.cluster.hosts[tile.host as usize];
    let heard = u64::from(h.tn) + cv.age(ctx.now);
    let mut spans = vec![Span::styled(
        format!(" {} ", h.name),
        t.fg(Role::Title).add_modifier(Modifier::BOLD),
    )];
    let cpus = h.value("cpu_num").map_or("?".into(), |c| format!("{c:.0}"));
    let load = h
        .value("load_one")
        .map_or("?".into(), |l| format!("{l:.2}"));
    let load_words = format!("load {load} on {cpus} CPUs ({:.0}%)", tile.load * 100.0);
    match (tile.state, cv.liveness(h, ctx.now)) {
        (TileState::Unknown, Liveness::Unknown { since, was_up }) => {
            spans.push(Span::styled(
                format!(
                    " UNKNOWN since {} ago ",
                    human_secs(ctx.now.saturating_sub(since))
                ),
                t.fg(Role::Stale)
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ));
            let then = if was_up {
                format!(" last known: up, {load_words} ")
            } else {
                " last known: down ".to_string()
            };
            spans.push(Span::styled(then, stale_style(t)));
        }
        (TileState::Down, _) => spans.push(Span::styled(
            format!(" DOWN — last heard {} ago ", human_secs(heard)),
            t.fg(Role::Critical).add_modifier(Modifier::BOLD),
        )),
        _ => {
            spans.push(Span::styled(format!(" {load_words} "), t.fg(Role::Text)));
            // What the tile's colour stands for, when it is not the load.
            if let Some(v) = tile.value.filter(|_| st.color_by != ColorBy::Load) {
                spans.push(Span::styled(
                    format!(" {} ", st.color_by.describe(v)),
                    t.fg(Role::Accent),
                ));
            }
            spans.push(Span::styled(
                format!(" heard {} ago ", human_secs(heard)),
                t.fg(Role::Muted),
            ));
        }
    }
    spans.push(Span::styled(format!(" {} ", h.ip), t.fg(Role::Muted)));
    spans.push(Span::styled(
        format!(" {}/{} hosts ", st.selected + 1, st.tiles.len()),
        t.fg(Role::Muted),
    ));
    if !st.tagged.is_empty() {
        spans.push(Span::styled(
            format!(" {} tagged ", st.tagged.len()),
            t.fg(Role::Accent),
        ));
    }
    let spans = fitting(spans, area.width as usize);
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
}
