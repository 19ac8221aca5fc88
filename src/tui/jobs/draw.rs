//! Drawing job control: the process monitor, job results, the pager and the dialogs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::dialogs::overloaded;
use super::form::{FIELDS, Kind};
use super::{JobScreen, JobsUi, Modal, ProcSort};
use crate::cm::job::Signal;
use crate::jobs::LinkState;
use crate::tui::app::App;
use crate::tui::overlays::centered;
use crate::tui::theme::Role;
use crate::units::{human_bytes, human_secs};

fn age(now: u64, t: Option<u64>) -> String {
    match t {
        Some(t) if now >= t => format!("{} ago", human_secs(now - t)),
        Some(_) => "now".into(),
        None => "–".into(),
    }
}

/// Draws job control into the body.
pub fn draw(app: &App, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
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
        if on {
            Span::styled(format!(" {label} "), t.selection())
        } else {
            Span::styled(format!(" {label} "), t.fg(Role::Muted))
        }
    };
    let mut head = vec![
        Span::styled(
            " Job control ",
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ),
        tab(j.screen == JobScreen::Processes, "processes"),
        tab(j.screen != JobScreen::Processes, "jobs"),
        Span::raw("  "),
        Span::styled(state, state_style),
    ];
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
        JobScreen::Processes => processes(app, j, f, body),
        JobScreen::Results => results(app, j, f, body),
        JobScreen::Pager => pager(app, j, f, body),
    }
    if let Some(m) = &j.modal {
        match m {
            Modal::Login(d) => login(app, d, f, area),
            Modal::Kill(d) => kill(app, d, f, area),
            Modal::Migrate(d) => migrate(app, d, f, area),
            Modal::Submit(s) => submit(app, s, f, area),
        }
    }
}

fn row_style(app: &App, selected: bool) -> Style {
    if selected {
        app.theme.selection()
    } else {
        app.theme.fg(Role::Text)
    }
}

fn processes(app: &App, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let sort = match j.sort {
        ProcSort::Cpu => "CPU",
        ProcSort::Memory => "memory",
        ProcSort::Node => "node",
    };
    let head = format!(
        "   {:<12} {:>7} {} {:<16} {:<10} {:>6} {:>9} {:>6}   sorted by {sort}{}",
        "node",
        "pid",
        "S",
        "name",
        "user",
        "CPU%",
        "memory",
        "job",
        if j.tagged.is_empty() {
            String::new()
        } else {
            format!(", {} tagged", j.tagged.len())
        }
    );
    f.render_widget(
        Paragraph::new(head).style(t.fg(Role::Muted).add_modifier(Modifier::BOLD)),
        Rect::new(area.x, area.y, area.width, 1),
    );
    let rows = j.visible_procs();
    if rows.is_empty() {
        let msg = if j.login.is_none() {
            " log in to see processes (Enter)"
        } else if j.filter.is_some() {
            " no process matches the filter"
        } else {
            " no processes"
        };
        f.render_widget(
            Paragraph::new(msg).style(t.fg(Role::Muted)),
            Rect::new(area.x, area.y + 1, area.width, 1),
        );
        return;
    }
    let visible = area.height.saturating_sub(1) as usize;
    for (k, (i, p)) in rows
        .iter()
        .enumerate()
        .skip(j.scroll)
        .take(visible)
        .enumerate()
    {
        let tagged = j.tagged.contains(&(p.node.clone(), p.pid));
        let line = format!(
            " {} {:<12.12} {:>7} {} {:<16.16} {:<10.10} {:>6.1} {:>9} {:>6}",
            if tagged { "*" } else { " " },
            p.node,
            p.pid,
            p.state,
            p.name,
            p.user,
            p.cpu_pct,
            human_bytes(p.rss_kb * 1024),
            p.job
        );
        let mut style = row_style(app, i == j.selected);
        if tagged && i != j.selected {
            style = t.fg(Role::Accent);
        }
        f.render_widget(
            Paragraph::new(line).style(style),
            Rect::new(area.x, area.y + 1 + k as u16, area.width, 1),
        );
    }
}

