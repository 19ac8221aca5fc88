//! The events view (`E`): the nodes' syslog grouped by template, by recent count, spike
//! against each template's own baseline, severity or last seen (`o` cycles); from a host view,
//! that host's templates only. New templates are marked; what was dropped and the caps in
//! force are on the title. Enter shows a template's messages (see `event_detail`).

use std::sync::Arc;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::event_detail;
use super::table::{Column, ListRow, Selection, TableView, draw_table};
use crate::events::receiver::EventsSnapshot;
use crate::events::store::TemplateStats;
use crate::triage::events::{
    EventRow, EventsOrder, HostIndex, event_rows, ratio_text, severity_word,
};
use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Goto, Handled};
use crate::tui::theme::Role;
use crate::units::human_secs;

/// The host an events view is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostScope {
    /// Its cluster.
    pub cluster: String,
    /// Its name in Ganglia.
    pub host: String,
    /// Its address in Ganglia (syslog may name it by that).
    pub ip: String,
}

/// One template open: its messages.
#[derive(Debug)]
pub struct Detail {
    /// The template.
    pub id: u32,
    /// What is known of it (kept when it is forgotten meanwhile).
    pub stats: Option<Arc<TemplateStats>>,
    /// The selected message.
    pub sel: Selection,
}

/// The events view.
#[derive(Debug)]
pub struct EventsList {
    order: EventsOrder,
    scope: Option<HostScope>,
    rows: Vec<EventRow>,
    sel: Selection,
    detail: Option<Detail>,
    hosts: HostIndex,
    receiving: bool,
    title: String,
}

impl EventsList {
    /// The view over what `ctx` holds now, scoped to a host when given, with a template open
    /// when given.
    pub fn new(ctx: &Ctx<'_>, scope: Option<HostScope>, open: Option<u32>) -> Self {
        let mut me = Self {
            order: EventsOrder::default(),
            scope,
            rows: Vec::new(),
            sel: Selection::default(),
            detail: None,
            hosts: HostIndex::default(),
            receiving: false,
            title: String::new(),
        };
        me.refresh(ctx);
        if let Some(id) = open {
            me.open(ctx, id);
        }
        me
    }

    /// The rows shown.
    pub fn rows(&self) -> &[EventRow] {
        &self.rows
    }

    fn open(&mut self, ctx: &Ctx<'_>, id: u32) {
        if let Some(i) = self.rows.iter().position(|r| r.id == id) {
            self.sel.selected = i;
        }
        self.detail = Some(Detail {
            id,
            stats: ctx.events.and_then(|e| e.templates.get(&id).cloned()),
            sel: Selection::default(),
        });
    }

    fn counters_line(ev: &EventsSnapshot) -> String {
        let c = &ev.counters;
        let caps = ev
            .caps
            .map(|k| format!(", cap {} templates", k.max_templates))
            .unwrap_or_default();
        let refused = if c.refused > 0 {
            format!(", {} connections refused", c.refused)
        } else {
            String::new()
        };
        format!(
            "{} messages ({} not syslog), dropped: {} queue full, {} too long{refused}; {} forgotten{caps}",
            c.messages, c.raw, c.queue_full, c.too_long, c.forgotten
        )
    }
}

/// A sparkline of the hour in `n` cells, each the sum of its minutes.
pub fn sparkline(minutes: &[u32], n: usize, unicode: bool) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    const ASCII: [char; 8] = ['.', '.', ':', '-', '=', '+', '*', '#'];
    let per = minutes.len().div_ceil(n.max(1)).max(1);
    let sums: Vec<u64> = minutes
        .chunks(per)
        .map(|c| c.iter().map(|&x| u64::from(x)).sum())
        .collect();
    let max = sums.iter().copied().max().unwrap_or(0);
    let glyphs = if unicode { BLOCKS } else { ASCII };
    sums.iter()
        .map(|&s| match s {
            0 => ' ',
            _ => glyphs[((s * 7).div_ceil(max.max(1)) as usize).min(7)],
        })
        .collect()
}

fn severity_role(s: Option<u8>) -> Role {
    match s {
        Some(0..=2) => Role::Critical,
        Some(3) => Role::Warn,
        _ => Role::Text,
    }
}

