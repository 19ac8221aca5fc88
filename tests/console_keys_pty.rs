//! The on-call path, counted in keys, against the real binary in a pseudo-terminal: from the
//! launch of `gantry demo`, the dead hosts are listed in ≤ 2 keys, the hottest host is reached
//! in ≤ 3, and its top process is killed, with confirmation, in ≤ 6 — for real (the process is
//! gone). And keys that never surprise: `q` in the pager closes the pager, Ctrl-C in the submit
//! form leaves the console with the terminal restored, Ctrl-Z suspends to the shell and `fg`
//! brings the screen back.

mod common;

use std::time::Duration;

use common::pty::PtyApp;

const WAIT: Duration = Duration::from_secs(40);

/// The demo, started and showing its six clusters, at a size where every list fits.
/// One demo at a time: each simulates thousands of hosts and runs agents, and on two cores
/// several at once starve each other until clusters look stale and jobs start late.
static ONE_DEMO: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn demo(dir: &str) -> PtyApp {
    let app = PtyApp::gantry(&["demo"], dir, 160, 45);
    app.wait_for("1 of 6 degraded", WAIT).unwrap();
    // The biggest cluster (with the runaway host) arrives last; until it has, the hottest
    // hosts are another cluster's.
    let deadline = std::time::Instant::now() + WAIT;
    while !app
        .screen()
        .lines()
        .any(|l| l.contains(" compute ") && l.contains(" up "))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the compute cluster never arrived:\n{}",
            app.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    app
}

/// Types keys, counting them.
struct Keys<'a> {
    app: &'a mut PtyApp,
    count: usize,
}

impl Keys<'_> {
    fn press(&mut self, k: &str) {
        self.app.send(k);
        self.count += 1;
    }
}

/// Leaves the demo with `q` (from the top level) and checks it ended cleanly.
fn quit(app: &mut PtyApp) {
    app.send("q");
    let out = app.wait_exit(WAIT).unwrap();
    assert!(out.contains("__EXIT 0"), "{out}");
}

#[test]
fn dead_hosts_are_listed_in_one_key() {
    let home = tempfile::tempdir().unwrap();
    let _one = ONE_DEMO.lock().unwrap_or_else(|e| e.into_inner());
    let mut app = demo(home.path().to_str().unwrap());
    let mut k = Keys {
        app: &mut app,
        count: 0,
    };
    k.press("!");
    // The demo has 9 down hosts (5 + 1 + 1 + 2): all of them, named, at the top of the list.
    let s = k.app.wait_for("Problems 9 critical", WAIT).unwrap();
    let down: Vec<&str> = s.lines().filter(|l| l.contains("host down")).collect();
    assert_eq!(down.len(), 9, "{s}");
    for l in &down {
        assert!(l.contains("-node0"), "a host's name on {l}");
    }
    assert!(k.count <= 2, "{} keys", k.count);
    // Esc closes the list, nothing else.
    k.app.send("\x1b");
    let s = k.app.screen();
    assert!(!s.contains("Problems 9 critical"), "{s}");
    quit(&mut app);
}

