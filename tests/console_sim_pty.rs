//! The real binary in a pseudo-terminal against the real `gantry sim` on loopback: start, drill
//! to a host through a filter, change the range, export its graphs, quit — and the terminal is
//! restored.

mod common;

use common::{Proc, free_port};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pty::PtyApp;

fn start_sim(port: u16) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args([
            "sim",
            "--cluster",
            &format!("alpha:40:{port}"),
            "--step",
            "1",
            "--seed",
            "3",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gantry sim starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "gantry sim never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    Proc(child)
}

#[test]
fn drill_filter_range_export_and_quit_against_gantry_sim() {
    let port = free_port();
    let _sim = start_sim(port);
    let home = tempfile::tempdir().unwrap();
    let exports = home.path().join("exports");
    let conf = format!(
        "[[source]]\nname = \"alpha\"\nstep = 1\naddresses = [\"127.0.0.1:{port}\"]\n[ui]\nexport_dir = \"{}\"\n",
        exports.display()
    );
    std::fs::write(home.path().join("config.toml"), conf).unwrap();
    let dir = home.path().to_str().unwrap();
    let mut app = PtyApp::gantry(&[], dir, 140, 40);
    app.wait_for("alpha", Duration::from_secs(20)).unwrap();
    assert_eq!(app.modes(), (true, true), "alternate screen, cursor hidden");
    app.send("\r");
    app.wait_for("› alpha", Duration::from_secs(10)).unwrap();
    app.send("/");
    app.send("node0007$");
    app.send("\r");
    let s = app
        .wait_for("filter: /node0007$", Duration::from_secs(10))
        .unwrap();
    assert!(!s.contains("alpha-node0001 "), "filtered out: {s}");
    app.send("\r");
    let s = app
        .wait_for("› alpha-node0007", Duration::from_secs(10))
        .unwrap();
    assert!(s.contains("cpu_idle"), "{s}");
    app.send("2");
    app.wait_for("range: day", Duration::from_secs(10)).unwrap();
    app.send("e");
    let s = app.wait_for("wrote ", Duration::from_secs(30)).unwrap();
    let svg = exports.join("alpha_alpha-node0007-day.svg");
    let png = exports.join("alpha_alpha-node0007-day.png");
    assert!(svg.exists(), "{s}");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.contains("load_one"), "the SVG carries its graphs");
    if png.exists() {
        assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
    } else {
        assert!(s.contains("no PNG"), "a missing PNG is explained: {s}");
    }
    app.send("q");
    let out = app.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(out.contains("__EXIT 0"), "{out}");
    assert_eq!(
        app.modes(),
        (false, false),
        "left the alternate screen, cursor shown"
    );
    // History was saved on the way out.
    assert!(home.path().join("history.bin").exists());
}
