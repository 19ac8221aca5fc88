//! `gantry demo` as a newcomer meets it: six simulated clusters, and job control with the demo
//! account its login screen shows.

mod common;

use std::time::Duration;

use common::pty::PtyApp;

#[test]
fn demo_shows_the_grid_and_is_logged_in_with_the_demo_account() {
    let home = tempfile::tempdir().unwrap();
    let d = home.path().to_str().unwrap();
    let mut app = PtyApp::gantry(&["demo"], d, 120, 40);
    let wait = |app: &PtyApp, s: &str| app.wait_for(s, Duration::from_secs(30)).unwrap();
    let s = wait(&app, "compute");
    for c in ["gpu", "bigmem", "storage", "login"] {
        assert!(s.contains(c) || wait(&app, c).contains(c));
    }
    wait(&app, "1 of 6 degraded");
    // The demo account, an administrator, is logged in by itself: triage ends in job control
    // without a login.
    app.send("p");
    wait(&app, "demo (admin) at");
    // Nothing the in-process agents do is written over the screen.
    assert!(
        !app.output().contains("registered with"),
        "agents wrote to the terminal"
    );
    app.send("\x1b");
    app.send("q");
    let out = app.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(out.contains("__EXIT 0"), "{out}");
}
