//! The host view's sensor panel: the host's BMC (its address, health and the last error), then
//! each sensor with its reading, the BMC's caution and critical thresholds and its health,
//! the worst first, coloured by how bad it is.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::aggregator::{BmcHealth, BmcView, SensorView};
use crate::model::Host;
use crate::redfish::metric::host_readings;
use crate::redfish::{Level, Reading};
use crate::tui::component::Ctx;
use crate::tui::theme::{Role, Theme};
use crate::units::human_secs;

/// Rows the panel wants for `h` (none when it has no sensors and no BMC).
pub fn rows_wanted(h: &Host, bmc: Option<&BmcView>) -> u16 {
    let n = ordered(h, bmc).len();
    if n == 0 && bmc.is_none() {
        return 0;
    }
    // The BMC's line, the heading, the sensors.
    let heading = u16::from(n > 0);
    1 + heading + u16::try_from(n).unwrap_or(u16::MAX)
}

/// The readings in the order shown: the host's sensor metrics and its BMC's health-only
/// readings (a power supply's), worst first, then by kind and name.
pub fn ordered(h: &Host, bmc: Option<&BmcView>) -> Vec<Reading> {
    let mut r = host_readings(h);
    if let Some(b) = bmc {
        r.extend(b.health_only().cloned());
    }
    r.sort_by(|a, b| {
        b.level()
            .cmp(&a.level())
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.metric.cmp(&b.metric))
    });
    r
}

fn level_style(t: &Theme, l: Level) -> Style {
    match l {
        Level::Normal => t.fg(Role::Text),
        Level::Caution => t.fg(Role::Warn).add_modifier(Modifier::BOLD),
        Level::Critical | Level::Fatal => t.fg(Role::Critical).add_modifier(Modifier::BOLD),
    }
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Normal => "ok",
        Level::Caution => "CAUTION",
        Level::Critical => "CRITICAL",
        Level::Fatal => "FATAL",
    }
}

fn number(v: Option<f64>, units: &str) -> String {
    match v {
        Some(v) if v.fract() == 0.0 => format!("{v:.0} {units}"),
        Some(v) => format!("{v:.2} {units}"),
        None => String::new(),
    }
}

/// The reading's value, or its state where it has none (a power supply's `Enabled`).
fn value_text(r: &Reading) -> String {
    match r.value {
        Some(_) => number(r.value, &r.units),
        None => r.state.clone().unwrap_or_else(|| "—".into()),
    }
}

/// The BMC's line: where it is, how it answered, how old the readings are.
fn bmc_line(ctx: &Ctx<'_>, bmc: Option<(&SensorView, &BmcView)>) -> Line<'static> {
    let t = ctx.theme;
    let Some((sv, b)) = bmc else {
        // Sensors that came through a parent's XML: no BMC of ours to speak of.
        return Line::from(Span::styled(
            " Sensors (from the source's data; no BMC polled here) ",
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ));
    };
    let mut spans = vec![Span::styled(
        format!(" BMC {} ", b.url),
        t.fg(Role::Title).add_modifier(Modifier::BOLD),
    )];
    let (style, word) = match b.health {
        BmcHealth::Ok => (t.fg(Role::Ok), "ok".to_string()),
        BmcHealth::Slow => (t.fg(Role::Warn), "slow".to_string()),
        BmcHealth::Degraded => (
            t.fg(Role::Warn).add_modifier(Modifier::BOLD),
            "DEGRADED".to_string(),
        ),
        BmcHealth::Pending => (t.fg(Role::Muted), "not polled yet".to_string()),
        BmcHealth::Failing => (
            t.fg(Role::Critical).add_modifier(Modifier::BOLD),
            "FAILING".to_string(),
        ),
    };
    spans.push(Span::styled(format!(" {word} "), style));
    if let Some(e) = &b.error {
        spans.push(Span::styled(format!(" {e} "), t.fg(Role::Warn)));
    }
    match b.last_success {
        Some(at) => {
            let age = ctx.now.saturating_sub(at);
            let stale = age > 2 * u64::from(sv.interval.max(1));
            spans.push(Span::styled(
                format!(
                    " read {} ago in {:.1} s, every {} s ",
                    human_secs(age),
                    b.took.as_secs_f64(),
                    sv.interval
                ),
                if stale {
                    t.fg(Role::Stale)
                } else {
                    t.fg(Role::Muted)
                },
            ));
        }
        None if b.health != BmcHealth::Pending => {
            spans.push(Span::styled(" never read ", t.fg(Role::Muted)));
        }
        None => {}
    }
    Line::from(spans)
}

/// Draws the panel of `h` in `area`.
pub fn draw(
    ctx: &Ctx<'_>,
    f: &mut Frame<'_>,
    area: Rect,
    h: &Host,
    bmc: Option<(&SensorView, &BmcView)>,
) {
    if area.height == 0 {
        return;
    }
    let t = ctx.theme;
    let line = Rect::new(area.x, area.y, area.width, 1);
    f.render_widget(Paragraph::new(bmc_line(ctx, bmc)).style(t.text()), line);
    let readings = ordered(h, bmc.map(|b| b.1));
    if readings.is_empty() || area.height < 3 {
        return;
    }
    let room = area.height.saturating_sub(2) as usize;
    let more = readings.len().saturating_sub(room);
    let shown = if more > 0 {
        room.saturating_sub(1)
    } else {
        room
    };
    let rows: Vec<Row> = readings
        .iter()
        .take(shown)
        .map(|r| {
            let level = r.level();
            let th = &r.thresholds;
            let (caution, critical) = if th.upper_caution.is_some() || th.upper_critical.is_some() {
                (th.upper_caution, th.upper_critical)
            } else {
                (th.lower_caution, th.lower_critical)
            };
            Row::new(vec![
                Cell::from(r.name.clone()),
                Cell::from(r.metric.clone()).style(t.fg(Role::Muted)),
                Cell::from(value_text(r)).style(level_style(t, level)),
                Cell::from(number(caution, &r.units)).style(t.fg(Role::Muted)),
                Cell::from(number(critical, &r.units)).style(t.fg(Role::Muted)),
                Cell::from(format!(
                    "{}{}",
                    level_word(level),
                    r.health
                        .as_deref()
                        .filter(|h| *h != "OK")
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default()
                ))
                .style(level_style(t, level)),
            ])
        })
        .collect();
    let header = Row::new(vec![
        "sensor", "metric", "reading", "caution", "critical", "health",
    ])
    .style(t.fg(Role::Muted).add_modifier(Modifier::BOLD));
    let table = Table::new(
        rows,
        [
            Constraint::Length(22),
            Constraint::Length(16),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .style(t.text());
    let rest = Rect::new(
        area.x + 1,
        area.y + 1,
        area.width.saturating_sub(1),
        area.height - 1,
    );
    f.render_widget(table, rest);
    if more > 0 {
        let last = Rect::new(rest.x, area.y + area.height - 1, rest.width, 1);
        let hidden = readings.len() - shown;
        f.render_widget(
            Paragraph::new(format!("… {hidden} more sensors in the metric table below"))
                .style(t.fg(Role::Muted)),
            last,
        );
    }
}
