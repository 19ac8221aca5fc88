//! The first run: no configuration at all. `gantry` watches this machine and runs a central
//! manager and agent in-process; the local user is logged in over a Unix socket by peer
//! credentials, so job control works with nothing set up.

mod common;

use std::time::Duration;

use common::pty::PtyApp;

#[test]
fn first_run_has_job_control_for_the_local_user() {
    let home = tempfile::tempdir().unwrap();
    let d = home.path().to_str().unwrap();
    let mut app = PtyApp::gantry(&[], d, 140, 40);
    app.wait_for("Grid", Duration::from_secs(20)).unwrap();
    app.send("p");
    let me = gantry::cm::account::name_of(gantry::cm::account::euid()).unwrap();
    let s = app
        .wait_for(&format!("{me} ("), Duration::from_secs(20))
        .unwrap();
    assert!(
        s.contains("at unix:"),
        "logged in over the local socket: {s}"
    );
    assert!(
        !s.contains("Log in to the central manager"),
        "no password asked: {s}"
    );
    // This machine's processes are listed (the console itself among them).
    app.wait_for("gantry", Duration::from_secs(20)).unwrap();
    app.send("\x1b");
    app.send("q");
    let out = app.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(out.contains("__EXIT 0"), "{out}");
}
