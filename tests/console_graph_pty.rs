//! In `gantry demo`, the real binary: a custom gmetric metric (`gpu_util`, sent by some of the
//! simulated GPU nodes) is selected in the host view and graphed with its time axis.

mod common;

use std::time::Duration;

use common::pty::PtyApp;

#[test]
fn the_demo_graphs_a_custom_metric_with_its_time_axis() {
    let home = tempfile::tempdir().unwrap();
    let d = home.path().to_str().unwrap();
    let mut app = PtyApp::gantry(&["demo"], d, 120, 40);
    let wait = |app: &PtyApp, s: &str| app.wait_for(s, Duration::from_secs(30));
    wait(&app, "compute").unwrap();
    // A fifth of the simulated nodes carry a GPU: find one that sends gpu_util.
    let mut found = None;
    for n in 1..=40 {
        let host = format!("gpu-node{n:04}");
        app.send(&format!(":host {host}\r"));
        if wait(&app, &format!("› {host}")).is_err() {
            continue;
        }
        // Filter the table down to the metric; Enter keeps the filter, Enter graphs it.
        app.send("/gpu_util");
        app.send("\r");
        app.send("\r");
        if let Ok(s) = app.wait_for(&format!("gpu_util (%) on {host}"), Duration::from_secs(2)) {
            found = Some(s);
            break;
        }
        // Not this one: clear the filter, leave the host.
        app.send("\x1b");
        app.send("\x1b");
        app.send("\x1b");
    }
    let s = found.expect("a demo node sending gpu_util");
    assert!(s.contains("times UTC"), "{s}");
    // History is recorded from the first poll on: the graph, its scale and axis follow.
    let s = wait(&app, "┤").unwrap();
    assert!(
        s.lines()
            .any(|l| l.matches(':').count() >= 2 && l.trim_start().starts_with(char::is_numeric)),
        "a time axis of HH:MM ticks:\n{s}"
    );
    app.send("\x1b");
    app.send("\x1b");
    app.send("q");
    let out = app.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(out.contains("__EXIT 0"), "{out}");
}
