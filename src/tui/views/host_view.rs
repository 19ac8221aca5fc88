//! The host view: the key metrics first (cpu_idle … proc_total) with value, units and a graph
//! over the range, then every other metric — strings and constants included — with its age.
//! Any metric can be selected (up/down) and graphed large with a time axis (Enter), on this
//! host or overlaid across the cluster's tagged hosts (`v`). Series come prepared with the
//! state (`App::prepare_graphs`): drawing never reads the history store.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::aggregator::Liveness;
use crate::model::{Host, Metric};
use crate::tui::action::{Action, Layer};
use crate::tui::app::{App, OVERLAY_MAX};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled, JobsView};
use crate::tui::filter::Filter;
use crate::tui::state::host::MetricGraph;
use crate::tui::state::{HostState, KEY_METRICS};
use crate::tui::theme::Role;
use crate::tui::views::common::{fitting, stale_style};
use crate::tui::widgets::{metric_graph, metric_table, sensor_panel};
use crate::units::human_secs;

/// What is said to an overlay asked for without a host in sight.
pub const OVERLAY_NEEDS_A_HOST: &str =
    "open a host (enter) and graph a metric (enter on it) to overlay it across the tagged hosts";

/// Lines of the "other metrics" table that fit, below a sensor panel that wants `sensors` rows.
pub fn table_rows(body: Rect, sensors: u16) -> usize {
    let (_, _, _, table) = split(body, sensors);
    table.height.saturating_sub(1) as usize
}

/// The header line, the key metrics' panels, the sensor panel (up to a quarter of the view,
/// when the host has sensors) and the metric table.
fn split(body: Rect, sensors: u16) -> (Rect, Rect, Rect, Rect) {
    let header = Rect::new(body.x, body.y, body.width, body.height.min(1));
    let all = body.height.saturating_sub(1);
    let sensor_h = sensors.min(all / 4);
    let rest = all - sensor_h;
    let key_h = if rest >= 24 {
        rest * 3 / 5
    } else {
        rest.min(KEY_METRICS.len() as u16).max(rest / 2)
    };
    let keys = Rect::new(body.x, body.y + 1, body.width, key_h);
    let panel = Rect::new(body.x, keys.y + key_h, body.width, sensor_h);
    let table = Rect::new(body.x, panel.y + sensor_h, body.width, rest - key_h);
    (header, keys, panel, table)
}

/// Rows the sensor panel wants for the view's host.
fn sensor_rows(ctx: &Ctx<'_>, st: &HostState) -> u16 {
    st.find(ctx.snap).map_or(0, |(_, h)| {
        sensor_panel::rows_wanted(h, ctx.snap.bmc(&st.cluster, &st.host).map(|b| b.1))
    })
}

/// How many key metrics the host reports (they come first in [`metrics`]).
pub fn key_count(h: &Host) -> usize {
    KEY_METRICS.iter().filter(|m| h.metric(m).is_some()).count()
}

/// Every metric of the app's host view in view order (see [`HostState::metrics`]).
pub fn metrics<'h>(app: &App, h: &'h Host) -> Vec<&'h Metric> {
    view_metrics(app.host.as_ref().and_then(|s| s.filter.as_ref()), h)
}

/// Every metric in view order, which selection indexes: the key metrics the host reports,
/// then the other metrics in table order, after `filter`.
fn view_metrics<'h>(filter: Option<&Filter>, h: &'h Host) -> Vec<&'h Metric> {
    let mut v: Vec<&Metric> = KEY_METRICS.iter().filter_map(|m| h.metric(m)).collect();
    v.extend(other_metrics(filter, h));
    v
}

/// The other metrics in table order (by group, then name), after the host filter.
fn other_metrics<'h>(filter: Option<&Filter>, h: &'h Host) -> Vec<&'h Metric> {
    let mut v: Vec<&Metric> = h
        .metrics
        .iter()
        .filter(|m| !KEY_METRICS.contains(&&*m.meta.name))
        .filter(|m| filter.is_none_or(|f| f.keeps(&m.meta.name)))
        .collect();
    v.sort_by(|a, b| {
        (a.meta.group().unwrap_or("~"), &a.meta.name)
            .cmp(&(b.meta.group().unwrap_or("~"), &b.meta.name))
    });
    v
}

