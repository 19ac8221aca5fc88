//! Hardware sensors in the console: tiles coloured by temperature (the legend following), the
//! host view's sensor panel, sensors past their thresholds and a failing BMC in the problems
//! view, and the BMCs' health in the sources overlay. The readings are the DMTF mockup's
//! (`public-rackmount1`: CPU1 37 °C against 42/45/50, fans, 344 W), edited per node.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::tui::{POLLED_AT, app, render, snapshot_from};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gantry::aggregator::{BmcHealth, BmcView, SensorView, with_sensors};
use gantry::redfish::{Kind, Reading, Thresholds};
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

fn reading(metric: &str, name: &str, kind: Kind, units: &str, v: f64, t: Thresholds) -> Reading {
    Reading {
        metric: metric.into(),
        name: name.into(),
        kind,
        value: Some(v),
        units: units.into(),
        thresholds: t,
        health: Some("OK".into()),
        state: Some("Enabled".into()),
    }
}

/// The mockup's readings with the CPU at `cpu` °C and the second fan at `fan2` RPM.
fn mockup(cpu: f64, fan2: f64) -> Vec<Reading> {
    let cpu_t = Thresholds {
        upper_caution: Some(42.0),
        upper_critical: Some(45.0),
        upper_fatal: Some(50.0),
        ..Thresholds::default()
    };
    let fan_t = Thresholds {
        lower_caution: Some(2000.0),
        lower_critical: Some(1000.0),
        ..Thresholds::default()
    };
    vec![
        reading("temp_cpu1", "CPU1 Temp", Kind::Temperature, "C", cpu, cpu_t),
        reading(
            "temp_intake",
            "Intake Temp",
            Kind::Temperature,
            "C",
            24.0,
            Thresholds::default(),
        ),
        reading("fan_bay1", "Fan Bay 1", Kind::Fan, "RPM", 6000.0, fan_t),
        reading("fan_bay2", "Fan Bay 2", Kind::Fan, "RPM", fan2, fan_t),
        reading(
            "power_consumed",
            "Total Power",
            Kind::Power,
            "W",
            344.0,
            Thresholds::default(),
        ),
    ]
}

fn bmc(host: &str, port: u16, health: BmcHealth, readings: Vec<Reading>) -> BmcView {
    let failing = health == BmcHealth::Failing;
    BmcView {
        host: host.into(),
        url: format!("https://10.1.0.{port}").into(),
        health,
        error: failing.then(|| {
            format!("https://10.1.0.{port}/redfish/v1/: connection refused (os error 111)")
        }),
        took: Duration::from_millis(180),
        requests: if failing { 0 } else { 8 },
        last_success: (!failing).then_some(NOW - 20),
        polls_ok: 3,
        polls_failed: u64::from(failing),
        readings: Arc::new(readings),
    }
}