impl Component for EventsList {
    fn layer(&self) -> Layer {
        Layer::List
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        if let Some(d) = &self.detail {
            event_detail::draw(ctx, f, area, d, &self.hosts, self.scope.as_ref());
            return;
        }
        let t = ctx.theme;
        let scope = self
            .scope
            .as_ref()
            .map(|s| format!("from {} ", s.host))
            .unwrap_or_default();
        let title = Line::from(vec![
            Span::styled(" Events ", t.fg(Role::Title).add_modifier(Modifier::BOLD)),
            Span::styled(
                format!(
                    "{scope}{} templates by {} · {} ",
                    self.rows.len(),
                    self.order.title(),
                    self.title
                ),
                t.fg(Role::Muted),
            ),
        ]);
        let unicode = ctx.glyphs.unicode;
        // On a narrow screen the template keeps the room: no sparkline, no first seen.
        let wide = area.width >= 120;
        let rows: Vec<ListRow> = self
            .rows
            .iter()
            .map(|r| {
                let mut cells = vec![
                    if r.new { "new" } else { "" }.to_string(),
                    severity_word(r.severity).to_string(),
                    r.rate.now.to_string(),
                    ratio_text(&r.rate),
                ];
                if wide {
                    cells.push(sparkline(&r.minutes, 12, unicode));
                }
                cells.extend([
                    r.host_count.unwrap_or(r.count).to_string(),
                    r.hosts.to_string(),
                    human_secs(ctx.now.saturating_sub(r.last)),
                ]);
                if wide {
                    cells.push(human_secs(ctx.now.saturating_sub(r.first)));
                }
                cells.push(r.text.clone());
                ListRow {
                    cells,
                    role: severity_role(r.severity),
                }
            })
            .collect();
        let mut columns = vec![
            Column::left(""),
            Column::left("sev"),
            Column::right("5 min"),
            Column::right("×usual"),
        ];
        if wide {
            columns.push(Column::left("last hour"));
        }
        columns.extend([
            Column::right(if self.scope.is_some() {
                "here"
            } else {
                "total"
            }),
            Column::right("hosts"),
            Column::right("last"),
        ]);
        if wide {
            columns.push(Column::right("first"));
        }
        columns.push(Column::left("template"));
        let empty = if self.receiving {
            if self.scope.is_some() {
                "This host has sent no message Gantry kept."
            } else {
                "No messages yet."
            }
        } else {
            "Gantry receives no syslog here: set udp, tcp or tls under [events] in config.toml (docs/configuration.md)."
        };
        let view = TableView {
            title: Some(title),
            columns: &columns,
            rows: &rows,
            empty,
            empty_role: if self.receiving {
                Role::Muted
            } else {
                Role::Warn
            },
            fill_last: true,
            header_when_empty: true,
            spacing: 1,
            ascii: !unicode,
        };
        self.sel.remember_page(area.height);
        let offset = draw_table(f, area, t, &view, self.sel.selected, self.sel.offset());
        self.sel.remember_offset(offset);
    }

    fn on_key(&mut self, ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        if let Some(d) = &mut self.detail {
            let n = d.stats.as_ref().map_or(0, |s| s.samples.len());
            if d.sel.navigate(n, a) {
                return Handled::Consumed(Ask::Nothing);
            }
            return Handled::Consumed(match a {
                Action::Close => {
                    self.detail = None;
                    Ask::Nothing
                }
                Action::Events => Ask::Close,
                Action::Drill => {
                    // Newest first, as drawn.
                    let sample = d
                        .stats
                        .as_ref()
                        .and_then(|s| s.samples.iter().rev().nth(d.sel.selected));
                    match sample.map(|s| (s, self.hosts.find(&s.host))) {
                        Some((_, Some((cluster, host)))) => Ask::Go(Goto::Host {
                            cluster: cluster.clone(),
                            host: host.clone(),
                        }),
                        Some((s, None)) => {
                            Ask::Say(true, format!("{} is not a host Ganglia knows", s.host))
                        }
                        None => Ask::Nothing,
                    }
                }
                Action::Refresh => Ask::PollNow,
                Action::Problems | Action::Top | Action::Help | Action::Legend => Ask::Open(a),
                _ => return Handled::Ignored,
            });
        }
        if self.sel.navigate(self.rows.len(), a) {
            return Handled::Consumed(Ask::Nothing);
        }
        Handled::Consumed(match a {
            Action::Close | Action::Events => Ask::Close,
            Action::Drill => match self.rows.get(self.sel.selected) {
                Some(r) => {
                    let id = r.id;
                    self.open(ctx, id);
                    Ask::Nothing
                }
                None => Ask::Nothing,
            },
            Action::Sort => {
                self.order = self.order.next();
                self.sel.selected = 0;
                self.refresh(ctx);
                Ask::Say(false, format!("events by {}", self.order.title()))
            }
            Action::Refresh => Ask::PollNow,
            Action::Problems | Action::Top | Action::Help | Action::Legend => Ask::Open(a),
            _ => return Handled::Ignored,
        })
    }

    fn commands(&self) -> Vec<CommandInfo> {
        if self.detail.is_some() {
            return vec![
                CommandInfo::on(Action::Help),
                CommandInfo::on(Action::Close).labelled("templates"),
                CommandInfo::on(Action::Drill).labelled("host"),
                CommandInfo::on(Action::Problems),
            ];
        }
        vec![
            CommandInfo::on(Action::Help),
            CommandInfo::on(Action::Close),
            CommandInfo::when(Action::Drill, !self.rows.is_empty()).labelled("messages"),
            CommandInfo::on(Action::Sort).labelled("order"),
            CommandInfo::on(Action::Problems),
        ]
    }

    fn refresh(&mut self, ctx: &Ctx<'_>) {
        self.hosts = HostIndex::new(ctx.snap);
        let Some(ev) = ctx.events else {
            self.receiving = false;
            self.rows.clear();
            return;
        };
        self.receiving = true;
        self.title = Self::counters_line(ev);
        let was = self.rows.get(self.sel.selected).map(|r| r.id);
        let host = self
            .scope
            .as_ref()
            .map(|s| (s.host.as_str(), s.ip.as_str()));
        self.rows = event_rows(ev, ctx.now, self.order, host);
        if let Some(id) = was
            && let Some(i) = self.rows.iter().position(|r| r.id == id)
        {
            self.sel.selected = i;
        }
        self.sel.selected = self.sel.selected.min(self.rows.len().saturating_sub(1));
        if let Some(d) = &mut self.detail
            && let Some(s) = ev.templates.get(&d.id)
        {
            d.stats = Some(s.clone());
        }
    }
}