fn results(app: &App, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let head = format!(
        " {:>6} {:<16} {:<10} {:<9} {:<18} {:>12} {:>12} {:>12} {:>5}",
        "id", "name", "user", "state", "nodes", "submitted", "started", "ended", "exit"
    );
    f.render_widget(
        Paragraph::new(head).style(t.fg(Role::Muted).add_modifier(Modifier::BOLD)),
        Rect::new(area.x, area.y, area.width, 1),
    );
    let rows = j.visible_jobs();
    if rows.is_empty() {
        f.render_widget(
            Paragraph::new(if j.filter.is_some() {
                " no job matches the filter"
            } else {
                " no jobs yet (n submits one)"
            })
            .style(t.fg(Role::Muted)),
            Rect::new(area.x, area.y + 1, area.width, 1),
        );
        return;
    }
    let visible = area.height.saturating_sub(1) as usize;
    for (k, (i, jb)) in rows
        .iter()
        .enumerate()
        .skip(j.scroll)
        .take(visible)
        .enumerate()
    {
        let mut line = format!(
            " {:>6} {:<16.16} {:<10.10} {:<9} {:<18.18} {:>12} {:>12} {:>12} {:>5}",
            jb.id,
            jb.name,
            jb.user,
            jb.state,
            jb.nodes,
            age(app.now, Some(jb.submitted)),
            age(app.now, jb.started),
            age(app.now, jb.ended),
            jb.exit.map_or("–".into(), |e| e.to_string())
        );
        // Why it ended so (a launch error), or why its state is unknown.
        if !jb.reason.is_empty() {
            line.push_str("  ");
            line.push_str(&jb.reason);
        }
        let style = if i == j.selected {
            t.selection()
        } else {
            match jb.state.as_str() {
                "failed" | "lost" => t.fg(Role::Critical),
                "killed" | "unknown" => t.fg(Role::Warn),
                "running" => t.fg(Role::Ok),
                _ => t.fg(Role::Text),
            }
        };
        f.render_widget(
            Paragraph::new(line).style(style),
            Rect::new(area.x, area.y + 1 + k as u16, area.width, 1),
        );
    }
}

fn pager(app: &App, j: &JobsUi, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let p = &j.pager;
    let head = format!(
        " job {} {} — {} of {}{}{}   f follow · s out/err · / search · n next · Esc back",
        p.id,
        if p.stream == "out" {
            "output"
        } else {
            "errors"
        },
        human_bytes(p.next),
        human_bytes(p.size),
        if p.follow { " · following" } else { "" },
        if p.searching {
            format!(" · search: {}▏", p.search)
        } else if !p.search.is_empty() {
            format!(" · search: {}", p.search)
        } else {
            String::new()
        }
    );
    f.render_widget(
        Paragraph::new(head).style(t.fg(Role::Muted).add_modifier(Modifier::BOLD)),
        Rect::new(area.x, area.y, area.width, 1),
    );
    if let Some(e) = &p.error {
        f.render_widget(
            Paragraph::new(format!(" {e}")).style(t.fg(Role::Critical)),
            Rect::new(area.x, area.y + 1, area.width, 1),
        );
        return;
    }
    let h = area.height.saturating_sub(1) as usize;
    let lines: Vec<&str> = p.text.lines().collect();
    let start = if p.follow {
        lines.len().saturating_sub(h)
    } else {
        p.scroll.min(lines.len().saturating_sub(1))
    };
    for (k, l) in lines.iter().skip(start).take(h).enumerate() {
        let style = if !p.search.is_empty() && l.contains(&p.search) {
            t.fg(Role::Accent).add_modifier(Modifier::BOLD)
        } else {
            t.fg(Role::Text)
        };
        f.render_widget(
            Paragraph::new(l.replace('\t', "    ")).style(style),
            Rect::new(area.x, area.y + 1 + k as u16, area.width, 1),
        );
    }
}

