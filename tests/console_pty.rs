//! The real binary in a pseudo-terminal: start, navigate, quit, and the terminal is restored.

mod common;

use std::time::Duration;

use common::pty::PtyApp;
use common::replay::Replay;

#[test]
fn console_starts_navigates_and_restores_the_terminal() {
    let a = Replay::serve(common::fixture("ganglia/gmond-8649-clusterA.xml"));
    let home = tempfile::tempdir().unwrap();
    let conf = format!("[[source]]\nname = \"A\"\naddresses = [\"{}\"]\n", a.addr);
    std::fs::write(home.path().join("config.toml"), conf).unwrap();
    let dir = home.path().to_str().unwrap();
    let mut app = PtyApp::gantry(&[], dir, 100, 30);
    let s = app.wait_for("clusterA", Duration::from_secs(10)).unwrap();
    assert!(s.contains("Grid "), "{s}");
    assert_eq!(app.modes(), (true, true), "alternate screen, cursor hidden");
    app.send("\r");
    app.wait_for("Grid › clusterA", Duration::from_secs(5))
        .unwrap();
    app.send("\r");
    let s = app.wait_for("cpu_idle", Duration::from_secs(5)).unwrap();
    assert!(s.contains("› a-node01"), "{s}");
    app.send("2");
    app.wait_for("graphs over the last day", Duration::from_secs(5))
        .unwrap();
    app.send("/");
    app.send("mem");
    let s = app
        .wait_for("filter: /mem", Duration::from_secs(5))
        .unwrap();
    assert!(!s.contains("cpu_speed"), "{s}");
    app.send("\r");
    app.send("q");
    let out = app.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(out.contains("__EXIT 0"), "{out}");
    assert_eq!(
        app.modes(),
        (false, false),
        "left the alternate screen, cursor shown"
    );
    let stty = out.split("__EXIT 0").nth(1).unwrap();
    assert!(
        stty.contains(" icanon") && stty.contains(" echo "),
        "cooked mode restored: {stty}"
    );
}

fn started(home: &tempfile::TempDir, src: &Replay) -> PtyApp {
    let conf = format!("[[source]]\nname = \"A\"\naddresses = [\"{}\"]\n", src.addr);
    std::fs::write(home.path().join("config.toml"), conf).unwrap();
    let dir = home.path().to_str().unwrap();
    let app = PtyApp::spawn(
        env!("CARGO_BIN_EXE_gantry"),
        &[],
        &[
            ("GANTRY_CONFIG_DIR", dir),
            ("GANTRY_STATE_DIR", dir),
            ("LANG", "C.UTF-8"),
        ],
        80,
        24,
    );
    app.wait_for("clusterA", Duration::from_secs(10)).unwrap();
    app
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    let src = Replay::serve(common::fixture("ganglia/gmond-8649-clusterA.xml"));
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        let home = tempfile::tempdir().unwrap();
        let mut app = started(&home, &src);
        assert!(app.signal(sig), "signal delivered");
        let out = app.wait_exit(Duration::from_secs(10)).unwrap();
        assert_eq!(app.modes(), (false, false), "signal {sig}: screen restored");
        let stty = out.rsplit("__EXIT").next().unwrap();
        assert!(
            stty.contains(" icanon") && stty.contains(" echo "),
            "signal {sig}: {stty}"
        );
    }
}

#[test]
fn invalid_config_stops_before_the_screen_opens() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "[[source]]\nname = \"A\"\nadresses = [\"x\"]\n",
    )
    .unwrap();
    let dir = home.path().to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.toml:3:1: key 'adresses': unknown field `adresses`"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing drawn");
}

#[test]
fn a_panic_restores_the_terminal() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().to_str().unwrap();
    let mut app = PtyApp::spawn(
        env!("CARGO_BIN_EXE_gantry"),
        &[],
        &[
            ("GANTRY_CONFIG_DIR", dir),
            ("GANTRY_STATE_DIR", dir),
            ("GANTRY_DEBUG_PANIC", "1"),
        ],
        80,
        24,
    );
    let out = app.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(
        out.contains("GANTRY_DEBUG_PANIC is set"),
        "the panic message is shown: {out}"
    );
    assert!(
        out.contains("__EXIT 101"),
        "exit status 101 from the panic: {out}"
    );
    assert_eq!(
        app.modes(),
        (false, false),
        "screen restored after the panic"
    );
    let stty = out.rsplit("__EXIT").next().unwrap();
    assert!(
        stty.contains(" icanon") && stty.contains(" echo "),
        "{stty}"
    );
}

/// The terminal goes away under the console — `tmux kill-session`, as when an ssh connection
/// drops — and the console ends cleanly: no panic, and the history is saved on the way out.
#[test]
fn a_killed_terminal_ends_the_console_and_saves_the_history() {
    let Some(tmux) = ["/usr/bin/tmux", "/bin/tmux"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        common::skip("tmux is not installed (apt-get install tmux)");
        return;
    };
    let src = Replay::serve(common::fixture("ganglia/gmond-8649-clusterA.xml"));
    let home = tempfile::tempdir().unwrap();
    let conf = format!("[[source]]\nname = \"A\"\naddresses = [\"{}\"]\n", src.addr);
    std::fs::write(home.path().join("config.toml"), conf).unwrap();
    let dir = home.path().to_str().unwrap();
    let socket = format!("gantry-test-{}", std::process::id());
    let tmux_cmd = |args: &[&str]| {
        std::process::Command::new(tmux)
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs")
    };
    let cmd = format!(
        "exec env GANTRY_CONFIG_DIR={dir} GANTRY_STATE_DIR={dir} LANG=C.UTF-8 TERM=xterm-256color {}",
        env!("CARGO_BIN_EXE_gantry")
    );
    let out = tmux_cmd(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);
    assert!(out.status.success(), "{out:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pane = tmux_cmd(&["capture-pane", "-t", "t", "-p"]);
        if String::from_utf8_lossy(&pane.stdout).contains("clusterA") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the console never showed clusterA"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid: i32 =
        String::from_utf8_lossy(&tmux_cmd(&["list-panes", "-t", "t", "-F", "#{pane_pid}"]).stdout)
            .trim()
            .parse()
            .expect("the console's pid");
    let log = home.path().join("gantry.log");
    let saves = |log: &str| log.matches("history saved to").count();
    let before = saves(&std::fs::read_to_string(&log).unwrap_or_default());
    let out = tmux_cmd(&["kill-session", "-t", "t"]);
    assert!(out.status.success(), "{out:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
    {
        if std::time::Instant::now() > deadline {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the console outlived its terminal");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = tmux_cmd(&["kill-server"]);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("panic"), "{text}");
    assert!(
        saves(&text) > before,
        "the history was saved on the way out:\n{text}"
    );
    assert!(home.path().join("history.bin").exists());
}
