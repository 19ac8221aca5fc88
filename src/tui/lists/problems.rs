//! The problems view (`!`): every down host, dead, degraded or stale source, hot host and
//! recently failed job across all clusters, worst first, each with its age. Enter goes there.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::table::{ListContent, ListRow, Selection, draw_list};
use crate::triage::problems::{Problem, Severity, Subject, problems, sort_problems};
use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Goto, Handled};
use crate::tui::theme::Role;
use crate::units::human_secs;

/// The problems view.
#[derive(Debug, Default)]
pub struct ProblemsList {
    rows: Vec<Problem>,
    sel: Selection,
}

impl ProblemsList {
    /// The view over what `ctx` holds now.
    pub fn new(ctx: &Ctx<'_>) -> Self {
        let mut me = Self::default();
        me.refresh(ctx);
        me
    }

    /// The problems shown.
    pub fn rows(&self) -> &[Problem] {
        &self.rows
    }

    fn selected(&self) -> Option<&Problem> {
        self.rows.get(self.sel.selected)
    }
}

/// Where a problem's subject lives (a file has no view).
pub fn goto(s: &Subject) -> Option<Goto> {
    Some(match s {
        Subject::Source(n) => Goto::Source(n.clone()),
        Subject::Cluster(c) => Goto::Cluster(c.clone()),
        Subject::Host { cluster, host } => Goto::Host {
            cluster: cluster.clone(),
            host: host.clone(),
        },
        Subject::Template(id) => Goto::Events {
            host: None,
            template: Some(*id),
        },
        Subject::Job { cluster, id } => Goto::Job {
            cluster: cluster.clone(),
            id: *id,
        },
        Subject::File(_) => return None,
    })
}

impl Component for ProblemsList {
    fn layer(&self) -> Layer {
        Layer::List
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let t = ctx.theme;
        let critical = self
            .rows
            .iter()
            .filter(|p| p.severity == Severity::Critical)
            .count();
        let title = Line::from(vec![
            Span::styled(" Problems ", t.fg(Role::Title).add_modifier(Modifier::BOLD)),
            Span::styled(
                format!(
                    "{} critical, {} warnings ",
                    critical,
                    self.rows.len() - critical
                ),
                t.fg(if critical > 0 {
                    Role::Critical
                } else {
                    Role::Muted
                }),
            ),
        ]);
        let rows: Vec<ListRow> = self
            .rows
            .iter()
            .map(|p| ListRow {
                cells: vec![
                    p.kind.word().to_string(),
                    p.name.clone(),
                    p.place.clone(),
                    p.since.map_or_else(
                        || "now".to_string(),
                        |s| human_secs(ctx.now.saturating_sub(s)),
                    ),
                    p.detail.clone(),
                ],
                role: match p.severity {
                    Severity::Critical => Role::Critical,
                    Severity::Warning => Role::Warn,
                },
            })
            .collect();
        draw_list(
            f,
            area,
            t,
            ListContent {
                title,
                header: &["problem", "name", "where", "for", "detail"],
                rows: &rows,
                empty: "No problems: every source answers, every host is up and within its thresholds.",
            },
            &self.sel,
        );
    }

    fn on_key(&mut self, _ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        if self.sel.navigate(self.rows.len(), a) {
            return Handled::Consumed(Ask::Nothing);
        }
        Handled::Consumed(match a {
            Action::Close | Action::Problems => Ask::Close,
            Action::Drill => match self.selected() {
                // A file has no view: what is wrong with it is said instead.
                Some(p) => {
                    goto(&p.subject).map_or_else(|| Ask::Say(true, p.detail.clone()), Ask::Go)
                }
                None => Ask::Nothing,
            },
            Action::Processes => match self.selected().map(|p| &p.subject) {
                Some(Subject::Host { cluster, host }) => Ask::Processes {
                    cluster: cluster.clone(),
                    host: host.clone(),
                },
                _ => Ask::Say(true, "select a host to see its processes".into()),
            },
            Action::Refresh => Ask::PollNow,
            Action::Top | Action::Help | Action::Legend => Ask::Open(a),
            _ => return Handled::Ignored,
        })
    }

    fn commands(&self) -> Vec<CommandInfo> {
        let host = matches!(
            self.selected().map(|p| &p.subject),
            Some(Subject::Host { .. })
        );
        vec![
            CommandInfo::on(Action::Help),
            CommandInfo::on(Action::Close),
            CommandInfo::when(Action::Drill, !self.rows.is_empty()),
            CommandInfo::when(Action::Processes, host),
            CommandInfo::on(Action::Top),
            CommandInfo::on(Action::Refresh),
        ]
    }

    fn refresh(&mut self, ctx: &Ctx<'_>) {
        let was = self.selected().map(|p| (p.kind, p.subject.clone()));
        self.rows = problems(
            ctx.snap,
            ctx.now,
            &ctx.thresholds,
            ctx.failed_jobs,
            ctx.schedulers_down,
        );
        if let Some(ev) = ctx.events {
            crate::triage::events::event_problems(ev, ctx.now, &mut self.rows);
        }
        crate::triage::problems::save_problems(ctx.failing_saves, &mut self.rows);
        for j in ctx.jobs {
            if let Some(q) = &j.queue {
                crate::triage::queue::queue_problems(&j.cluster, q, ctx.now, &mut self.rows);
            }
        }
        sort_problems(&mut self.rows);
        // The selection follows its problem while it lasts.
        if let Some((kind, subject)) = was
            && let Some(i) = self
                .rows
                .iter()
                .position(|p| p.kind == kind && p.subject == subject)
        {
            self.sel.selected = i;
        }
        self.sel.selected = self.sel.selected.min(self.rows.len().saturating_sub(1));
    }
}