fn dialog(app: &App, f: &mut Frame<'_>, area: Rect, w: u16, h: u16, title: &str) -> Rect {
    let t = &app.theme;
    let r = centered(area, w.min(area.width), h.min(area.height));
    f.render_widget(Clear, r);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            title,
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ))
        .border_style(t.fg(Role::DialogBorder))
        .style(t.fg(Role::Text).bg(t.color(Role::Dialog)));
    if !app.glyphs.unicode {
        block = block.border_set(ratatui::symbols::border::PLAIN);
    }
    let inner = block.inner(r);
    f.render_widget(block, r);
    inner
}

fn line(f: &mut Frame<'_>, r: Rect, y: u16, text: Line<'_>) {
    if y < r.height {
        f.render_widget(Paragraph::new(text), Rect::new(r.x, r.y + y, r.width, 1));
    }
}

fn button(app: &App, label: &str, focused: bool, danger: bool) -> Span<'static> {
    let t = &app.theme;
    let style = match (focused, danger) {
        (true, _) => t.selection().add_modifier(Modifier::BOLD),
        (false, true) => t.fg(Role::Critical),
        (false, false) => t.fg(Role::Text),
    };
    Span::styled(format!("[ {label} ]"), style)
}

fn login(app: &App, d: &super::dialogs::LoginDialog, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let r = dialog(app, f, area, 60, 11, " Log in to the central manager ");
    let focus = |i: usize| {
        if d.focus == i {
            t.fg(Role::Accent)
        } else {
            t.fg(Role::Muted)
        }
    };
    line(f, r, 0, Line::from(Span::styled(" user name", focus(0))));
    f.render_widget(
        &d.user,
        Rect::new(r.x + 12, r.y, r.width.saturating_sub(13), 1),
    );
    line(f, r, 1, Line::from(Span::styled(" password", focus(1))));
    f.render_widget(
        &d.password,
        Rect::new(r.x + 12, r.y + 1, r.width.saturating_sub(13), 1),
    );
    let check = if d.remember { "[x]" } else { "[ ]" };
    line(
        f,
        r,
        3,
        Line::from(Span::styled(
            format!(" {check} remember me (OS keyring)"),
            if d.focus == 2 {
                t.fg(Role::Accent)
            } else {
                t.fg(Role::Text)
            },
        )),
    );
    line(
        f,
        r,
        5,
        Line::from(vec![
            Span::raw(" "),
            button(app, "Log in", d.focus == 3, false),
        ]),
    );
    let status = if d.pending {
        Some(Span::styled(" checking…", t.fg(Role::Muted)))
    } else {
        d.error
            .as_ref()
            .map(|e| Span::styled(format!(" {e}"), t.fg(Role::Critical)))
    };
    if let Some(s) = status {
        line(f, r, 7, Line::from(s));
    }
    if let Some(h) = &d.hint {
        line(
            f,
            r,
            8,
            Line::from(Span::styled(format!(" {h}"), t.fg(Role::Muted))),
        );
    }
}

/// Per-target results shown in the kill dialog; the rest are counted.
const MAX_RESULTS: usize = 6;

