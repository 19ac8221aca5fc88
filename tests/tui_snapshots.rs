//! Every view and overlay at 80×24 and 200×60, in colour and with NO_COLOR, over real
//! gmond/gmetad documents.

mod common;

use common::fixture;
use common::tui::{POLLED_AT, app, app_with_history, render, snapshot_failing, snapshot_from};
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
fn a_dead_sources_cluster_is_greyed_and_its_hosts_unknown() {
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
        let grid = render(&a);
        let row = grid.lines().find(|l| l.contains("clusterB")).unwrap_or("");
        // Counts from now would say "0 up 2 down" beside CPUs and load from five minutes ago.
        assert!(row.contains("2 unknown"), "{row}");
        assert!(row.contains("last"), "figures marked as last known: {row}");
        assert!(row.contains("STALE"), "{row}");
        assert!(!row.contains("2 down") && !row.contains("2↓"), "{row}");
        assert!(!grid.contains('✖'), "no host drawn as down: {grid}");
        a.act(Action::Down);
        a.act(Action::Drill);
        let cluster = render(&a);
        assert!(cluster.contains("UNKNOWN since 5m07s ago"), "{cluster}");
        assert!(cluster.contains("2 unknown for 5m07s"), "{cluster}");
        assert!(!cluster.contains("DOWN"), "{cluster}");
        insta::assert_snapshot!(format!("dead_source_cluster_{w}x{h}"), cluster);
        a.act(Action::Drill);
        let host = render(&a);
        assert!(host.contains("UNKNOWN since 5m07s ago"), "{host}");
        assert!(host.contains("values last known, when it was up"), "{host}");
        insta::assert_snapshot!(format!("dead_source_host_{w}x{h}"), host);
    }
}

#[test]
fn ten_thousand_silent_hosts_are_no_mass_outage() {
    // 65 s after a big source died, TN had pushed most hosts past 4 × TMAX: "7359↑ 2641↓".
    let spec = gantry::sim::ClusterSpec {
        name: "big".into(),
        hosts: 10_000,
        down: 100,
        port: 0,
    };
    let mut doc = Vec::new();
    gantry::sim::SimCluster::new(&spec, 1, POLLED_AT - 300).render(&mut doc);
    let snap = snapshot_failing(&[("big", doc)], POLLED_AT, &["big"]);
    let history = gantry::history::HistoryStore::new();
    let a = app_with_history(snap, POLLED_AT + 65, (200, 60), true, true, history);
    let grid = render(&a);
    let row = grid.lines().find(|l| l.contains("big")).unwrap_or("");
    assert!(row.contains("10000 unknown"), "{row}");
    assert!(row.contains("last known: 9900 up 100 down"), "{row}");
    let tiles = grid.lines().nth(2).unwrap_or("");
    assert!(tiles.contains('░') && !tiles.contains('✖'), "{tiles}");
}

#[test]
fn memory_is_a_ratio_over_hosts_reporting_both_terms() {
    // a-node01 sends mem_free but no mem_total: summed apart, used memory would go below zero
    // and show as "mem 0%".
    let doc = common::replace_once(
        &fixture("ganglia/gmond-8649-clusterA.xml"),
        "NAME=\"mem_total\" VAL=\"24684084\"",
        b"NAME=\"mem_total_x\" VAL=\"24684084\"",
    );
    let snap = snapshot_from(&[("A", doc)], POLLED_AT);
    let a = app(snap, POLLED_AT + 7, (200, 60), true, true);
    let grid = render(&a);
    let row = grid.lines().find(|l| l.contains("clusterA")).unwrap_or("");
    assert!(
        row.contains("mem   1% of  50.6 GB"),
        "two hosts' memory: {row}"
    );
}

#[test]
fn a_remote_grid_shows_memory_from_its_summary() {
    let a = console((200, 60), true, true);
    let grid = render(&a);
    let row = grid
        .lines()
        .find(|l| l.contains("AcceptanceGrid"))
        .unwrap_or("");
    assert!(row.contains("mem   1% of 126.4 GB"), "{row}");
}

