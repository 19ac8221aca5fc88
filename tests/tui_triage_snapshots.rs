//! Triage screens over real documents: the problems view (`!`) and the hottest hosts (`t`) at
//! 80×24 and 200×60, a grid search that finds hosts, and what Enter does from each.

mod common;

use common::tui::{POLLED_AT, app, render, snapshot_failing};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gantry::sim::{ClusterSpec, SimCluster};
use gantry::tui::app::{App, Level};

const NOW: u64 = POLLED_AT + 7;

fn sim_doc(name: &str, hosts: usize, down: usize) -> Vec<u8> {
    let spec = ClusterSpec {
        name: name.into(),
        hosts,
        down,
        port: 0,
    };
    let mut doc = Vec::new();
    SimCluster::new(&spec, 11, NOW).render(&mut doc);
    doc
}

/// Two simulated clusters with down and overloaded hosts, and a real gmond's document whose
/// source has been refusing connections for five minutes.
fn console(size: (u16, u16)) -> App {
    let snap = snapshot_failing(
        &[
            ("alpha", sim_doc("alpha", 40, 2)),
            ("beta", sim_doc("beta", 24, 1)),
            ("A", common::fixture("ganglia/gmond-8649-clusterA.xml")),
        ],
        NOW,
        &["A"],
    );
    app(snap, NOW, size, true, true)
}

fn press(a: &mut App, code: KeyCode) {
    a.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn typed(a: &mut App, text: &str) {
    for c in text.chars() {
        press(a, KeyCode::Char(c));
    }
}

#[test]
fn problems_view() {
    for size in [(80, 24), (200, 60)] {
        let mut a = console(size);
        press(&mut a, KeyCode::Char('!'));
        let s = render(&a);
        insta::assert_snapshot!(format!("problems_{}x{}", size.0, size.1), s);
        // The dead source is one row; its hosts are not called down.
        assert!(s.contains("source dead"), "{s}");
        assert!(!s.contains(" a-node0"), "a dead source's host listed:\n{s}");
    }
    // Worst first: the dead source and down hosts before anything else.
    let mut a = console((200, 60));
    press(&mut a, KeyCode::Char('!'));
    let s = render(&a);
    let first_warning = s.find("│ load ").unwrap_or(usize::MAX);
    let last_down = s.rfind("host down").unwrap_or(0);
    assert!(last_down < first_warning, "{s}");
    // Enter on a down host opens it; q and Esc close the list first.
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.level(), Level::Host);
    assert!(a.panel.is_none());
    press(&mut a, KeyCode::Char('!'));
    press(&mut a, KeyCode::Char('q'));
    assert!(a.panel.is_none(), "q closes the list, it does not quit");
}

#[test]
fn top_list() {
    for size in [(80, 24), (200, 60)] {
        let mut a = console(size);
        press(&mut a, KeyCode::Char('t'));
        insta::assert_snapshot!(format!("top_{}x{}", size.0, size.1), render(&a));
    }
    let mut a = console((200, 60));
    press(&mut a, KeyCode::Char('t'));
    let first = render(&a)
        .lines()
        .find(|l| l.contains("│ 1 "))
        .map(str::to_string)
        .unwrap();
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.level(), Level::Host);
    let host = a.host.as_ref().unwrap().host.clone();
    assert!(
        first.contains(&host),
        "Enter opened {host}, the first row is {first}"
    );
    // o ranks by another metric.
    press(&mut a, KeyCode::Char('t'));
    press(&mut a, KeyCode::Char('o'));
    assert!(render(&a).contains("by CPU busy"));
}

#[test]
fn a_grid_search_finds_hosts_and_says_where() {
    let mut a = console((120, 30));
    press(&mut a, KeyCode::Char('/'));
    typed(&mut a, "node0007");
    press(&mut a, KeyCode::Enter);
    let s = render(&a);
    insta::assert_snapshot!("grid_search_hosts_120x30", s);
    assert!(s.contains("alpha") && s.contains("beta"), "{s}");
    assert!(s.contains("1 host match"), "{s}");
    let rows: Vec<&str> = s
        .lines()
        .filter(|l| l.starts_with("▶") || l.starts_with("  "))
        .collect();
    assert!(
        !rows.iter().any(|l| l.contains("clusterA")),
        "a cluster without matches stays hidden:\n{s}"
    );
    // Enter opens the cluster showing the matching host only.
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.level(), Level::Cluster);
    let c = a.cluster.as_ref().unwrap();
    assert_eq!(c.tiles.len(), 1, "only the matching host");
    // A name match keeps the whole cluster.
    let mut b = console((120, 30));
    press(&mut b, KeyCode::Char('/'));
    typed(&mut b, "beta");
    press(&mut b, KeyCode::Enter);
    let s = render(&b);
    assert!(s.contains("beta") && !s.contains("host match"), "{s}");
}