fn kill(app: &App, d: &super::dialogs::KillDialog, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let shown = d.targets.len().min(6);
    let n = d.targets.len();
    // Every row below, so the results never fall off the dialog's bottom.
    let results = d.results.as_ref().map_or(0, |r| {
        r.len().clamp(1, MAX_RESULTS) + usize::from(r.len() > MAX_RESULTS)
    });
    let rows = 1
        + shown
        + usize::from(n > shown)
        + usize::from(!d.foreign.is_empty())
        + usize::from(d.whole_job)
        + 1
        + Signal::ALL.len()
        + 1
        + usize::from(d.confirm_word.is_some())
        + 3
        + results;
    let h = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let r = dialog(app, f, area, 72, h, " Signal processes ");
    let mut y = 0;
    line(
        f,
        r,
        y,
        Line::from(Span::styled(
            format!(" {} process{}:", n, if n == 1 { "" } else { "es" }),
            t.fg(Role::Text).add_modifier(Modifier::BOLD),
        )),
    );
    y += 1;
    for tg in d.targets.iter().take(shown) {
        line(f, r, y, Line::from(format!("   {tg}")));
        y += 1;
    }
    if n > shown {
        line(f, r, y, Line::from(format!("   … and {} more", n - shown)));
        y += 1;
    }
    if !d.foreign.is_empty() {
        line(
            f,
            r,
            y,
            Line::from(Span::styled(
                format!(" owned by another user: {}", d.foreign.join(", ")),
                t.fg(Role::Warn),
            )),
        );
        y += 1;
    }
    if d.whole_job {
        line(
            f,
            r,
            y,
            Line::from(Span::styled(
                " Slurm signals whole jobs: every process of each job, on all its nodes",
                t.fg(Role::Warn),
            )),
        );
        y += 1;
    }
    y += 1;
    for (i, s) in Signal::ALL.iter().enumerate() {
        let mark = if i == d.signal { "(•)" } else { "( )" };
        let style = if i == d.signal && d.focus == 0 {
            t.selection()
        } else if i == d.signal {
            t.fg(Role::Accent)
        } else {
            t.fg(Role::Text)
        };
        line(
            f,
            r,
            y,
            Line::from(Span::styled(format!("   {mark} {s}"), style)),
        );
        y += 1;
    }
    y += 1;
    if let Some(w) = &d.confirm_word {
        let what = if n > 1 {
            "the number of processes"
        } else {
            "the node name"
        };
        line(
            f,
            r,
            y,
            Line::from(Span::styled(
                format!(" type {what} ({w}) to confirm:"),
                if d.focus == 1 {
                    t.fg(Role::Accent)
                } else {
                    t.fg(Role::Text)
                },
            )),
        );
        f.render_widget(
            &d.confirm,
            Rect::new(
                r.x + 46.min(r.width),
                r.y + y,
                r.width.saturating_sub(47),
                1,
            ),
        );
        y += 1;
    }
    y += 1;
    line(
        f,
        r,
        y,
        Line::from(vec![
            Span::raw(" "),
            button(app, "Cancel", d.focus == 2, false),
            Span::raw("  "),
            button(
                app,
                &format!("Send {}", Signal::ALL[d.signal]),
                d.focus == 3,
                true,
            ),
        ]),
    );
    y += 1;
    if let Some(e) = &d.error {
        line(
            f,
            r,
            y,
            Line::from(Span::styled(format!(" {e}"), t.fg(Role::Critical))),
        );
    }
    if let Some(res) = &d.results {
        let y = y + 1;
        if res.is_empty() {
            line(
                f,
                r,
                y,
                Line::from(Span::styled(" sending…", t.fg(Role::Muted))),
            );
        }
        for (y, (tg, r2)) in (y..).zip(res.iter().take(MAX_RESULTS)) {
            let (txt, st) = match r2 {
                Ok(()) => (format!(" ✓ {tg}"), t.fg(Role::Ok)),
                Err(e) => (format!(" ✗ {tg}: {e}"), t.fg(Role::Critical)),
            };
            line(f, r, y, Line::from(Span::styled(txt, st)));
        }
        if res.len() > MAX_RESULTS {
            let failed = res.iter().filter(|(_, r)| r.is_err()).count();
            line(
                f,
                r,
                y + MAX_RESULTS as u16,
                Line::from(format!(
                    "   … and {} more ({failed} failed in all)",
                    res.len() - MAX_RESULTS
                )),
            );
        }
    }
}

