//! Job control end to end: the real console in a pseudo-terminal against a real `gantry cm`
//! with two agents on loopback — a wrong password then the right one, submit a job from the
//! form, find it in the results, read its output, kill a process, migrate a job, quit.

mod common;

use common::Proc;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pty::PtyApp;
use common::replay::Replay;

fn gantry(dir: &Path, args: &[&str], piped: bool) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(args)
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            .stdout(if piped { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry starts"),
    )
}

fn wait_file(p: &Path, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::fs::read_to_string(p).is_ok_and(|s| s.contains(needle)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Waits for a process row showing `name` and `user` (of job `job`, when given: its last
/// column).
fn wait_row(app: &PtyApp, name: &str, user: &str) {
    wait_row_of(app, name, user, None)
}

fn wait_row_of(app: &PtyApp, name: &str, user: &str, job: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = app.screen();
        if s.lines().any(|l| {
            // The list is bordered: the row's words come after the border.
            let w: Vec<&str> = l.split_whitespace().filter(|w| *w != "│").collect();
            w.len() > 4 && w[3] == name && w[4] == user && job.is_none_or(|j| w.last() == Some(&j))
        }) {
            return;
        }
        assert!(Instant::now() < deadline, "no {name} row for {user}:\n{s}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn login_submit_results_output_kill_migrate() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let cm = common::alice_cm(dir, &["--heartbeat", "1"]);
    let (tls, addr) = (cm.tls.clone(), cm.plain.clone());
    common::enroll(dir, "n1");
    common::enroll(dir, "n2");
    let _a1 = gantry(
        dir,
        &["agent", "--name", "n1", "--cm", &tls, "--scope", "tasks"],
        false,
    );
    let _a2 = gantry(
        dir,
        &["agent", "--name", "n2", "--cm", &tls, "--scope", "tasks"],
        false,
    );
    let ca = dir.join("cm/tls/ca.crt");
    let src = Replay::serve(common::fixture("ganglia/gmond-8649-clusterA.xml"));
    let out = dir.join("hello.out");
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[[source]]\nname = \"A\"\naddresses = [\"{}\"]\n[[manager]]\naddresses = [\"{tls}\"]\nca = \"{}\"\nuser = \"alice\"\n",
            src.addr,
            ca.display()
        ),
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let mut app = PtyApp::gantry(&[], d, 150, 45);
    let wait = |app: &PtyApp, s: &str| app.wait_for(s, Duration::from_secs(20)).unwrap();
    wait(&app, "clusterA");
    app.send("p");
    wait(&app, "Log in to the central manager");
    // A wrong password first.
    app.send("nope\r");
    wait(&app, "invalid user name or password");
    app.send("alicepw\r");
    wait(&app, "alice (user) at");

    // Submit from the form: name, executable, arguments, output file.
    app.send("n");
    wait(&app, "Submit a job");
    app.send("hello\t/bin/sh\t");
    app.send("-c 'echo hello-from-gantry; sleep 60'");
    app.send("\t\t\t");
    app.send(out.to_str().unwrap());
    for _ in 0..10 {
        app.send("\t");
    }
    app.send("\r");
    wait(&app, "exactly this will be sent");
    app.send("\r");
    wait(&app, "submitted");
    let s = wait(&app, "running");
    assert!(s.contains("hello"), "{s}");
    assert!(wait_file(&out, "hello-from-gantry"), "the job really ran");
    // Its output in the pager.
    app.send("\r");
    wait(&app, "hello-from-gantry");
    app.send("\x1b");

    // Kill it from the process monitor.
    app.send("p");
    app.send("/");
    app.send(" sh ");
    app.send("\r");
    // The filter line itself shows " sh ": wait for the process row.
    wait_row(&app, "sh", "alice");
    app.send("k");
    let s = wait(&app, "Signal processes");
    assert!(s.contains("(sh) on n"), "targets spelled out: {s}");
    assert!(s.contains("SIGTERM"), "{s}");
    app.send("\t");
    app.send("\r");
    wait(&app, "✓ pid");
    app.send("x");
    app.send("J");
    wait(&app, "killed");

    // Migrate a second job.
    let mut alice = None;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = gantry::cm::client::CmClient::login(&addr, "alice", "alicepw")
            .await
            .unwrap();
        let spec = gantry::cm::job::JobSpec {
            name: "mover".into(),
            exec: "/bin/sleep".into(),
            args: vec!["60".into()],
            tasks_per_node: 1,
            total_tasks: 1,
            ..Default::default()
        };
        c.ok(&gantry::cm::proto::Request::Submit(spec))
            .await
            .unwrap();
        alice = Some(c);
    });
    app.send("p");
    // Only job 2's process (a stale row of job 1's may linger until the next report).
    app.send("/");
    app.send("sleep alice 2$");
    app.send("\r");
    // The filter applied (not still being typed over the whole list, where job 1's lingering
    // row would match), and job 2's own row in it.
    wait(&app, "filter: /sleep alice 2$");
    wait_row_of(&app, "sleep", "alice", Some("2"));
    app.send("M");
    wait(&app, "Migrate a process");
    app.send("\r");
    wait(&app, "Enter: migrate to");
    app.send("\r");
    wait(&app, "done: now pid");
    app.send("x");
    app.send("\x1b");
    app.send("\x1b");
    app.send("q");
    let o = app.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(o.contains("__EXIT 0"), "{o}");
    assert_eq!(app.modes(), (false, false));
    if let Some(mut c) = alice {
        rt.block_on(common::kill_jobs_of(&mut c));
    }
    drop(cm);
}
