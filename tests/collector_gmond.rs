//! The local collector against a real gmond 3.7.2 on this machine: the same 32 metrics with the
//! same types, units, slopes, TMAX and extra data, and values that agree. Skipped, with the
//! reason, where gmond is not installed.

mod common;

use std::time::Duration;

use common::gmond::{Gmond, gmond_binary};
use gantry::collector::LocalCollector;
use gantry::ganglia::{Interner, Limits, parse_bytes};

#[test]
fn collector_agrees_with_a_real_gmond() {
    if gmond_binary().is_none() {
        common::skip("gmond not installed (apt-get install ganglia-monitor)");
        return;
    }
    let mut gmond = Gmond::collector("local-compare", "Gantry Tests").expect("start gmond");
    let xml = gmond
        .wait_for(1, 32, Duration::from_secs(60))
        .expect("gmond reports 32 metrics");
    let doc = parse_bytes(&xml, &mut Interner::default(), Limits::default()).unwrap();
    let theirs = doc.document.clusters()[0].hosts[0].clone();
    let mut c = LocalCollector::new("local-compare");
    let _ = c.collect().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let ours = c.collect().unwrap().hosts[0].clone();

    let mut names_ours: Vec<&str> = ours.metrics.iter().map(|m| m.name()).collect();
    let mut names_theirs: Vec<&str> = theirs.metrics.iter().map(|m| m.name()).collect();
    names_ours.sort_unstable();
    names_theirs.sort_unstable();
    assert_eq!(names_ours, names_theirs, "the same metric set");
    for m in &ours.metrics {
        let t = theirs.metric(m.name()).unwrap();
        assert_eq!(
            *m.meta,
            *t.meta,
            "{}: identical TYPE/UNITS/SLOPE/TMAX/DMAX/EXTRA_DATA",
            m.name()
        );
    }
    for exact in [
        "cpu_num",
        "cpu_speed",
        "mem_total",
        "swap_total",
        "os_name",
        "os_release",
        "machine_type",
        "gexec",
    ] {
        assert_eq!(
            ours.metric(exact).unwrap().text,
            theirs.metric(exact).unwrap().text,
            "{exact}"
        );
    }
    let close = |name: &str, tol: f64| {
        let (a, b) = (ours.value(name).unwrap(), theirs.value(name).unwrap());
        assert!((a - b).abs() <= tol, "{name}: ours {a}, gmond {b}");
    };
    close("boottime", 2.0);
    close("disk_total", 0.01);
    close("load_fifteen", 0.5);
    // Same formats: numeric texts have gmond's precision.
    for m in &ours.metrics {
        let t = theirs.metric(m.name()).unwrap();
        let frac = |s: &str| s.split_once('.').map_or(0, |(_, f)| f.len());
        assert_eq!(
            frac(&m.text),
            frac(&t.text),
            "{} printed with gmond's precision",
            m.name()
        );
    }
    assert_eq!(ours.tmax, theirs.tmax);
    assert_eq!(ours.dmax, theirs.dmax);
}