fn migrate(app: &App, d: &super::dialogs::MigrateDialog, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let h = 9 + d.nodes.len().min(12) as u16;
    let r = dialog(app, f, area, 72, h, " Migrate a process ");
    line(f, r, 0, Line::from(format!(" move {} to:", d.target)));
    line(
        f,
        r,
        1,
        Line::from(Span::styled(
            format!(
                "   {:<14} {:<5} {:>6} {:>5} {:>10}",
                "node", "state", "load", "CPUs", "free mem"
            ),
            t.fg(Role::Muted),
        )),
    );
    for (i, n) in d.nodes.iter().enumerate().take(12) {
        use crate::tui::bands::TileState;
        let tile = if !n.up {
            TileState::Down
        } else {
            TileState::Band(
                app.bands
                    .band(f64::from(n.load1) / f64::from(n.cpus.max(1))),
            )
        };
        let band = crate::tui::widgets::tiles::glyph(tile, app.glyphs.unicode);
        let note = if !n.up {
            "  down"
        } else if overloaded(n) {
            "  overloaded"
        } else {
            ""
        };
        let sched = d
            .states
            .get(&n.name)
            .map(|(state, _)| format!("  slurm: {state}"))
            .unwrap_or_default();
        let text = format!(
            " {band} {:<14.14} {:<5} {:>6.2} {:>5} {:>10}{note}{sched}",
            n.name,
            if n.up { "up" } else { "down" },
            n.load1,
            n.cpus,
            human_bytes(n.mem_free_kb * 1024)
        );
        let style = if i == d.selected {
            t.selection()
        } else if !n.up {
            t.fg(Role::Down)
        } else if overloaded(n) {
            t.fg(Role::Warn)
        } else {
            t.fg(Role::Text)
        };
        line(f, r, 2 + i as u16, Line::from(Span::styled(text, style)));
    }
    let y = 3 + d.nodes.len().min(12) as u16;
    let msg = match (&d.result, d.pending, d.confirming) {
        (Some(Ok((node, 0))), _, _) => Span::styled(
            format!(" requeued: it restarts on {node} (from the start, or its checkpoint)"),
            t.fg(Role::Ok),
        ),
        (Some(Ok((node, pid))), _, _) => {
            Span::styled(format!(" done: now pid {pid} on {node}"), t.fg(Role::Ok))
        }
        (Some(Err(e)), _, _) => Span::styled(format!(" not migrated: {e}"), t.fg(Role::Critical)),
        (None, true, _) => Span::styled(
            " migrating… (stop, then restart from its checkpoint)",
            t.fg(Role::Muted),
        ),
        (None, false, true) => Span::styled(
            format!(
                " Enter: migrate to {}   Esc: choose again",
                d.nodes.get(d.selected).map_or("", |n| n.name.as_str())
            ),
            t.fg(Role::Warn).add_modifier(Modifier::BOLD),
        ),
        _ => Span::styled(" ↑↓ choose a node · Enter · Esc cancels", t.fg(Role::Muted)),
    };
    line(f, r, y, Line::from(msg));
    if d.requeue {
        line(
            f,
            r,
            y + 1,
            Line::from(Span::styled(
                " Slurm cannot move a running job: it is requeued and restarts on the chosen node",
                t.fg(Role::Warn),
            )),
        );
        line(
            f,
            r,
            y + 2,
            Line::from(Span::styled(
                " (from the start, unless it resumes from its own checkpoint).",
                t.fg(Role::Warn),
            )),
        );
    }
}