#[test]
fn the_hottest_hosts_top_process_is_killed_in_six_keys() {
    let home = tempfile::tempdir().unwrap();
    let _one = ONE_DEMO.lock().unwrap_or_else(|e| e.into_inner());
    let mut app = demo(home.path().to_str().unwrap());
    // The demo's runaway job must be running on its agent before the count starts: under load
    // its launch can take longer than any fixed pause.
    let pid = app.program_pid().expect("the demo runs");
    let deadline = std::time::Instant::now() + WAIT;
    while !has_descendant(pid, "sleep") {
        assert!(
            std::time::Instant::now() < deadline,
            "the demo's job never started"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut k = Keys {
        app: &mut app,
        count: 0,
    };
    k.press("t");
    let list = k.app.wait_for("Hottest hosts", WAIT).unwrap();
    k.press("\r");
    // The host view: its name in the breadcrumb. The list re-sorts as loads change (the
    // selection follows its host), so the host opened is read from the breadcrumb and must be
    // one of the hottest the list showed.
    let s = k.app.wait_for("Grid Demo › ", WAIT).unwrap();
    let crumb = s.lines().next().unwrap_or("").to_string();
    let hottest = crumb
        .split_whitespace()
        .rfind(|w| w.contains("-node"))
        .unwrap_or_else(|| panic!("no host in the breadcrumb: {crumb}"))
        .to_string();
    let top3: Vec<&str> = list
        .lines()
        .filter(|l| l.contains("│ 1 ") || l.contains("│ 2 ") || l.contains("│ 3 "))
        .collect();
    assert!(
        top3.iter().any(|l| l.contains(&hottest)),
        "{hottest} was not among the hottest:\n{list}"
    );
    assert!(k.count <= 3, "hottest host reached in {} keys", k.count);
    k.press("p");
    let s = k
        .app
        .wait_for("sleep", WAIT)
        .unwrap_or_else(|e| panic!("the host's processes: {e}"));
    assert!(s.contains(&hottest), "scoped to {hottest}:\n{s}");
    k.press("k");
    let s = k.app.wait_for("Signal processes", WAIT).unwrap();
    let pid: i32 = s
        .lines()
        .find_map(|l| {
            let rest = l.split("pid ").nth(1)?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no pid in the dialog:\n{s}"));
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} runs before the kill"
    );
    k.press("k");
    k.app.wait_for("Send SIGKILL", WAIT).unwrap();
    k.press("\r");
    k.app.wait_for("1 signalled, 0 failed", WAIT).unwrap();
    assert!(k.count <= 6, "killed in {} keys", k.count);
    let deadline = std::time::Instant::now() + WAIT;
    while std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "pid {pid} still runs after SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Esc closes the dialog's result, Esc leaves job control, q quits.
    app.send("\x1b");
    app.send("\x1b");
    quit(&mut app);
}

#[test]
fn q_closes_the_pager_and_ctrl_c_leaves_from_the_submit_form() {
    let home = tempfile::tempdir().unwrap();
    let _one = ONE_DEMO.lock().unwrap_or_else(|e| e.into_inner());
    let mut app = demo(home.path().to_str().unwrap());
    app.send("J");
    app.wait_for("nightly-check", WAIT).unwrap();
    app.send("\r");
    app.wait_for("output —", WAIT).unwrap();
    app.send("q");
    // Back on the jobs list, still running.
    let s = app.wait_for("submitted", WAIT).unwrap();
    assert!(
        !app.output().contains("__EXIT"),
        "q in the pager quit:\n{s}"
    );
    app.send("n");
    app.wait_for("Job Name", WAIT).unwrap();
    // q is text in the form...
    app.send("q");
    assert!(!app.output().contains("__EXIT"), "q in the form quit");
    // ...and Ctrl-C leaves, the terminal restored.
    app.send("\x03");
    let out = app.wait_exit(WAIT).unwrap();
    assert!(out.contains("__EXIT 0"), "{out}");
    assert_eq!(app.modes(), (false, false), "screen restored");
    let stty = out.rsplit("__EXIT").next().unwrap();
    assert!(
        stty.contains(" icanon") && stty.contains(" echo "),
        "{stty}"
    );
}

#[test]
fn ctrl_z_suspends_to_the_shell_and_fg_redraws() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().to_str().unwrap();
    // An interactive shell with job control, as an operator has.
    let mut app = PtyApp::spawn(
        "bash",
        &["--norc", "--noprofile", "-i"],
        &[
            ("GANTRY_CONFIG_DIR", dir),
            ("GANTRY_STATE_DIR", dir),
            ("LANG", "C.UTF-8"),
            ("TERM", "xterm-256color"),
            ("PS1", "shell$ "),
        ],
        120,
        40,
    );
    app.wait_for("shell$", WAIT).unwrap();
    app.send(&format!("{} demo\r", env!("CARGO_BIN_EXE_gantry")));
    app.wait_for("1 of 6 degraded", WAIT).unwrap();
    app.send("\x1a");
    app.wait_for("Stopped", WAIT).unwrap();
    assert_eq!(
        app.modes(),
        (false, false),
        "the shell gets a normal screen"
    );
    app.send("fg\r");
    let log = || std::fs::read_to_string(home.path().join("gantry.log")).unwrap_or_default();
    let s = app
        .wait_for("1 of 6 degraded", WAIT)
        .unwrap_or_else(|e| panic!("{e}\nlog:\n{}", log()));
    assert!(s.contains("Grid Demo"), "redrawn:\n{s}");
    assert!(app.modes().0, "back on the alternate screen");
    app.send("q");
    app.wait_for("shell$", WAIT).unwrap();
    app.send("exit\r");
    let out = app.wait_exit(WAIT).unwrap();
    assert!(out.contains("__EXIT"), "{out}");
}

/// Whether a process named `comm` descends from `root`.
fn has_descendant(root: i32, comm: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    let parent_of = |pid: i32| -> Option<i32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit(')')
            .next()?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .any(|mut pid| {
            for _ in 0..32 {
                match parent_of(pid) {
                    Some(p) if p == root => return true,
                    Some(p) if p > 1 => pid = p,
                    _ => return false,
                }
            }
            false
        })
}
