//! Log events in the console: the events view in each order, a template's messages, a
//! host's own events, a receiver that is not configured, and a spike of an error template in
//! the problems view. The messages are shaped like a cluster's syslog (EDAC, NFS, sshd,
//! slurmd) and go through the real template miner and store.

mod common;

use std::sync::Arc;

use common::tui::{POLLED_AT, app, render, snapshot_from};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gantry::events::miner::MinerConfig;
use gantry::events::receiver::EventsSnapshot;
use gantry::events::store::{Caps, EventStore};
use gantry::events::syslog::Received;
use gantry::sim::{ClusterSpec, SimCluster};
use gantry::tui::app::{App, Level};

const NOW: u64 = POLLED_AT + 7;

fn sim_doc(name: &str, hosts: usize) -> Vec<u8> {
    let spec = ClusterSpec {
        name: name.into(),
        hosts,
        down: 0,
        port: 0,
    };
    let mut doc = Vec::new();
    SimCluster::new(&spec, 11, NOW).render(&mut doc);
    doc
}

fn msg(host: &str, app: &str, severity: u8, text: &str) -> Received {
    Received {
        host: host.into(),
        app: app.into(),
        severity: Some(severity),
        facility: Some(0),
        time: None,
        text: text.into(),
        raw: false,
    }
}

/// An hour of a cluster's syslog ending at `NOW`: memory errors on node0003 at 2 a minute
/// jumping to 30 in the last five, logins and job launches all along, an NFS server gone in
/// the last eight minutes on six nodes, and a line that is not syslog.
fn events() -> EventsSnapshot {
    let mut s = EventStore::new(MinerConfig::default(), Caps::default());
    let start = NOW - 3600;
    for m in 0..60u64 {
        let t = start + m * 60 + 5;
        let edac = if m >= 55 { 30 } else { 2 };
        for i in 0..edac {
            s.add(
                &msg(
                    "alpha-node0003",
                    "kernel",
                    3,
                    &format!(
                        "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#{}_DIMM#0 (channel:{} page:0x{:x} offset:0x0 grain:32)",
                        i % 2,
                        i % 2,
                        0x3a00 + m * 7 + i
                    ),
                ),
                t + i,
            );
        }
        let n = m % 12 + 1;
        s.add(
            &msg(
                &format!("alpha-node{n:04}"),
                "sshd",
                6,
                &format!(
                    "Accepted publickey for alice from 10.1.0.{} port {} ssh2: ED25519 SHA256:kq3",
                    n + 100,
                    40_000 + m
                ),
            ),
            t + 20,
        );
        s.add(
            &msg(
                &format!("alpha-node{:04}", (m * 5) % 12 + 1),
                "slurmd",
                6,
                &format!(
                    "launch task StepId={}.0 request from UID:1000 GID:1000 HOST:10.1.0.1 PORT:{}",
                    4000 + m,
                    50_000 + m * 3
                ),
            ),
            t + 30,
        );
        if m >= 52 {
            for n in 5..11 {
                s.add(
                    &msg(
                        &format!("alpha-node{n:04}"),
                        "kernel",
                        2,
                        "nfs: server fs01 not responding, still trying",
                    ),
                    t + 40 + n,
                );
            }
        }
    }
    s.add(
        &Received {
            host: "10.1.0.9".into(),
            app: String::new(),
            severity: None,
            facility: None,
            time: None,
            text: "garbage that is not syslog \\x01".into(),
            raw: true,
        },
        NOW - 30,
    );
    EventsSnapshot::of(&s, NOW)
}

fn console(size: (u16, u16), with_events: bool) -> App {
    let snap = snapshot_from(&[("alpha", sim_doc("alpha", 12))], NOW);
    let mut a = app(snap, NOW, size, true, true);
    if with_events {
        a.events = Some(Arc::new(events()));
    }
    a
}

fn press(a: &mut App, code: KeyCode) {
    a.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn the_events_view_in_its_orders() {
    for size in [(80, 24), (200, 60)] {
        let mut a = console(size, true);
        press(&mut a, KeyCode::Char('E'));
        let s = render(&a);
        insta::assert_snapshot!(format!("events_recent_{}x{}", size.0, size.1), s);
        assert!(s.contains("EDAC"), "{s}");
        assert!(s.contains("new"), "the NFS template is new: {s}");
        press(&mut a, KeyCode::Char('o'));
        let s = render(&a);
        insta::assert_snapshot!(format!("events_spike_{}x{}", size.0, size.1), s);
        assert!(s.contains("by spike"), "{s}");
    }
}

#[test]
fn enter_shows_a_templates_messages_and_enter_again_its_host() {
    for size in [(80, 24), (200, 60)] {
        let mut a = console(size, true);
        press(&mut a, KeyCode::Char('E'));
        // By recent count, the memory errors come first.
        press(&mut a, KeyCode::Enter);
        let s = render(&a);
        insta::assert_snapshot!(format!("events_messages_{}x{}", size.0, size.1), s);
        assert!(s.contains("Template"), "{s}");
        assert!(s.contains("alpha-node0003"), "{s}");
        // Esc goes back to the templates, Enter twice to the host that sent the newest.
        press(&mut a, KeyCode::Esc);
        assert!(render(&a).contains("templates by recent count"));
        press(&mut a, KeyCode::Enter);
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.level(), Level::Host, "{}", render(&a));
        assert_eq!(a.host.as_ref().unwrap().host, "alpha-node0003");
    }
}

#[test]
fn from_a_host_its_own_events() {
    let mut a = console((200, 60), true);
    press(&mut a, KeyCode::Char('/'));
    for c in "node0007".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    for _ in 0..3 {
        press(&mut a, KeyCode::Enter);
    }
    assert_eq!(a.level(), Level::Host);
    press(&mut a, KeyCode::Char('E'));
    let s = render(&a);
    insta::assert_snapshot!("events_of_a_host_200x60", s);
    assert!(s.contains("from alpha-node0007"), "{s}");
    assert!(s.contains("nfs: server fs"), "{s}");
    assert!(
        !s.contains("EDAC"),
        "node0003's errors are not node0007's: {s}"
    );
}

#[test]
fn an_error_spike_is_a_problem_that_leads_to_its_template() {
    let mut a = console((200, 60), true);
    press(&mut a, KeyCode::Char('!'));
    let s = render(&a);
    insta::assert_snapshot!("problems_with_log_spikes_200x60", s);
    assert!(s.contains("log spike"), "{s}");
    // The NFS template (crit, new) is the worse: critical first; Enter opens its messages.
    let row = s.lines().position(|l| l.contains("log spike")).unwrap();
    assert!(s.lines().nth(row).unwrap().contains("nfs"), "{s}");
    press(&mut a, KeyCode::Enter);
    let s = render(&a);
    assert!(s.contains("Template") && s.contains("fs01"), "{s}");
}

#[test]
fn without_syslog_the_view_says_how_to_get_it() {
    let mut a = console((80, 24), false);
    press(&mut a, KeyCode::Char('E'));
    let s = render(&a);
    insta::assert_snapshot!("events_not_received_80x24", s);
    assert!(s.contains("[events]"), "{s}");
}