fn submit(app: &App, s: &super::form::SubmitForm, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let h = FIELDS.len() as u16 + 8;
    let r = dialog(app, f, area, 96, h, " Submit a job ");
    if let Some(p) = &s.preview {
        line(
            f,
            r,
            0,
            Line::from(Span::styled(
                " exactly this will be sent:",
                t.fg(Role::Muted),
            )),
        );
        let mut y = 1;
        for chunk in p
            .as_bytes()
            .chunks(r.width.saturating_sub(2).max(1) as usize)
        {
            line(
                f,
                r,
                y,
                Line::from(format!(" {}", String::from_utf8_lossy(chunk))),
            );
            y += 1;
        }
        let last = if s.pending {
            " submitting…".to_string()
        } else {
            " Enter: submit   Esc: back to the form".to_string()
        };
        line(
            f,
            r,
            y + 1,
            Line::from(Span::styled(
                last,
                t.fg(Role::Warn).add_modifier(Modifier::BOLD),
            )),
        );
        return;
    }
    for (i, (name, kind)) in FIELDS.iter().enumerate() {
        let focused = s.focus == i;
        let label = Span::styled(
            format!(" {name:<25}"),
            if focused {
                t.fg(Role::Accent)
            } else {
                t.fg(Role::Muted)
            },
        );
        let y = i as u16;
        match kind {
            Kind::Choice(opts) => {
                let mut spans = vec![label];
                for (k, o) in opts.iter().enumerate() {
                    let st = if k == s.choice[i] {
                        if focused {
                            t.selection()
                        } else {
                            t.fg(Role::Accent)
                        }
                    } else {
                        t.fg(Role::Muted)
                    };
                    spans.push(Span::styled(format!(" {o} "), st));
                }
                line(f, r, y, Line::from(spans));
            }
            _ => {
                line(f, r, y, Line::from(label));
                let w = 32.min(r.width.saturating_sub(27));
                f.render_widget(&s.inputs[i], Rect::new(r.x + 27, r.y + y, w, 1));
                let room = r.width.saturating_sub(27 + w) as usize;
                let extra = match (s.error(i), i) {
                    // Cut to fit; the whole message shows under the form for the field in focus.
                    (Some(e), _) => {
                        Span::styled(fit(&format!(" ✗ {e}"), room), t.fg(Role::Critical))
                    }
                    (None, 2) => {
                        Span::styled(format!(" {} argument(s)", s.arg_count()), t.fg(Role::Muted))
                    }
                    _ => Span::raw(""),
                };
                f.render_widget(
                    Paragraph::new(Line::from(extra)),
                    Rect::new(r.x + 27 + w, r.y + y, r.width.saturating_sub(27 + w), 1),
                );
            }
        }
    }
    let y = FIELDS.len() as u16 + 1;
    line(
        f,
        r,
        y,
        Line::from(vec![
            Span::raw(" "),
            button(app, "Preview and submit", s.focus == FIELDS.len(), false),
        ]),
    );
    line(
        f,
        r,
        y + 1,
        Line::from(Span::styled(
            fit(
                " Tab/↑↓ move · ←→ choose · Ctrl-S save / Ctrl-L load a template · Esc cancel",
                r.width as usize,
            ),
            t.fg(Role::Muted),
        )),
    );
    // The focused field's problem in full, else the first one.
    let shown = std::iter::once(s.focus)
        .chain(0..FIELDS.len())
        .filter(|i| *i < FIELDS.len())
        .find_map(|i| s.error(i).map(|e| (FIELDS[i].0, e)));
    if let Some((name, e)) = shown {
        line(
            f,
            r,
            y + 2,
            Line::from(Span::styled(
                fit(&format!(" ✗ {name}: {e}"), r.width as usize),
                t.fg(Role::Critical),
            )),
        );
    }
    if let Some(n) = &s.note {
        line(
            f,
            r,
            y + 3,
            Line::from(Span::styled(
                fit(&format!(" {n}"), r.width as usize),
                t.fg(Role::Warn),
            )),
        );
    }
}

/// `text` cut to `width` columns, with … when it did not fit.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The hint bar of job control, from the keymap (so read-only mode hides what it removed).
pub fn hints(app: &App, j: &JobsUi) -> Vec<(String, &'static str)> {
    use crate::tui::action::{Action, action_def};
    let layer = j.layer();
    let kill = matches!(j.modal, Some(super::Modal::Kill(_)));
    let list: &[Action] = match (layer, j.screen) {
        (crate::tui::action::Layer::Dialog, _) if kill => &[
            Action::Confirm,
            Action::Close,
            Action::NextField,
            Action::SignalTerm,
            Action::SignalKill,
        ],
        (crate::tui::action::Layer::Dialog | crate::tui::action::Layer::Form, _) => {
            &[Action::Confirm, Action::Close, Action::NextField]
        }
        (_, screen) => match screen {
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
            ],
            JobScreen::Results => &[
                Action::Help,
                Action::Back,
                Action::Drill,
                Action::Processes,
                Action::Submit,
                Action::Filter,
            ],
            JobScreen::Pager => &[
                Action::Help,
                Action::Close,
                Action::Follow,
                Action::OtherStream,
                Action::Filter,
                Action::FindNext,
            ],
        },
    };
    list.iter()
        .filter(|a| !(j.read_only && action_def(**a).dangerous))
        .filter_map(|a| {
            let key = app.keymap.first_key(layer, *a)?;
            let label = if *a == Action::Drill {
                "output"
            } else {
                action_def(*a).hint
            };
            Some((key, label))
        })
        .collect()
}
