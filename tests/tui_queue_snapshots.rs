//! Queue pressure in the console: the grid row's queue and its sparkline beside the load, the
//! cluster's header with Slurm's power states and the last provisioning run, power marks on
//! tiles, and the queue's rows in the problems view.

mod common;

use std::sync::Arc;

use common::tui::{POLLED_AT, app_with_history, history_for, render, snapshot_from};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gantry::queue::{ElasticAction, Pressure, QueueReport, Rule};
use gantry::sim::{ClusterSpec, SimCluster};
use gantry::tui::app::App;

const NOW: u64 = POLLED_AT + 7;

fn report(pending: usize, at: u64) -> QueueReport {
    QueueReport {
        pressure: Pressure {
            at,
            pending,
            running: 20,
            wait_p50: 140,
            wait_p90: 420,
            wait_max: 610,
            done_last_hour: 57,
            waiting_long: 18,
            needs_nodes: 3,
            releasable: Vec::new(),
            powered_down: 2,
            powering_up: 1,
            powering_down: 0,
        },
        rule: Rule::default(),
        actions: vec![ElasticAction {
            at: NOW - 90,
            what: "provision".into(),
            count: 3,
            nodes: Vec::new(),
            dry_run: false,
            exit: Some(1),
            output: "quota exceeded".into(),
            error: Some(
                "\"/etc/gantry/provision\" exited with exit status: 1: quota exceeded".into(),
            ),
        }],
        acts: "commands".into(),
    }
}

fn console(size: (u16, u16)) -> App {
    let spec = ClusterSpec {
        name: "alpha".into(),
        hosts: 12,
        down: 0,
        port: 0,
    };
    let mut doc = Vec::new();
    SimCluster::new(&spec, 11, NOW).render(&mut doc);
    let snap = snapshot_from(&[("alpha", doc)], NOW);
    let history = history_for(&snap, NOW);
    // The queue's last hour: it grew.
    for m in 0..60u64 {
        let r = report((m / 3) as usize, NOW - 3600 + m * 60);
        gantry::queue::stage::record(&history, "alpha", &r);
    }
    let mut a = app_with_history(snap, NOW, size, true, true, history);
    let cfg = gantry::jobs::ManagerConfig {
        cluster: "alpha".into(),
        addresses: Vec::new(),
        user: None,
        read_only: false,
        login_hint: None,
        kind: gantry::jobs::BackendKind::CentralManager,
        trust: None,
        queue: Rule::default(),
    };
    let mut j = gantry::tui::jobs::JobsUi::new(
        "alpha",
        cfg,
        None,
        gantry::tui::jobs::JobScreen::Processes,
        false,
        std::env::temp_dir(),
    );
    j.queue = Some(Arc::new(report(20, NOW - 2)));
    // Slurm says two nodes are powered down and one is powering up.
    for (n, s) in [
        ("alpha-node0010", "idle+cloud+powered_down"),
        ("alpha-node0011", "idle+cloud+powered_down"),
        ("alpha-node0012", "idle+powering_up"),
    ] {
        j.node_states.insert(n.into(), (s.into(), String::new()));
    }
    a.jobs.push(j);
    a
}

fn press(a: &mut App, code: KeyCode) {
    a.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn the_queue_on_the_grid_the_cluster_and_the_problems() {
    for size in [(80, 24), (200, 60)] {
        let mut a = console(size);
        let s = render(&a);
        insta::assert_snapshot!(format!("queue_grid_{}x{}", size.0, size.1), s);
        assert!(s.contains("+3 nodes"), "{s}");
        press(&mut a, KeyCode::Enter);
        let s = render(&a);
        insta::assert_snapshot!(format!("queue_cluster_{}x{}", size.0, size.1), s);
        assert!(s.contains("20 waiting"), "{s}");
        // Its history graphed beside the cluster's, over the range the keys choose.
        if size.0 >= 200 {
            assert!(s.contains("queue pending 19"), "{s}");
            assert!(s.contains("queue wait p90"), "{s}");
        } else {
            assert!(s.contains("queue pend"), "{s}");
        }
        press(&mut a, KeyCode::Char('!'));
        let s = render(&a);
        insta::assert_snapshot!(format!("queue_problems_{}x{}", size.0, size.1), s);
        assert!(s.contains("needs 3 more nodes"), "{s}");
        assert!(s.contains("provision of 3 nodes failed"), "{s}");
    }
}
