//! Job control as a component: its header (link state, the list showing, read-only), the
//! filter line, the list or pager, the open dialog over them; its keys (keys.rs) and the
//! commands of whatever is on top, for the hint bar and the help page. Each screen and dialog
//! draws itself; this only places them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crossterm::event::KeyEvent;

use super::keys::Outcome;
use super::{JobScreen, JobsUi, Modal, processes, results, slurm_screens};
use crate::jobs::LinkState;
use crate::tui::action::{Action, Layer, action_def};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled};
use crate::tui::theme::Role;

impl Component for JobsUi {
    fn layer(&self) -> Layer {
        match (&self.modal, self.screen) {
            (Some(Modal::Submit(_)), _) => Layer::Form,
            (Some(_), _) => Layer::Dialog,
            (None, JobScreen::Pager) => Layer::Pager,
            (None, _) => Layer::Jobs,
        }
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        draw(ctx, self, f, area);
    }

    fn on_key(&mut self, _ctx: &Ctx<'_>, key: KeyEvent, action: Option<Action>) -> Handled {
        match self.key(key, action) {
            Outcome::Handled => Handled::Consumed(Ask::Nothing),
            Outcome::Close => Handled::Consumed(Ask::Close),
            Outcome::Say(error, text) => Handled::Consumed(Ask::Say(error, text)),
            // Help, the command line, problems, quitting from its top screen: the app's.
            Outcome::Pass => Handled::Ignored,
        }
    }

    /// The commands of what is on top: the dialog, the pager or the list. Read-only mode
    /// greys out what it forbids.
    fn commands(&self) -> Vec<CommandInfo> {
        let commands = match (&self.modal, self.screen) {
            (Some(m), _) => m.component().commands(),
            (None, JobScreen::Pager) => self.pager.commands(),
            (None, s) => list_commands(s, self.is_slurm()),
        };
        commands
            .into_iter()
            .map(|c| {
                CommandInfo::when(
                    c.action,
                    c.enabled && !(self.read_only && action_def(c.action).dangerous),
                )
                .labelled_as(c.label)
            })
            .collect()
    }
}

/// The manager pair (protocol §9): which one is active, its epoch, and its shadow — warned
/// when the shadow is not in sync. Nothing for a single manager.
fn pair_span<'a>(ctx: &Ctx<'_>, j: &JobsUi) -> Option<Span<'a>> {
    let ha = j.ha.as_ref()?;
    if ha.shadow.starts_with("none") {
        return None;
    }
    let t = ctx.theme;
    let (text, role) = if ha.shadow == "in sync" {
        (
            format!(
                "active cm {} · epoch {} · shadow in sync",
                ha.name, ha.epoch
            ),
            Role::Muted,
        )
    } else {
        (
            format!(
                "active cm {} · epoch {} · shadow {}",
                ha.name,
                ha.epoch,
                shadow_words(ctx, &ha.shadow)
            ),
            Role::Warn,
        )
    };
    Some(Span::styled(text, t.fg(role)))
}

/// "away since T" as an age.
fn shadow_words(ctx: &Ctx<'_>, shadow: &str) -> String {
    match shadow
        .strip_prefix("away since ")
        .and_then(|t| t.parse::<u64>().ok())
    {
        Some(t) => format!(
            "away {}",
            crate::units::human_secs(ctx.now.saturating_sub(t))
        ),
        None => shadow.to_string(),
    }
}

