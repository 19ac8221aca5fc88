//! The top list (`t`, `:top [METRIC]`): the hottest hosts across every cluster, by load ÷ CPUs
//! or by any metric; `o` cycles load, CPU, memory and network. Enter opens the host, `p` its
//! processes.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::table::{ListContent, ListRow, Selection, draw_list};
use crate::triage::top::{TopBy, TopRow, top_hosts};
use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Goto, Handled};
use crate::tui::theme::Role;

/// How many hosts the list holds.
pub const TOP_LIMIT: usize = 200;

/// The top list.
#[derive(Debug)]
pub struct TopList {
    by: TopBy,
    rows: Vec<TopRow>,
    sel: Selection,
}

impl TopList {
    /// The hottest hosts by `by` in what `ctx` holds now.
    pub fn new(ctx: &Ctx<'_>, by: TopBy) -> Self {
        let mut me = Self {
            by,
            rows: Vec::new(),
            sel: Selection::default(),
        };
        me.refresh(ctx);
        me
    }

    /// The rows shown.
    pub fn rows(&self) -> &[TopRow] {
        &self.rows
    }

    fn selected(&self) -> Option<&TopRow> {
        self.rows.get(self.sel.selected)
    }
}

impl Component for TopList {
    fn layer(&self) -> Layer {
        Layer::List
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let t = ctx.theme;
        let title = Line::from(vec![
            Span::styled(
                " Hottest hosts ",
                t.fg(Role::Title).add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!("by {}, {} hosts ", self.by.title(), self.rows.len()),
                t.fg(Role::Muted),
            ),
        ]);
        let rows: Vec<ListRow> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let band = r.load.map(|(l, c)| ctx.bands.band(l / c.max(1.0)) as usize);
                ListRow {
                    cells: vec![
                        format!("{}", i + 1),
                        r.shown.clone(),
                        r.load
                            .map(|(l, c)| format!("{l:.2} on {c:.0} CPUs"))
                            .unwrap_or_else(|| "no load".into()),
                        if r.stale {
                            format!("{} (last known)", r.cluster)
                        } else {
                            r.cluster.clone()
                        },
                        r.host.clone(),
                    ],
                    role: match (r.stale, band) {
                        (true, _) => Role::Stale,
                        (false, Some(4)) => Role::Critical,
                        (false, Some(3)) => Role::Warn,
                        _ => Role::Text,
                    },
                }
            })
            .collect();
        draw_list(
            f,
            area,
            t,
            ListContent {
                title,
                header: &["#", &self.by.title(), "load", "cluster", "host"],
                rows: &rows,
                empty: "No host that is up reports this metric.",
            },
            &self.sel,
        );
    }

    fn on_key(&mut self, ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        if self.sel.navigate(self.rows.len(), a) {
            return Handled::Consumed(Ask::Nothing);
        }
        Handled::Consumed(match a {
            Action::Close | Action::Top => Ask::Close,
            Action::Drill => match self.selected() {
                Some(r) => Ask::Go(Goto::Host {
                    cluster: r.cluster.clone(),
                    host: r.host.clone(),
                }),
                None => Ask::Nothing,
            },
            Action::Processes => match self.selected() {
                Some(r) => Ask::Processes {
                    cluster: r.cluster.clone(),
                    host: r.host.clone(),
                },
                None => Ask::Nothing,
            },
            Action::Sort => {
                self.by = self.by.next();
                self.sel.selected = 0;
                self.refresh(ctx);
                Ask::Say(false, format!("hottest hosts by {}", self.by.title()))
            }
            Action::Refresh => Ask::PollNow,
            Action::Problems | Action::Help | Action::Legend => Ask::Open(a),
            _ => return Handled::Ignored,
        })
    }

    fn commands(&self) -> Vec<CommandInfo> {
        vec![
            CommandInfo::on(Action::Help),
            CommandInfo::on(Action::Close),
            CommandInfo::when(Action::Drill, !self.rows.is_empty()),
            CommandInfo::when(Action::Processes, !self.rows.is_empty()),
            CommandInfo::on(Action::Sort),
            CommandInfo::on(Action::Problems),
        ]
    }

    fn refresh(&mut self, ctx: &Ctx<'_>) {
        let was = self.selected().map(|r| (r.cluster.clone(), r.host.clone()));
        self.rows = top_hosts(ctx.snap, ctx.now, &self.by, TOP_LIMIT);
        if let Some((c, h)) = was
            && let Some(i) = self.rows.iter().position(|r| r.cluster == c && r.host == h)
        {
            self.sel.selected = i;
        }
        self.sel.selected = self.sel.selected.min(self.rows.len().saturating_sub(1));
    }
}