/// A cluster of 12 hosts, four with BMCs: one as shipped, one running past critical, one
/// with a fan stopped, one whose BMC refuses connections.
fn console(size: (u16, u16)) -> App {
    let base = snapshot_from(&[("alpha", sim_doc("alpha", 12, 0))], NOW);
    let sv = SensorView {
        cluster: "alpha".into(),
        interval: 60,
        polled_at: NOW - 20,
        error: None,
        bmcs: vec![
            bmc("alpha-node0001", 1, BmcHealth::Ok, mockup(37.0, 5800.0)),
            bmc("alpha-node0002", 2, BmcHealth::Ok, mockup(47.0, 5800.0)),
            bmc("alpha-node0003", 3, BmcHealth::Slow, {
                // A power supply has a health and no reading: not a metric, still shown.
                let mut r = mockup(39.0, 0.0);
                r.push(Reading {
                    value: None,
                    health: Some("Critical".into()),
                    ..reading(
                        "psu_bay1",
                        "Power Supply Bay 1",
                        Kind::Other,
                        "",
                        0.0,
                        Thresholds::default(),
                    )
                });
                r
            }),
            bmc("alpha-node0004", 4, BmcHealth::Failing, Vec::new()),
        ],
        generation: 1,
    };
    let snap = with_sensors(&base, vec![Arc::new(sv)], NOW);
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
fn tiles_coloured_by_temperature_with_its_legend() {
    let mut a = console((120, 30));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.level(), Level::Cluster);
    // Load, CPU, memory, network, then temperature (there are sensors to colour by).
    for _ in 0..4 {
        press(&mut a, KeyCode::Char('c'));
    }
    let s = render(&a);
    insta::assert_snapshot!("cluster_by_temperature_120x30", s);
    assert!(s.contains("colour: temperature"), "{s}");
    press(&mut a, KeyCode::Char('l'));
    let s = render(&a);
    insta::assert_snapshot!("cluster_by_temperature_legend_120x30", s);
    assert!(s.contains("past critical"), "{s}");
    // Power, fans, then back to load.
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Char('c'));
    assert!(render(&a).contains("colour: power"));
    press(&mut a, KeyCode::Char('c'));
    assert!(render(&a).contains("colour: fans"));
    press(&mut a, KeyCode::Char('c'));
    assert!(!render(&a).contains("colour:"));
}

#[test]
fn without_sensors_the_colour_key_skips_them() {
    let snap = snapshot_from(&[("alpha", sim_doc("alpha", 12, 0))], NOW);
    let mut a = app(snap, NOW, (120, 30), true, true);
    press(&mut a, KeyCode::Enter);
    for _ in 0..4 {
        press(&mut a, KeyCode::Char('c'));
    }
    assert!(!render(&a).contains("colour:"), "network wraps to load");
}

fn open_host(a: &mut App, host: &str) {
    press(a, KeyCode::Char('/'));
    typed(a, host);
    press(a, KeyCode::Enter);
    press(a, KeyCode::Enter);
    press(a, KeyCode::Enter);
    assert_eq!(a.level(), Level::Host, "{}", render(a));
}

#[test]
fn the_host_view_shows_its_sensors_worst_first() {
    for size in [(80, 24), (200, 60)] {
        let mut a = console(size);
        open_host(&mut a, "node0002");
        let s = render(&a);
        insta::assert_snapshot!(format!("host_sensors_{}x{}", size.0, size.1), s);
        assert!(s.contains("BMC https://10.1.0.2"), "{s}");
        assert!(s.contains("CRITICAL"), "{s}");
    }
    let mut a = console((120, 40));
    open_host(&mut a, "node0003");
    let s = render(&a);
    assert!(s.contains("Power Supply Bay 1"), "{s}");
    let mut a = console((120, 30));
    open_host(&mut a, "node0004");
    let s = render(&a);
    assert!(s.contains("FAILING"), "{s}");
    assert!(s.contains("connection refused"), "{s}");
}

#[test]
fn problems_list_hot_sensors_stopped_fans_and_failing_bmcs() {
    let mut a = console((200, 60));
    press(&mut a, KeyCode::Char('!'));
    let s = render(&a);
    insta::assert_snapshot!("problems_sensors_200x60", s);
    assert!(s.contains("CPU1 Temp 47 C, past critical 45 C"), "{s}");
    assert!(
        s.contains("Fan Bay 2 0 RPM, below critical 1000 RPM"),
        "{s}"
    );
    assert!(s.contains("connection refused"), "{s}");
    assert!(
        !s.contains("alpha-node0001"),
        "a node within its thresholds:\n{s}"
    );
}

#[test]
fn the_sources_overlay_shows_each_bmcs_health() {
    let mut a = console((120, 30));
    press(&mut a, KeyCode::Char('s'));
    let s = render(&a);
    insta::assert_snapshot!("sources_bmcs_120x30", s);
    assert!(
        s.contains("4 BMCs, every 60 s: 2 ok, 1 slow, 1 failing"),
        "{s}"
    );
}
