//! The first run with no configuration: besides this machine, the console shows a real gmond
//! answering on 127.0.0.1:8649, gmond's default port. The port is fixed, so the test runs in a
//! private network namespace where nothing else holds it (root and `unshare`). Skipped, with the
//! reason, without gmond or a namespace.

mod common;

use std::time::Duration;

use common::gmond::{Gmond, gmond_binary};
use common::netns::{NetNs, run_inside};
use common::pty::PtyApp;

const NAME: &str = "first_run_shows_a_local_gmond_beside_this_machine";

#[test]
fn first_run_shows_a_local_gmond_beside_this_machine() {
    if gmond_binary().is_none() {
        common::skip("gmond is not installed (apt-get install ganglia-monitor)");
        return;
    }
    match run_inside(NAME) {
        NetNs::Inside => inside(),
        NetNs::Done => {}
        // A kernel permission, not a package CI could install: a plain skip even under CI.
        NetNs::Unavailable(why) => println!("SKIPPED: {why}"),
    }
}

fn inside() {
    let mut gmond = Gmond::collector_on("probed", "Probe Test", 8649).expect("gmond on 8649");
    gmond
        .wait_for(1, 1, Duration::from_secs(30))
        .expect("gmond serves itself");
    let home = tempfile::tempdir().unwrap();
    let d = home.path().to_str().unwrap();
    let mut app = PtyApp::gantry(&[], d, 120, 36);
    let wait = |app: &PtyApp, s: &str| app.wait_for(s, Duration::from_secs(30)).unwrap();
    // This machine (the embedded collector) and the gmond it found, side by side.
    wait(&app, "localhost");
    let screen = wait(&app, "probed");
    assert!(screen.contains("localhost"), "{screen}");
    app.send("q");
    app.wait_exit(Duration::from_secs(10)).unwrap();
}
