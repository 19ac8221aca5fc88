//! I/O errors from the disk, beyond a full one: libfiu (tests/common/fiu.rs) makes the fsync,
//! the rename or the open of a real process's saves fail with EIO or EACCES, as a failing disk
//! or a broken filesystem would. A save that fails says what and where in the log; the last
//! good file stays byte for byte; no temporary file is left; the next save after the fault
//! goes through. A manager refuses what it cannot keep and loses nothing it acknowledged; an
//! export from its store that cannot be written says so and leaves the last one whole. A
//! console whose history cannot be saved says so and lists the file among its problems.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::time::Duration;

use common::fiu::Fiu;
use common::free_port;
use gantry::history::HistoryStore;

fn fiu_in(dir: &Path) -> Option<Fiu> {
    match Fiu::new(dir) {
        Ok(f) => Some(f),
        Err(why) => {
            common::skip(&why);
            None
        }
    }
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("the state dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// What the log gained since `from` bytes.
fn log_since(dir: &Path, from: usize) -> String {
    let all = std::fs::read(dir.join("gantry.log")).unwrap_or_default();
    String::from_utf8_lossy(all.get(from..).unwrap_or_default()).into_owned()
}

/// Runs the aggregator for a few polls and a syslog message, turns `fault` on (libfiu's
/// remote control) and stops it with SIGTERM, which makes it save one last time.
fn run_then_stop(dir: &Path, fiu: &Fiu, udp: u16, fault: Option<&str>) {
    let env = fiu.env(&[]);
    let env: Vec<(&str, &std::ffi::OsStr)> = env.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let mut agg = common::start_aggregator(dir, "off", &env);
    std::thread::sleep(Duration::from_millis(2500));
    let s = UdpSocket::bind("127.0.0.1:0").expect("udp");
    s.send_to(
        b"<11>Dec  3 07:00:00 n1 app: disk sda failed at sector 1234",
        ("127.0.0.1", udp),
    )
    .expect("syslog sent");
    std::thread::sleep(Duration::from_millis(1500));
    if let Some(f) = fault {
        fiu.ctrl(agg.0.id(), f);
    }
    // SAFETY: the aggregator this test started, by its pid.
    unsafe { libc::kill(agg.0.id() as i32, libc::SIGTERM) };
    for _ in 0..300 {
        if agg.0.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the aggregator did not stop within 30 s of SIGTERM ({fault:?})");
}

#[test]
fn io_errors_during_the_aggregators_saves_leave_the_last_good_files() {
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let Some(fiu) = fiu_in(dir) else {
        return;
    };
    let (port, udp) = (free_port(), free_port());
    let _sim = common::start_sim(50, port);
    common::alpha_config(dir, port, &format!("[events]\nudp = \"127.0.0.1:{udp}\"\n"));
    let (history, events) = (dir.join("history.bin"), dir.join("events.json"));
    run_then_stop(dir, &fiu, udp, None);
    let good_history = std::fs::read(&history).expect("a first history save");
    let good_events = std::fs::read(&events).expect("a first events save");
    for (fault, said) in [
        (
            "enable name=posix/io/sync/fsync,failinfo=5",
            "Input/output error",
        ),
        (
            "enable name=posix/io/dir/rename,failinfo=5",
            "Input/output error",
        ),
        (
            "enable name=posix/io/oc/open,failinfo=13",
            "Permission denied",
        ),
        // What a filesystem remounted read-only answers.
        (
            "enable name=posix/io/oc/open,failinfo=30",
            "Read-only file system",
        ),
    ] {
        let from = std::fs::metadata(dir.join("gantry.log")).map_or(0, |m| m.len() as usize);
        run_then_stop(dir, &fiu, udp, Some(fault));
        let log = log_since(dir, from);
        for (what, path) in [("history", &history), ("events", &events)] {
            let line = log
                .lines()
                .find(|l| l.contains(&format!("{what} not saved")))
                .unwrap_or_else(|| panic!("{fault}: no failed {what} save in the log:\n{log}"));
            assert!(
                line.contains(&path.display().to_string()) && line.contains(said),
                "{fault}: the error says what and where: {line}"
            );
        }
        assert!(
            std::fs::read(&history).expect("still there") == good_history,
            "{fault}: the last good history changed"
        );
        assert!(
            std::fs::read(&events).expect("still there") == good_events,
            "{fault}: the last good events changed"
        );
        assert_eq!(
            temporaries(dir),
            Vec::<String>::new(),
            "{fault}: left behind"
        );
    }
    // The fault gone, the last good files load and the next save goes through.
    HistoryStore::load(&history).expect("the last good history loads");
    run_then_stop(dir, &fiu, udp, None);
    let h = HistoryStore::load(&history).expect("the new history loads");
    assert!(h.stats().series > 0);
    assert!(std::fs::read(&history).expect("saved") != good_history);
    let e = gantry::events::file::load(&events)
        .expect("the new events load")
        .expect("there are events");
    assert!(!e.templates.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn io_errors_under_the_manager_refuse_what_cannot_be_kept_and_lose_nothing_acknowledged() {
    use gantry::cm::proto::{Reply, Request};
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    let Some(fiu) = fiu_in(dir) else {
        return;
    };
    common::pair::users_and_config(dir);
    let addrs = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let addrs = (addrs.0.as_str(), addrs.1.as_str());
    let cm = common::start_cm_env(dir, addrs, &[], &fiu.env(&[]));
    let mut alice = common::pair::login(&cm.plain, "alice")
        .await
        .expect("alice logs in");
    let mut acknowledged = Vec::new();
    let submit = async |alice: &mut gantry::cm::client::CmClient, i| match alice
        .call(&Request::Submit(common::queued_job("io", i)))
        .await
    {
        Ok(Reply::Submitted(id)) => Ok(id),
        Ok(Reply::Error { code, message }) => Err((code, message)),
        other => panic!("submission {i}: {other:?}"),
    };
    for i in 0..10 {
        acknowledged.push(submit(&mut alice, i).await.expect("a healthy disk"));
    }
    let pid = cm.proc.0.id();
    let mut refusals = Vec::new();
    // SQLite (synchronous=FULL) writes with pwrite and syncs with fsync.
    for (n, fault) in ["posix/io/sync/fsync", "posix/io/rw/pwrite"]
        .into_iter()
        .enumerate()
    {
        fiu.ctrl(pid, &format!("enable name={fault},failinfo=5"));
        for i in 0..5 {
            match submit(&mut alice, 100 * (n + 1) + i).await {
                Ok(id) => acknowledged.push(id),
                Err(r) => refusals.push((fault, r)),
            }
        }
        fiu.ctrl(pid, &format!("disable name={fault}"));
        // Healthy again: the next submissions are kept.
        for i in 0..3 {
            match submit(&mut alice, 1000 * (n + 1) + i).await {
                Ok(id) => acknowledged.push(id),
                Err(r) => panic!("after {fault} failed and recovered: {r:?}"),
            }
        }
    }
    println!("{} acknowledged; refused: {refusals:?}", acknowledged.len());
    assert!(!refusals.is_empty(), "no fault reached the store");
    for (fault, (code, message)) in &refusals {
        assert!(*code >= 500, "{fault}: {code} {message}");
        assert!(
            message.contains("I/O"),
            "{fault}: the refusal says why: {message}"
        );
    }
    let jobs = common::pair::jobs(&cm.plain).await.expect("still serving");
    for id in &acknowledged {
        assert!(jobs.contains_key(id), "job {id} acknowledged, then lost");
    }
    drop(alice);
    drop(cm);
    let cm = common::start_cm_on(dir, addrs, &[]);
    let jobs = common::pair::jobs(&cm.plain)
        .await
        .expect("restarted, it serves");
    for id in &acknowledged {
        assert!(jobs.contains_key(id), "job {id} lost across the restart");
    }
    // "Not accepted" is true: no refused job came back with the store's recovery.
    assert_eq!(
        jobs.len(),
        acknowledged.len(),
        "a refused job is in the store after a restart"
    );
    drop(cm);
    // The workload export from that store, in each format, onto a disk whose rename fails:
    // it exits non-zero naming its file and the cause, and the previous export stays whole.
    for format in ["json", "swf", "csv"] {
        let out = dir.join(format!("jobs.{format}"));
        let export = |enable: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
                .args(["export", format, "--store"])
                .arg(dir.join("cm"))
                .arg("-o")
                .arg(&out)
                .env("GANTRY_CONFIG_DIR", dir)
                .env("GANTRY_STATE_DIR", dir)
                .envs(fiu.env(enable))
                .output()
                .expect("gantry export runs")
        };
        let o = export(&[]);
        assert!(
            o.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let before = std::fs::read(&out).expect("exported");
        let o = export(&["enable name=posix/io/dir/rename,failinfo=5"]);
        let said = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success(),
            "{format}: an export whose rename fails"
        );
        assert!(
            said.contains(&format!("jobs.{format}")) && said.contains("Input/output error"),
            "{format}: the error says what and where: {said}"
        );
        assert_eq!(
            std::fs::read(&out).expect("still there"),
            before,
            "{format}: the last export changed"
        );
        assert!(
            temporaries(dir).is_empty(),
            "{format}: {:?}",
            temporaries(dir)
        );
    }
}

#[test]
fn a_failing_disk_is_said_in_the_aggregators_status() {
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let Some(fiu) = fiu_in(dir) else {
        return;
    };
    let (port, udp, http) = (free_port(), free_port(), free_port());
    let _sim = common::start_sim(10, port);
    common::alpha_config(
        dir,
        port,
        &format!(
            "[history]\nsave_interval = 10\n\n[events]\nudp = \"127.0.0.1:{udp}\"\nsave_interval = 1\n"
        ),
    );
    let env = fiu.env(&["enable name=posix/io/sync/fsync,failinfo=5"]);
    let agg = common::start_aggregator_http(dir, http, &env);
    let history = dir.join("history.bin").display().to_string();
    let saved = |v: &serde_json::Value, ok: bool| {
        v["saves"].as_array().is_some_and(|all| {
            all.iter().any(|s| {
                s["path"] == history.as_str()
                    && if ok {
                        s["error"].is_null() && s["saved_at"].is_u64()
                    } else {
                        s["error"]
                            .as_str()
                            .is_some_and(|e| e.contains("Input/output error"))
                    }
            })
        })
    };
    let wait = |what: &str, ok: bool| {
        let mut last = None;
        for _ in 0..60 {
            last = common::aggregator_status(http);
            if last.as_ref().is_some_and(|v| saved(v, ok)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("{what}: not within 30 s; /status {last:#?}");
    };
    wait("the failing history save in /status", false);
    fiu.ctrl(agg.0.id(), "disable name=posix/io/sync/fsync");
    wait("the next save, once the disk heals", true);
}

#[test]
fn a_console_whose_history_cannot_be_saved_says_so_and_lists_it_among_the_problems() {
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let Some(fiu) = fiu_in(dir) else {
        return;
    };
    let port = free_port();
    let _sim = common::start_sim(20, port);
    common::alpha_config(dir, port, "[history]\nsave_interval = 1\n");
    let d = dir.to_str().expect("a UTF-8 path");
    let preload = fiu.env(&[]);
    let mut env: Vec<(&str, &str)> = preload
        .iter()
        .map(|(k, v)| (*k, v.to_str().expect("UTF-8")))
        .collect();
    env.extend([
        ("GANTRY_CONFIG_DIR", d),
        ("GANTRY_STATE_DIR", d),
        ("LANG", "C.UTF-8"),
        ("TERM", "xterm-256color"),
    ]);
    let mut app = common::pty::PtyApp::spawn(env!("CARGO_BIN_EXE_gantry"), &[], &env, 140, 40);
    app.wait_for("alpha", Duration::from_secs(30))
        .expect("the grid shows alpha");
    let history = dir.join("history.bin");
    for _ in 0..100 {
        if history.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let good = std::fs::read(&history).expect("a first save went through");
    let pid = u32::try_from(app.program_pid().expect("the console's pid")).expect("a pid");
    // The history's directory fails its renames from now on (EIO): no save can land.
    fiu.ctrl(pid, "enable name=posix/io/dir/rename,failinfo=5");
    let said = app
        .wait_for("could not save", Duration::from_secs(30))
        .expect("the status line says a save failed");
    assert!(said.contains("history.bin"), "{said}");
    app.send("!");
    let listed = app
        .wait_for("not saved", Duration::from_secs(10))
        .expect("the problems view lists the failing file");
    assert!(listed.contains("history.bin"), "{listed}");
    assert_eq!(
        std::fs::read(&history).expect("the history file"),
        good,
        "the last good save is whole"
    );
    // Healthy again: the next save goes through and the problem leaves the list.
    fiu.ctrl(pid, "disable name=posix/io/dir/rename");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while app.screen().contains("not saved") {
        assert!(
            std::time::Instant::now() < deadline,
            "the problem stayed after the disk healed:\n{}",
            app.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // q closes the list, q again leaves.
    app.send("q");
    std::thread::sleep(Duration::from_millis(300));
    app.send("q");
    app.wait_exit(Duration::from_secs(30))
        .expect("the console quits");
}

/// An agent whose disk fails to sync (EIO) cannot record a task, so the task is not run and
/// its job fails saying why; once the disk is healthy again the next task runs.
#[tokio::test(flavor = "multi_thread")]
async fn an_agent_whose_disk_fails_to_sync_runs_no_unrecorded_task() {
    use gantry::cm::proto::{Reply, Request};
    use std::time::Instant;
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    let Some(fiu) = fiu_in(dir) else {
        return;
    };
    common::pair::users_and_config(dir);
    let cm = common::start_cm(dir, &[]);
    common::enroll(dir, "n1");
    let agent = common::Proc(
        std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["agent", "--name", "n1", "--cm", &cm.tls, "--scope", "tasks"])
            .arg("--state-dir")
            .arg(dir.join("n1"))
            .arg("--tls-dir")
            .arg(dir.join("agent/n1/tls"))
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            .envs(fiu.env(&[]))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the agent starts"),
    );
    let mut alice = common::pair::login(&cm.plain, "alice")
        .await
        .expect("alice logs in");
    let job = |secs: &str| gantry::cm::job::JobSpec {
        name: format!("sleep{secs}"),
        exec: "/bin/sleep".into(),
        args: vec![secs.into()],
        class: gantry::cm::job::JobClass::Single,
        output: Some("/dev/null".into()),
        tasks_per_node: 1,
        total_tasks: 1,
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(alice.call(&Request::Nodes).await, Ok(Reply::Nodes(n)) if n.iter().any(|n| n.name == "n1" && n.up))
    {
        assert!(Instant::now() < deadline, "n1 never came up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pid = agent.0.id();
    fiu.ctrl(pid, "enable name=posix/io/sync/fsync,failinfo=5");
    let id = match alice.call(&Request::Submit(job("3137"))).await {
        Ok(Reply::Submitted(id)) => id,
        other => panic!("{other:?}"),
    };
    let ended = loop {
        let js = match alice
            .call(&Request::Jobs {
                user: String::new(),
            })
            .await
        {
            Ok(Reply::Jobs(js)) => js,
            other => panic!("{other:?}"),
        };
        if let Some(j) = js.iter().find(|j| j.id == id && j.ended.is_some()) {
            break j.clone();
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(30),
            "the job never ended: {js:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        ended.reason.contains("Input/output error") && ended.reason.contains("not run"),
        "the job says why: {ended:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        common::sleeping("3137").is_empty(),
        "an unrecorded task runs"
    );
    fiu.ctrl(pid, "disable name=posix/io/sync/fsync");
    let id = match alice.call(&Request::Submit(job("3138"))).await {
        Ok(Reply::Submitted(id)) => id,
        other => panic!("{other:?}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::sleeping("3138").is_empty() {
        assert!(Instant::now() < deadline, "the next job never ran");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = alice.call(&Request::Cancel { id }).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !common::sleeping("3138").is_empty() {
        assert!(Instant::now() < deadline, "the cancelled job runs on");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
