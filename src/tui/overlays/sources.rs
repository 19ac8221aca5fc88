//! The sources overlay (`s`): each source's health, address, last answer and error, and its
//! clusters with their age; then each `[[bmc]]` table's BMCs, those in trouble by name.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::aggregator::{BmcHealth, Health, SensorView, SourceView};
use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled, scrolled};
use crate::tui::theme::Role;
use crate::tui::views::common::stale_style;
use crate::tui::widgets::wrap::wrap;
use crate::units::{human_bytes, human_secs};

/// The widest the sources overlay gets.
const MAX_WIDTH: u16 = 110;

/// The sources overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourcesOverlay {
    /// First visible line.
    pub scroll: usize,
}

impl SourcesOverlay {
    /// The overlay scrolled to where source number `index` begins (lines wrapped as drawn).
    pub fn at(ctx: &Ctx<'_>, index: usize) -> Self {
        let width = super::text_width(MAX_WIDTH, ctx.body.width);
        let scroll = ctx
            .snap
            .sources
            .iter()
            .take(index)
            .map(|s| wrap(&block(ctx, s), width).len())
            .sum();
        Self { scroll }
    }
}

/// One source's lines: its health and address, its last error, its clusters.
fn block(ctx: &Ctx<'_>, s: &SourceView) -> Vec<Line<'static>> {
    let (t, now) = (ctx.theme, ctx.now);
    let mut lines = Vec::new();
    let st = &s.status;
    let health_style = match st.health {
        Health::Ok => t.fg(Role::Ok),
        Health::Degraded => t.fg(Role::Warn).add_modifier(Modifier::BOLD),
        Health::Dead => t.fg(Role::Critical).add_modifier(Modifier::BOLD),
        Health::Pending => t.fg(Role::Muted),
    };
    let age = st.last_success.map_or_else(
        || "never".to_string(),
        |x| format!("{} ago", human_secs(now.saturating_sub(x))),
    );
    lines.push(Line::from(vec![
        Span::styled(
            format!("{:<12} ", s.name),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{:<9}", st.health.to_string()), health_style),
        Span::styled(
            format!(
                " {}  data {age}  answer {} in {} ms",
                st.active_address.as_deref().unwrap_or("-"),
                human_bytes(st.wire_bytes),
                st.latency.as_millis()
            ),
            t.fg(Role::Text),
        ),
    ]));
    if let Some(e) = &st.last_error {
        lines.push(Line::from(Span::styled(format!("    {e}"), health_style)));
    }
    for c in &s.clusters {
        let line = match c.staleness(now) {
            Some(x) => Span::styled(
                format!(
                    "    cluster {}  {} hosts unknown  STALE: {x}",
                    c.cluster.name,
                    c.host_count(now),
                ),
                stale_style(t),
            ),
            None => Span::styled(
                format!(
                    "    cluster {}  {} hosts  age {}",
                    c.cluster.name,
                    c.host_count(now),
                    human_secs(c.age(now))
                ),
                t.fg(Role::Muted),
            ),
        };
        lines.push(Line::from(line));
    }
    lines
}

/// Listed one by one up to this many; beyond, the healthy ones are counted, not listed.
const BMC_ROWS: usize = 8;
/// The most BMCs in trouble listed.
const BMC_TROUBLE_ROWS: usize = 50;

/// One `[[bmc]]` table's lines: counts by health, then the BMCs in trouble with their errors.
fn bmc_block(ctx: &Ctx<'_>, sv: &SensorView) -> Vec<Line<'static>> {
    let (t, now) = (ctx.theme, ctx.now);
    let counts = sv.counts();
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("BMCs of {:<4} ", sv.cluster),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!("{} BMCs, every {} s: {counts}", sv.bmcs.len(), sv.interval),
            if counts.failing + counts.degraded > 0 {
                t.fg(Role::Warn).add_modifier(Modifier::BOLD)
            } else {
                t.fg(Role::Text)
            },
        ),
    ])];
    if let Some(e) = &sv.error {
        lines.push(Line::from(Span::styled(
            format!("    none polled: {e}"),
            t.fg(Role::Critical).add_modifier(Modifier::BOLD),
        )));
    }
    let all = sv.bmcs.len() <= BMC_ROWS;
    let shown: Vec<_> = sv
        .bmcs
        .iter()
        .filter(|b| all || b.health != BmcHealth::Ok)
        .collect();
    for b in shown.iter().take(BMC_TROUBLE_ROWS) {
        let style = match b.health {
            BmcHealth::Ok => t.fg(Role::Ok),
            BmcHealth::Slow | BmcHealth::Degraded => t.fg(Role::Warn),
            BmcHealth::Failing => t.fg(Role::Critical).add_modifier(Modifier::BOLD),
            BmcHealth::Pending => t.fg(Role::Muted),
        };
        let read = b.last_success.map_or_else(
            || "never read".to_string(),
            |x| format!("read {} ago", human_secs(now.saturating_sub(x))),
        );
        lines.push(Line::from(vec![
            Span::styled(format!("    {:<12} ", b.host), t.fg(Role::Text)),
            Span::styled(format!("{:<8}", b.health.word()), style),
            Span::styled(
                format!(
                    " {}  {read}  {} sensors  {} requests in {} ms",
                    b.url,
                    b.readings.len(),
                    b.requests,
                    b.took.as_millis()
                ),
                t.fg(Role::Muted),
            ),
        ]));
        if let Some(e) = &b.error {
            lines.push(Line::from(Span::styled(format!("        {e}"), style)));
        }
    }
    if shown.len() > BMC_TROUBLE_ROWS {
        lines.push(Line::from(Span::styled(
            format!("    … and {} more", shown.len() - BMC_TROUBLE_ROWS),
            t.fg(Role::Muted),
        )));
    }
    lines
}

fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = ctx
        .snap
        .sources
        .iter()
        .flat_map(|s| block(ctx, s))
        .collect();
    if lines.is_empty() {
        lines.push(Line::from("no sources configured"));
    }
    // BMCs are sources too: their health the same way.
    for sv in &ctx.snap.sensors {
        lines.push(Line::from(""));
        lines.extend(bmc_block(ctx, sv));
    }
    // Schedulers are sources of job data: an unreachable one says so here, in its own words.
    for d in ctx.schedulers_down {
        let critical = d.severity == crate::triage::problems::Severity::Critical;
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!(
                "{} of {} {} {} ago: {}",
                d.what,
                if d.cluster == "*" {
                    "job control"
                } else {
                    &d.cluster
                },
                if critical {
                    "unreachable since"
                } else {
                    "since"
                },
                human_secs(ctx.now.saturating_sub(d.since)),
                d.message
            ),
            ctx.theme
                .fg(if critical { Role::Critical } else { Role::Warn }),
        )));
    }
    lines
}

impl Component for SourcesOverlay {
    fn layer(&self) -> Layer {
        super::LAYER
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let lines = lines(ctx);
        super::draw_box(ctx, f, area, (" Sources ", MAX_WIDTH), &lines, self.scroll);
    }

    fn on_key(&mut self, ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        let limit = super::scroll_limit(&lines(ctx), MAX_WIDTH, ctx.body);
        if let Some(s) = scrolled(self.scroll, a, limit) {
            self.scroll = s;
            return Handled::Consumed(Ask::Nothing);
        }
        Handled::Consumed(match a {
            // Its hint bar offers the help page: the key opens it.
            Action::Help => Ask::Open(a),
            a => super::common_ask(a).unwrap_or(Ask::Nothing),
        })
    }

    fn commands(&self) -> Vec<CommandInfo> {
        super::commands(Action::Help)
    }
}