impl HostState {
    /// Every metric of the host in view order (see [`view_metrics`]).
    pub fn metrics<'h>(&self, h: &'h Host) -> Vec<&'h Metric> {
        view_metrics(self.filter.as_ref(), h)
    }

    /// Moves the selection by a navigation action, a page being the table's rows in `body`.
    fn navigate(&mut self, ctx: &Ctx<'_>, a: Action) {
        let rows = table_rows(ctx.body, sensor_rows(ctx, self));
        let total = self
            .find(ctx.snap)
            .map_or(0, |(_, h)| self.metrics(h).len());
        if total == 0 {
            return;
        }
        let s = self.selected as isize;
        let t = match a {
            Action::Up => s - 1,
            Action::Down => s + 1,
            Action::PageUp => s - rows as isize,
            Action::PageDown => s + rows as isize,
            Action::First => 0,
            Action::Last => total as isize - 1,
            _ => s,
        };
        self.selected = t.clamp(0, total as isize - 1) as usize;
        self.keep_metric_in_sight(ctx);
    }

    /// Scrolls the table so the selected metric's row shows. The table lists every metric
    /// while a graph takes the key metrics' place, else the metrics after the key ones (a
    /// selected key metric is highlighted in its panel).
    fn keep_metric_in_sight(&mut self, ctx: &Ctx<'_>) {
        let rows = table_rows(ctx.body, sensor_rows(ctx, self));
        let keys = self.find(ctx.snap).map_or(0, |(_, h)| key_count(h));
        let first_in_table = if self.graph.is_some() { 0 } else { keys };
        match self.selected.checked_sub(first_in_table) {
            Some(row) if row < self.scroll => self.scroll = row,
            Some(row) if rows > 0 && row >= self.scroll + rows => self.scroll = row + 1 - rows,
            Some(_) => {}
            None => self.scroll = 0,
        }
    }

    /// The table's rows changed under a new filter: select its first, the key metrics'
    /// graphs being above it.
    pub fn select_first_row(&mut self, ctx: &Ctx<'_>) {
        let keys = self.find(ctx.snap).map_or(0, |(_, h)| key_count(h));
        self.scroll = 0;
        self.selected = if self.graph.is_some() { 0 } else { keys };
    }

    /// Graphs the selected metric large, with a time axis; or says why it cannot.
    fn graph_selected(&mut self, ctx: &Ctx<'_>) -> Result<(), Ask> {
        let picked = self.find(ctx.snap).and_then(|(_, h)| {
            let m = *self.metrics(h).get(self.selected)?;
            Some((
                m.meta.name.to_string(),
                m.meta.units.trim().to_string(),
                m.meta.kind.is_numeric(),
                m.text.to_string(),
            ))
        });
        let Some((metric, units, numeric, text)) = picked else {
            return Err(Ask::Say(true, "no metric selected".into()));
        };
        if !numeric {
            return Err(Ask::Say(
                true,
                format!("{metric} is text ('{text}'): only numbers have history to graph"),
            ));
        }
        let overlay = self.graph.as_ref().is_some_and(|g| g.overlay);
        self.graph = Some(MetricGraph {
            metric,
            units,
            overlay,
            series: Vec::new(),
        });
        self.keep_metric_in_sight(ctx);
        Ok(())
    }

    /// Overlays the graphed metric (graphing the selected one first) across the cluster's
    /// tagged hosts, or goes back to this host alone.
    fn toggle_overlay(&mut self, ctx: &Ctx<'_>) -> Ask {
        let tagged_others = ctx.tagged_besides(&self.cluster, &self.host);
        if self.graph.is_none()
            && let Err(why) = self.graph_selected(ctx)
        {
            return why;
        }
        let Some(g) = self.graph.as_mut() else {
            return Ask::Nothing;
        };
        let m = g.metric.clone();
        if g.overlay {
            g.overlay = false;
            return Ask::Say(false, format!("{m} of this host alone"));
        }
        if tagged_others == 0 {
            return Ask::Say(
                true,
                "no other host is tagged: tag hosts with space in the cluster view".into(),
            );
        }
        g.overlay = true;
        let shown = (tagged_others + 1).min(OVERLAY_MAX);
        let more = tagged_others + 1 - shown;
        Ask::Say(
            false,
            if more > 0 {
                format!(
                    "{m} across {shown} hosts ({more} more tagged than colours to tell them apart)"
                )
            } else {
                format!("{m} across {shown} hosts")
            },
        )
    }
}

impl Component for HostState {
    fn layer(&self) -> Layer {
        Layer::Monitor
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, body: Rect) {
        draw(ctx, self, f, body);
    }

