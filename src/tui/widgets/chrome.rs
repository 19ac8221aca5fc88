//! The frame around every view: breadcrumb on top, status line and hint bar (or the line
//! being typed) at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::aggregator::Health;
use crate::tui::action::{Action, Layer};
use crate::tui::app::{App, Level, Mode};
use crate::tui::theme::Role;
use crate::units::human_secs;

/// The screen split into its fixed parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    /// Breadcrumb line.
    pub top: Rect,
    /// The view.
    pub body: Rect,
    /// Status line.
    pub status: Rect,
    /// Hint bar or input line.
    pub bottom: Rect,
}

/// Splits the terminal area.
pub fn screen(area: Rect) -> Screen {
    let h = area.height;
    let line = |y: u16| {
        Rect::new(
            area.x,
            area.y + y.min(h.saturating_sub(1)),
            area.width,
            u16::from(h > 0),
        )
    };
    Screen {
        top: line(0),
        body: Rect::new(area.x, area.y + 1, area.width, h.saturating_sub(3)),
        status: line(h.saturating_sub(2)),
        bottom: line(h.saturating_sub(1)),
    }
}

/// The separator between breadcrumb parts.
pub fn sep(app: &App) -> &'static str {
    if app.glyphs.unicode { " › " } else { " > " }
}

/// `Grid › clusterA › node017`.
pub fn breadcrumb(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let parts = app.breadcrumb();
    let mut spans = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(sep(app), t.fg(Role::Muted)));
        }
        let last = i + 1 == parts.len();
        let style = if last {
            t.fg(Role::Title).add_modifier(Modifier::BOLD)
        } else {
            t.fg(Role::Accent)
        };
        spans.push(Span::styled(p.clone(), style));
    }
    let right = format!("range: {}  ", app.range.as_str());
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(used + right.len());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(right, t.fg(Role::Muted)));
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
}

/// The age of what the current level shows, and whether it is stale.
fn data_age(app: &App) -> (Option<u64>, Vec<String>) {
    let now = app.now;
    let stale_of = |name: &str| {
        app.snap
            .cluster(name)
            .and_then(|c| c.staleness(now).map(|s| format!("{name}: {s}")))
    };
    match app.level() {
        Level::Grid => {
            let age = app.snap.clusters().map(|c| c.age(now)).max();
            let stale = app
                .snap
                .clusters()
                .filter_map(|c| c.staleness(now).map(|s| format!("{}: {s}", c.cluster.name)))
                .collect();
            (age, stale)
        }
        Level::Cluster | Level::Host => {
            let name = app.cluster.as_ref().map(|c| c.name.as_str()).unwrap_or("");
            let age = app.snap.cluster(name).map(|c| c.age(now));
            (age, stale_of(name).into_iter().collect())
        }
    }
}