#[test]
fn the_sources_panel_scrolls_to_every_wrapped_line() {
    use crossterm::event::{KeyCode, KeyEvent};
    // Long source names: each source's first line wraps at 80 columns.
    let names = [
        "collector-rack-01-gmond",
        "collector-rack-02-gmond",
        "collector-rack-03-gmond",
        "collector-rack-04-gmond",
        "collector-rack-05-gmond",
        "collector-rack-06-gmond",
    ];
    let docs: Vec<(&str, Vec<u8>)> = names
        .iter()
        .map(|n| (*n, fixture("ganglia/gmond-8659-clusterB.xml")))
        .collect();
    let snap = snapshot_failing(&docs, POLLED_AT, &names);
    let mut a = app(snap, POLLED_AT + 7, (80, 24), true, true);
    a.act(Action::Sources);
    let first = render(&a);
    assert!(first.contains("lines 1–"), "{first}");
    for _ in 0..10 {
        a.on_key(KeyEvent::from(KeyCode::PageDown));
    }
    let last = render(&a);
    // The last source's cluster line, wrapped or not, is on screen, and the box is full.
    let bottom: Vec<&str> = last
        .lines()
        .filter(|l| l.starts_with('│') || l.starts_with('┌') || l.starts_with('└'))
        .collect();
    assert!(bottom.len() >= 19, "{last}");
    assert!(
        bottom.iter().rev().nth(1).unwrap_or(&"").contains("STALE")
            || bottom.iter().rev().nth(2).unwrap_or(&"").contains("STALE"),
        "{last}"
    );
    assert!(last.contains(" of "), "{last}");
    insta::assert_snapshot!("sources_scrolled_to_the_end_80x24", last);
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

#[test]
fn a_message_clears_when_the_next_action_succeeds() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut a = console((80, 24), true, true);
    a.act(Action::Sort);
    let said = render(&a);
    assert!(
        said.contains("sorting applies to a cluster's hosts"),
        "{said}"
    );
    // A click that selects another cluster is an action that succeeded: the complaint is
    // about the screen before it.
    let row = said
        .lines()
        .position(|l| l.contains("clusterB"))
        .expect("clusterB on the grid") as u16;
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 4,
        row,
        modifiers: KeyModifiers::NONE,
    };
    a.on_mouse(click, std::time::Instant::now());
    let after = render(&a);
    assert!(!after.contains("sorting applies"), "{after}");
    // A message said by an action stays until the next one.
    a.act(Action::RangeDay);
    assert!(render(&a).contains("graphs over the last day"));
    let snap = a.snap.clone();
    a.on_snapshot(snap, POLLED_AT + 8);
    assert!(
        render(&a).contains("graphs over the last day"),
        "new data is no action of the operator's"
    );
}

#[test]
fn views_and_overlays_take_their_own_keys_and_offer_their_own_hints() {
    use crossterm::event::{KeyCode, KeyEvent};
    use gantry::tui::app::Level;
    let mut a = console((200, 60), true, true);
    let offers = |a: &App, x: Action| a.view().commands().iter().any(|c| c.action == x);
    let hints = |a: &App| render(a).lines().last().unwrap_or("").to_string();
    // The grid offers the sources, not sorting; a cluster sorting and tags; a host overlays.
    assert!(offers(&a, Action::Sources) && !offers(&a, Action::Sort));
    assert!(hints(&a).contains("sources"), "{}", hints(&a));
    a.act(Action::Drill);
    assert!(offers(&a, Action::Sort) && offers(&a, Action::Tag));
    assert!(hints(&a).contains("sort"), "{}", hints(&a));
    a.act(Action::Drill);
    assert!(offers(&a, Action::Overlay) && !offers(&a, Action::Sort));
    assert!(hints(&a).contains("overlay"), "{}", hints(&a));
    // An overlay takes the keys first: ? on the sources opens the help its hints offer, and
    // Esc closes the help, not the host under it.
    a.act(Action::Sources);
    assert!(hints(&a).contains("? help"), "{}", hints(&a));
    a.on_key(KeyEvent::from(KeyCode::Char('?')));
    assert!(render(&a).contains(" Help "), "{}", render(&a));
    a.on_key(KeyEvent::from(KeyCode::Esc));
    assert!(a.overlay.is_none());
    assert_eq!(a.level(), Level::Host);
    // Esc then goes up a level: the host's view closes.
    a.on_key(KeyEvent::from(KeyCode::Esc));
    assert_eq!(a.level(), Level::Cluster);
}