    fn on_key(&mut self, ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        let jobs = |open, host| {
            Handled::Consumed(Ask::Jobs {
                open,
                cluster: Some(self.cluster.clone()),
                host,
            })
        };
        match a {
            Action::Processes => return jobs(JobsView::Processes, Some(self.host.clone())),
            Action::JobResults => return jobs(JobsView::Results, None),
            Action::Submit => return jobs(JobsView::Submit, None),
            Action::Tag => {
                return Handled::Consumed(Ask::Tag {
                    cluster: self.cluster.clone(),
                    host: self.host.clone(),
                });
            }
            _ => {}
        }
        Handled::Consumed(match a {
            Action::Up
            | Action::Down
            | Action::Left
            | Action::Right
            | Action::PageUp
            | Action::PageDown
            | Action::First
            | Action::Last => {
                self.navigate(ctx, a);
                Ask::Nothing
            }
            Action::Drill => self.graph_selected(ctx).err().unwrap_or(Ask::Nothing),
            Action::Back if self.filter.is_some() => {
                self.filter = None;
                Ask::Say(false, "filter cleared".into())
            }
            Action::Back if self.graph.is_some() => {
                self.graph = None;
                self.keep_metric_in_sight(ctx);
                Ask::Nothing
            }
            Action::Back => Ask::Close,
            Action::Filter => Ask::EditFilter,
            Action::Sort => Ask::Say(true, "sorting applies to a cluster's hosts".into()),
            Action::ColorBy => Ask::ColourBy(ctx.color_by.next_in(ctx.snap)),
            Action::Overlay => self.toggle_overlay(ctx),
            Action::ExportGraph => Ask::Export,
            _ => return Handled::Ignored,
        })
    }

    fn commands(&self) -> Vec<CommandInfo> {
        use Action::*;
        [
            Help,
            Quit,
            Problems,
            Back,
            Processes,
            Filter,
            RangeDay,
            ExportGraph,
            Drill,
            Overlay,
            Refresh,
            Command,
        ]
        .into_iter()
        .map(CommandInfo::on)
        .collect()
    }
}

/// Draws the view of `st`.
fn draw(ctx: &Ctx<'_>, st: &HostState, f: &mut Frame<'_>, body: Rect) {
    let t = ctx.theme;
    let Some((cv, h)) = st.find(ctx.snap) else {
        let msg = format!(
            " host '{}' is not in the latest data of '{}'",
            st.host, st.cluster
        );
        f.render_widget(Paragraph::new(msg).style(t.fg(Role::Warn)), body);
        return;
    };
    let (header, keys, panel, table) = split(body, sensor_rows(ctx, st));
    let age = cv.age(ctx.now);
    let heard = u64::from(h.tn) + age;
    let mut spans = vec![Span::styled(
        format!(" {} ", h.name),
        t.fg(Role::Title).add_modifier(Modifier::BOLD),
    )];
    match cv.liveness(h, ctx.now) {
        Liveness::Up => spans.push(Span::styled(" up ", t.fg(Role::Ok))),
        Liveness::Down => spans.push(Span::styled(
            " DOWN ",
            t.fg(Role::Critical)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )),
        // Its source is silent or stale: what follows is the last known.
        Liveness::Unknown { since, was_up } => {
            spans.push(Span::styled(
                format!(
                    " UNKNOWN since {} ago ",
                    human_secs(ctx.now.saturating_sub(since))
                ),
                t.fg(Role::Stale)
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ));
            spans.push(Span::styled(
                format!(
                    " values last known, when it was {} ",
                    if was_up { "up" } else { "down" }
                ),
                stale_style(t),
            ));
        }
    }
    spans.push(Span::styled(
        format!(" heard {} ago ", human_secs(heard)),
        t.fg(Role::Muted),
    ));
    let text = |m: &str| h.metric(m).map(|x| x.text.to_string());
    if let Some(c) = text("cpu_num") {
        spans.push(Span::styled(format!(" {c} CPUs "), t.fg(Role::Text)));
    }
    if let (Some(os), Some(rel)) = (text("os_name"), text("os_release")) {
        spans.push(Span::styled(format!(" {os} {rel} "), t.fg(Role::Text)));
    }
    if let Some(boot) = h.value("boottime") {
        let up_for = ctx.now.saturating_sub(boot as u64);
        spans.push(Span::styled(
            format!(" up {} ", human_secs(up_for)),
            t.fg(Role::Muted),
        ));
    }
    if let Some((state, reason)) = ctx.sched_state(&h.name) {
        let why = if reason.is_empty() {
            String::new()
        } else {
            format!(" ({reason})")
        };
        spans.push(Span::styled(
            format!(" slurm: {state}{why} "),
            t.fg(Role::Accent),
        ));
    }
    spans.push(Span::styled(
        format!(" {} loc {} ", h.ip, h.location),
        t.fg(Role::Muted),
    ));
    let spans = fitting(spans, header.width as usize);
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), header);

    let all = st.metrics(h);
    if let Some(g) = &st.graph {
        metric_graph::draw(ctx, f, keys, g);
    } else {
        metric_table::key_panels(ctx, st, h, f, keys);
    }
    sensor_panel::draw(ctx, f, panel, h, ctx.snap.bmc(&st.cluster, &st.host));
    metric_table::metric_table(ctx, st, &all, cv.age(ctx.now), f, table);
}