/// Data age, STALE mark, source health, and the latest message.
pub fn status_line(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let mut spans = Vec::new();
    let (age, stale) = data_age(app);
    match age {
        Some(a) => spans.push(Span::styled(
            format!(" data age {} ", human_secs(a / 5 * 5)),
            t.fg(Role::Muted),
        )),
        None => spans.push(Span::styled(" no data yet ", t.fg(Role::Warn))),
    }
    if !stale.is_empty() {
        let style = if t.monochrome {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
                .fg(t.color(Role::Dialog))
                .bg(t.color(Role::Stale))
                .add_modifier(Modifier::BOLD)
        };
        spans.push(Span::styled(" STALE ", style));
        spans.push(Span::styled(
            format!(" {} ", stale.join("; ")),
            t.fg(Role::Stale),
        ));
    }
    let count = |h: Health| {
        app.snap
            .sources
            .iter()
            .filter(|s| s.status.health == h)
            .count()
    };
    let (dead, degraded, pending) = (
        count(Health::Dead),
        count(Health::Degraded),
        count(Health::Pending),
    );
    let n = app.snap.sources.len();
    if dead > 0 {
        let style = t.fg(Role::Critical).add_modifier(Modifier::BOLD);
        spans.push(Span::styled(format!(" {dead} of {n} sources dead "), style));
    }
    if degraded > 0 {
        let style = t.fg(Role::Warn).add_modifier(Modifier::BOLD);
        spans.push(Span::styled(format!(" {degraded} of {n} degraded "), style));
    }
    if pending > 0 {
        spans.push(Span::styled(" polling… ", t.fg(Role::Muted)));
    }
    if let Some(c) = app
        .cluster
        .as_ref()
        .filter(|_| app.level() == Level::Cluster)
    {
        spans.push(Span::styled(
            format!(" sort: {} ", c.sort.label()),
            t.fg(Role::Muted),
        ));
        if c.color_by != crate::tui::bands::ColorBy::Load {
            spans.push(Span::styled(
                format!(" colour: {} ", c.color_by.label()),
                t.fg(Role::Accent),
            ));
        }
    }
    if let Some(filt) = app.filter() {
        spans.push(Span::styled(
            format!(" filter: /{} ", filt.text),
            t.fg(Role::Accent),
        ));
    }
    // A message stays until the operator's next action (keys and clicks clear it); what
    // job control or a poll says in the background never hides it.
    if let Some(m) = app.message.as_ref() {
        let style = if m.error {
            t.fg(Role::Critical)
        } else {
            t.fg(Role::Text)
        };
        spans.push(Span::styled(format!(" {}", m.text), style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
}

/// Hints for a component's commands in its layer: the first key of each, with its hint word
/// (commands without one, or without a key, are left out). The day range stands for all five
/// ranges, which share one hint (`1-5 range`).
pub fn component_hints(
    keymap: &crate::tui::keymap::Keymap,
    layer: Layer,
    commands: &[crate::tui::component::CommandInfo],
) -> Vec<(String, &'static str)> {
    commands
        .iter()
        .filter(|c| c.enabled)
        .filter_map(|c| {
            if c.action == Action::RangeDay {
                let first = keymap.first_key(layer, Action::RangeHour)?;
                let last = keymap.first_key(layer, Action::RangeYear)?;
                return Some((format!("{first}-{last}"), "range"));
            }
            let hint = c
                .label
                .unwrap_or(crate::tui::action::action_def(c.action).hint);
            if hint.is_empty() {
                return None;
            }
            Some((keymap.first_key(layer, c.action)?, hint))
        })
        .collect()
}

/// A hint bar from (key, label) pairs, as many as fit.
pub fn hints_line(app: &App, f: &mut Frame<'_>, area: Rect, hints: &[(String, &str)]) {
    let t = &app.theme;
    let mut spans = Vec::new();
    let mut width = 0usize;
    for (key, label) in hints {
        let piece = key.len() + label.len() + 3;
        if width + piece > area.width as usize {
            break;
        }
        width += piece;
        spans.push(Span::styled(
            format!(" {key}"),
            t.fg(Role::Accent).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {label} "), t.fg(Role::Muted)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
}

/// The line being typed, with completion alternatives.
pub fn input_line(app: &App, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let (prompt, input) = match &app.mode {
        Mode::Command(i) => (":", i),
        Mode::Filter(i) => ("/", i),
        Mode::Normal => return,
    };
    let mut spans = vec![
        Span::styled(prompt, t.fg(Role::Accent).add_modifier(Modifier::BOLD)),
        Span::styled(input.text.clone(), t.fg(Role::Text)),
        Span::styled(
            if app.glyphs.unicode { "▏" } else { "_" },
            t.fg(Role::Accent),
        ),
    ];
    if !input.alternatives.is_empty() {
        let shown: Vec<&str> = input
            .alternatives
            .iter()
            .take(8)
            .map(String::as_str)
            .collect();
        let more = input.alternatives.len().saturating_sub(8);
        let tail = if more > 0 {
            format!(" (+{more})")
        } else {
            String::new()
        };
        spans.push(Span::styled(
            format!("   {}{tail}", shown.join("  ")),
            t.fg(Role::Muted),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
}