/// Draws job control into `area`.
fn draw(ctx: &Ctx<'_>, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let t = ctx.theme;
    if area.height < 3 {
        return;
    }
    let state = match &j.state {
        LinkState::Connecting(a) if a.is_empty() => "connecting…".to_string(),
        LinkState::Connecting(a) => format!("connecting to {a}…"),
        LinkState::Connected(a) => format!("connected to {a}, not logged in"),
        LinkState::LoggedIn(a, u, r) => format!("{u} ({r}) at {a}"),
        LinkState::Down(e) => format!("unreachable: {e}"),
    };
    let state_style = match &j.state {
        LinkState::LoggedIn(..) => t.fg(Role::Ok),
        LinkState::Down(_) => t.fg(Role::Critical),
        _ => t.fg(Role::Warn),
    };
    let tab = |on: bool, label: &str| {
        let style = if on { t.selection() } else { t.fg(Role::Muted) };
        Span::styled(format!(" {label} "), style)
    };
    let mut head: Vec<Span<'_>> = vec![
        Span::styled(
            " Job control ",
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ),
        tab(j.screen == JobScreen::Processes, "processes"),
        tab(
            matches!(j.screen, JobScreen::Results | JobScreen::Pager),
            "jobs",
        ),
    ];
    if j.is_slurm() {
        head.push(tab(j.screen == JobScreen::Partitions, "partitions"));
        head.push(tab(j.screen == JobScreen::Nodes, "nodes"));
        if j.detail.is_some() {
            head.push(tab(j.screen == JobScreen::Detail, "detail"));
        }
    }
    head.push(Span::raw("  "));
    head.push(Span::styled(state, state_style));
    if let Some(span) = pair_span(ctx, j) {
        head.push(Span::raw("  "));
        head.push(span);
    }
    if j.read_only {
        head.push(Span::styled(
            "  READ-ONLY",
            t.fg(Role::Warn).add_modifier(Modifier::BOLD),
        ));
    }
    f.render_widget(
        Paragraph::new(Line::from(head)),
        Rect::new(area.x, area.y, area.width, 1),
    );
    let filter_line = match (&j.filter_input, &j.filter) {
        (Some(typing), _) => Some(format!(" filter: /{typing}▏")),
        (None, Some(fl)) => Some(format!(" filter: /{}  (Esc clears)", fl.text)),
        _ => None,
    };
    let mut body = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    if let Some(l) = filter_line {
        f.render_widget(
            Paragraph::new(l).style(t.fg(Role::Accent)),
            Rect::new(body.x, body.y, body.width, 1),
        );
        body = Rect::new(
            body.x,
            body.y + 1,
            body.width,
            body.height.saturating_sub(1),
        );
    }
    match j.screen {
        JobScreen::Processes => processes::draw(ctx, j, f, body),
        JobScreen::Results => results::draw(ctx, j, f, body),
        JobScreen::Pager => j.pager.draw(ctx, f, body),
        JobScreen::Partitions => slurm_screens::draw_partitions(ctx, j, f, body),
        JobScreen::Nodes => slurm_screens::draw_nodes(ctx, j, f, body),
        JobScreen::Detail => slurm_screens::draw_detail(ctx, j, f, body),
    }
    if let Some(m) = &j.modal {
        m.component().draw(ctx, f, area);
    }
}

/// The commands of the lists, for the hint bar.
fn list_commands(screen: JobScreen, slurm: bool) -> Vec<CommandInfo> {
    let list: &[Action] = match screen {
        JobScreen::Processes => &[
            Action::Help,
            Action::Back,
            Action::JobResults,
            Action::Tag,
            Action::Kill,
            Action::Migrate,
            Action::Submit,
            Action::Filter,
            Action::Sort,
            Action::JobDetail,
            Action::Expand,
            Action::Partitions,
            Action::SchedNodes,
        ],
        JobScreen::Nodes => &[
            Action::Help,
            Action::Back,
            Action::Tag,
            Action::PowerUp,
            Action::PowerDown,
            Action::Filter,
            Action::Processes,
            Action::JobResults,
            Action::Partitions,
        ],
        JobScreen::Partitions => &[
            Action::Help,
            Action::Back,
            Action::Processes,
            Action::JobResults,
            Action::Partitions,
            Action::SchedNodes,
            Action::Filter,
        ],
        JobScreen::Detail => &[Action::Help, Action::Back, Action::Processes],
        _ => &[
            Action::Help,
            Action::Back,
            Action::Drill,
            Action::Processes,
            Action::Submit,
            Action::Filter,
            Action::JobDetail,
            Action::Partitions,
        ],
    };
    let slurm_only = |a: &Action| {
        matches!(
            a,
            Action::JobDetail | Action::Expand | Action::Partitions | Action::SchedNodes
        )
    };
    list.iter()
        .filter(|a| slurm || !slurm_only(a))
        .map(|a| match a {
            // Enter on a job reads its output.
            Action::Drill => CommandInfo::on(*a).labelled("output"),
            _ => CommandInfo::on(*a),
        })
        .collect()
}
