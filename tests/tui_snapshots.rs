//! Every view and overlay at 80×24 and 200×60, in colour and with NO_COLOR, over real
//! gmond/gmetad documents.

mod common;

use common::fixture;
use common::tui::{POLLED_AT, app, render, snapshot_failing, snapshot_from};
use gantry::tui::action::Action;
use gantry::tui::app::App;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

fn console(size: (u16, u16), color: bool, unicode: bool) -> App {
    let snap = snapshot_from(
        &[
            ("A", fixture("ganglia/gmond-8649-clusterA.xml")),
            ("B", fixture("ganglia/gmond-8659-clusterB.xml")),
            ("top", fixture("ganglia/gmetad-top-8661-xml_port.xml")),
        ],
        POLLED_AT,
    );
    app(snap, POLLED_AT + 7, size, color, unicode)
}

/// Each screen worth a snapshot: a name and the actions that lead there.
const SCREENS: &[(&str, &[Action])] = &[
    ("grid", &[]),
    ("cluster", &[Action::Drill]),
    ("host", &[Action::Drill, Action::Drill]),
    ("help", &[Action::Help]),
    ("legend", &[Action::Legend]),
    ("sources", &[Action::Sources]),
    (
        "cluster_sorted_by_name",
        &[Action::Drill, Action::Sort, Action::Sort],
    ),
];

fn screen(size: (u16, u16), color: bool, unicode: bool, actions: &[Action]) -> App {
    let mut a = console(size, color, unicode);
    for act in actions {
        a.act(*act);
    }
    a
}

#[test]
fn views_at_80x24_and_200x60() {
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        for (name, actions) in SCREENS {
            let a = screen((w, h), true, true, actions);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(&a));
        }
    }
}

#[test]
fn a_dead_source_is_never_shown_as_fresh() {
    // Source B answered five minutes ago and refuses since: its data stays, marked.
    let snap = snapshot_failing(
        &[
            ("A", fixture("ganglia/gmond-8649-clusterA.xml")),
            ("B", fixture("ganglia/gmond-8659-clusterB.xml")),
        ],
        POLLED_AT,
        &["B"],
    );
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        let mut a = app(snap.clone(), POLLED_AT + 7, (w, h), true, true);
        insta::assert_snapshot!(format!("dead_source_grid_{w}x{h}"), render(&a));
        a.act(Action::Sources);
        let text = render(&a);
        assert!(text.contains("connection refused"), "{text}");
        insta::assert_snapshot!(format!("dead_source_panel_{w}x{h}"), text);
    }
}

#[test]
fn a_click_selects_and_a_double_click_drills_in() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let click = |row: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 4,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let mut a = console((80, 24), true, true);
    let row = render(&a)
        .lines()
        .position(|l| l.contains("clusterB"))
        .expect("clusterB on the grid") as u16;
    let t0 = std::time::Instant::now();
    a.on_mouse(click(row), t0);
    let grid = render(&a);
    let selected = grid.lines().find(|l| l.starts_with('▶')).unwrap_or("");
    assert!(selected.contains("clusterB"), "{grid}");
    // The second click on the same place, soon after: into the cluster.
    a.on_mouse(click(row), t0 + std::time::Duration::from_millis(200));
    let cluster = render(&a);
    assert!(
        cluster.lines().next().unwrap_or("").contains("clusterB"),
        "{cluster}"
    );
    // The wheel moves the selection like the arrow keys.
    let before = render(&a);
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        ..click(row)
    };
    a.on_mouse(wheel, t0 + std::time::Duration::from_secs(2));
    assert_ne!(render(&a), before, "the wheel moved the selection");
}

#[test]
fn command_and_filter_lines() {
    let mut a = console((80, 24), true, true);
    a.run_command("cluster clusterB");
    a.act(Action::Command);
    for c in "ho".chars() {
        a.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char(c),
        ));
    }
    a.on_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Tab,
    ));
    insta::assert_snapshot!("command_line_completion", render(&a));
    let mut a = console((80, 24), true, true);
    a.act(Action::Drill);
    a.act(Action::Filter);
    for c in "!ghost".chars() {
        a.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char(c),
        ));
    }
    insta::assert_snapshot!("filter_inverted", render(&a));
}

fn colors_used(a: &App) -> Vec<Color> {
    let mut term = Terminal::new(TestBackend::new(a.size.0, a.size.1)).unwrap();
    term.draw(|f| gantry::tui::views::draw(a, f)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut v: Vec<Color> = buf
        .content
        .iter()
        .flat_map(|c| [c.fg, c.bg])
        .filter(|c| *c != Color::Reset)
        .collect();
    v.dedup();
    v
}

#[test]
fn no_color_means_no_colour_anywhere() {
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        for (name, actions) in SCREENS {
            let a = screen((w, h), false, true, actions);
            assert_eq!(colors_used(&a), Vec::<Color>::new(), "{name} {w}x{h}");
        }
    }
    // The colour theme does use colour (so the assertion above can fail).
    assert!(!colors_used(&screen((80, 24), true, true, &[Action::Drill])).is_empty());
    // Without colour and without UTF-8, meaning is in the glyphs.
    for (name, actions) in SCREENS {
        let a = screen((80, 24), false, false, actions);
        insta::assert_snapshot!(format!("{name}_no_color_ascii"), render(&a));
    }
}

#[test]
fn hint_bar_and_help_follow_the_keymap() {
    use gantry::tui::action::{ACTIONS, LAYERS};
    let a = console((200, 60), true, true);
    // The whole help page, scrolled or not.
    let help_text = |app: &gantry::tui::app::App| {
        gantry::tui::overlays::help_lines(app)
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let help = help_text(&a);
    for d in ACTIONS {
        assert!(help.contains(d.description), "help lists {}", d.id);
        for l in LAYERS {
            for k in a.keymap.keys_in(l.layer, d.action) {
                assert!(
                    help.contains(&k.to_string()),
                    "help shows key {k} of {} in [{}]",
                    d.id,
                    l.id
                );
            }
        }
    }
    // A user keymap changes what both say.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keymap.toml");
    std::fs::write(&file, "[monitor]\nhelp = [\"f1\"]\nlegend = []\n").unwrap();
    let mut b = console((200, 60), true, true);
    b.keymap = gantry::tui::keymap::Keymap::load("default", &file).unwrap();
    let screen_text = render(&b);
    let hints = screen_text.lines().last().unwrap();
    assert!(hints.contains("f1 help"), "{hints}");
    assert!(!hints.contains("legend"), "{hints}");
    let help = help_text(&b);
    assert!(help.contains("(unbound)"));
    assert!(help.contains("f1"));
}
