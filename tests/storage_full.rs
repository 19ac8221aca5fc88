//! Storage faults: the files Gantry saves, written onto a small filesystem that fills up (a
//! size-limited tmpfs the test mounts). A save that does not fit fails with an error naming
//! the file and the cause; the previous good file is still there, whole, and loads; no
//! temporary file is left behind to fill the disk further.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use gantry::events::miner::MinerConfig;
use gantry::events::store::{Caps, EventStore};
use gantry::history::HistoryStore;

/// A tmpfs of `kib` KiB mounted on a temporary directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(kib: u32) -> Result<Self, String> {
        // SAFETY: geteuid is always safe.
        if unsafe { libc::geteuid() } != 0 {
            return Err("mounting a small tmpfs needs root".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs refused: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Fills the disk but for about `room` bytes.
    fn fill_but(&self, room: u64) {
        let free = nix::sys::statvfs::statvfs(self.dir.path())
            .map(|s| s.blocks_available() * s.fragment_size())
            .expect("statvfs");
        let filler = free.saturating_sub(room);
        std::fs::write(self.path("filler"), vec![0u8; filler as usize]).expect("the filler");
    }

    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path())
            .expect("the disk")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "filler" && !n.ends_with(".json") && !n.ends_with(".bin"))
            .collect()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn disk(kib: u32) -> Option<SmallDisk> {
    match SmallDisk::mount(kib) {
        Ok(d) => Some(d),
        Err(why) => {
            common::skip(&why);
            None
        }
    }
}

/// A history of `hosts` counted series over `minutes`.
fn history(hosts: usize, minutes: u64) -> HistoryStore {
    let h = HistoryStore::new();
    let now = 1_800_000_000;
    let names: Vec<String> = (0..hosts).map(|i| format!("host{i:05}")).collect();
    for m in 0..minutes {
        h.record_counts(
            "queue",
            now - (minutes - m) * 60,
            names.iter().map(|n| (n.as_str(), "pending", m as f64)),
        );
    }
    h
}

fn no_space(e: &impl std::fmt::Display, path: &Path) {
    let said = e.to_string();
    assert!(
        said.contains(&path.display().to_string()) && said.contains("No space left on device"),
        "the error says what and where: {said}"
    );
}

#[test]
fn a_history_save_that_does_not_fit_leaves_the_last_good_file() {
    let Some(d) = disk(1024) else {
        return;
    };
    let path = d.path("history.bin");
    let small = history(2, 10);
    small.save(&path).expect("a small history fits");
    let before = std::fs::read(&path).expect("saved");
    d.fill_but(64 * 1024);
    let big = history(3000, 30);
    let e = big
        .save(&path)
        .expect_err("3,000 hosts do not fit in 64 KiB");
    no_space(&e, &path);
    assert!(
        std::fs::read(&path).expect("still there") == before,
        "the last file changed"
    );
    let loaded = HistoryStore::load(&path).expect("the last good file loads");
    assert_eq!(loaded.image().len(), small.image().len());
    assert!(d.leftovers().is_empty(), "left behind: {:?}", d.leftovers());
    // Room again: the next save goes through.
    std::fs::remove_file(d.path("filler")).expect("room");
    big.save(&path).expect("saved once there is room");
    let again = HistoryStore::load(&path).expect("loads");
    assert_eq!(again.image().len(), big.image().len());
    let (a, b) = (again.stats(), big.stats());
    assert_eq!((a.tables, a.series), (b.tables, b.series));
}

#[test]
fn an_events_save_that_does_not_fit_leaves_the_last_good_file() {
    let Some(d) = disk(1024) else {
        return;
    };
    let path = d.path("events.json");
    let mut store = EventStore::new(MinerConfig::default(), Caps::default());
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    // Each message its own template: words made of letters, which are never masked.
    let word = |mut i: usize| {
        let mut w = String::new();
        loop {
            w.push(char::from(b'a' + (i % 26) as u8));
            i /= 26;
            if i == 0 {
                return w;
            }
        }
    };
    let add = |store: &mut EventStore, i: usize| {
        let line = format!(
            "<13>Dec  3 07:00:00 n1 app: {} {} went {}",
            word(i),
            word(i + 1000),
            word(i + 5000)
        );
        store.add(
            &gantry::events::syslog::parse(line.as_bytes(), from, 2026),
            1_800_000_000,
        );
    };
    for i in 0..3 {
        add(&mut store, i);
    }
    let small = store.saved();
    gantry::events::file::save(&path, &small).expect("a few templates fit");
    let before = std::fs::read(&path).expect("saved");
    d.fill_but(16 * 1024);
    for i in 3..2000 {
        add(&mut store, i);
    }
    let e = gantry::events::file::save(&path, &store.saved()).expect_err("too big for 16 KiB");
    no_space(&e, &path);
    assert!(
        std::fs::read(&path).expect("still there") == before,
        "the last file changed"
    );
    let loaded = gantry::events::file::load(&path)
        .expect("the last good file loads")
        .expect("there is one");
    assert_eq!(loaded.templates.len(), small.templates.len());
    assert!(d.leftovers().is_empty(), "left behind: {:?}", d.leftovers());
}

/// A job that waits (no agent takes it): only its record matters here.
fn queued_job(i: usize) -> gantry::cm::job::JobSpec {
    gantry::cm::job::JobSpec {
        name: format!("fill{i}"),
        exec: "/bin/true".into(),
        // Bulk, so each record takes room and the store fills in a few hundred submissions.
        args: vec!["x".repeat(4000)],
        class: gantry::cm::job::JobClass::Single,
        output: Some("/dev/null".into()),
        tasks_per_node: 1,
        total_tasks: 1,
        ..Default::default()
    }
}

async fn listed(plain: &str) -> std::collections::HashMap<u64, String> {
    common::pair::jobs(plain)
        .await
        .expect("the manager lists its jobs")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_submissions_and_keeps_every_acknowledged_job() {
    use gantry::cm::proto::{Reply, Request};
    let Some(d) = disk(8 * 1024) else {
        return;
    };
    let dir = d.dir.path();
    common::pair::users_and_config(dir);
    let cm = common::start_cm(dir, &[]);
    let (tls, plain) = (cm.tls.clone(), cm.plain.clone());
    let mut alice = common::pair::login(&plain, "alice")
        .await
        .expect("alice logs in");
    d.fill_but(256 * 1024);
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for i in 0..2000 {
        match alice.call(&Request::Submit(queued_job(i))).await {
            Ok(Reply::Submitted(id)) => acknowledged.push(id),
            Ok(Reply::Error { code, message }) => {
                refused = Some((code, message));
                break;
            }
            other => panic!("submission {i}: {other:?}"),
        }
    }
    let (code, message) = refused.expect("the disk filled up before 2,000 submissions");
    println!("{} acknowledged, then {code} {message}", acknowledged.len());
    assert!(code >= 500, "{code} {message}");
    assert!(!acknowledged.is_empty());
    // Still serving, and every acknowledged job is there.
    let jobs = listed(&plain).await;
    for id in &acknowledged {
        assert!(
            jobs.contains_key(id),
            "job {id} was acknowledged, then lost"
        );
    }
    // Room again: submissions go through; after a restart every acknowledged job is there.
    std::fs::remove_file(d.path("filler")).expect("room");
    let id = match alice.call(&Request::Submit(queued_job(9999))).await {
        Ok(Reply::Submitted(id)) => id,
        other => panic!("once there is room: {other:?}"),
    };
    acknowledged.push(id);
    drop(cm);
    let cm = common::start_cm_on(dir, (&tls, &plain), &[]);
    let jobs = listed(&cm.plain).await;
    for id in &acknowledged {
        assert!(jobs.contains_key(id), "job {id} lost across the restart");
    }
    assert!(
        message.to_lowercase().contains("full") || message.contains("space"),
        "the refusal says why: {message}"
    );
    // The workload export onto the same disk, in each format: written whole, then, once the
    // disk is full, the export fails naming its file and the previous export is left as it was.
    drop(cm);
    for format in ["json", "swf", "csv"] {
        let out = d.path(&format!("jobs.{format}"));
        let export = || {
            std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
                .args(["export", format, "--store"])
                .arg(dir.join("cm"))
                .arg("-o")
                .arg(&out)
                .env("GANTRY_CONFIG_DIR", dir)
                .env("GANTRY_STATE_DIR", dir)
                .output()
                .expect("gantry export runs")
        };
        let _ = std::fs::remove_file(d.path("filler"));
        let o = export();
        assert!(
            o.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let before = std::fs::read(&out).expect("exported");
        assert!(!before.is_empty(), "{format}: an empty export");
        d.fill_but(0);
        let o = export();
        let said = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success(),
            "{format}: an export onto a full disk cannot succeed"
        );
        assert!(
            said.contains(&format!("jobs.{format}")) && said.contains("No space left on device"),
            "{format}: the error says what and where: {said}"
        );
        assert!(
            std::fs::read(&out).expect("still there") == before,
            "{format}: the last export changed"
        );
        assert!(
            d.leftovers().iter().all(|n| !n.ends_with(".tmp")),
            "{format}: {:?}",
            d.leftovers()
        );
    }
}

/// The state directory of a running aggregator fills up, then has room again: it polls and
/// serves throughout (its own log cannot be written either), says the failed saves in
/// `/status` with the cause, keeps the last good history file, and saves again once it can.
/// (A read-only filesystem cannot be made under a process writing its log there — the
/// remount is refused as busy — so EROFS is injected with libfiu in tests/io_errors.rs.)
#[test]
fn a_full_state_disk_under_a_running_aggregator_is_said_and_survived() {
    use std::time::Duration;
    let Some(d) = disk(4 * 1024) else {
        return;
    };
    let dir = d.dir.path();
    let (port, http) = (common::free_port(), common::free_port());
    let _sim = common::start_sim(20, port);
    common::alpha_config(dir, port, "[history]\nsave_interval = 10\n");
    let _agg = common::start_aggregator_http(dir, http, &[]);
    let history = d.path("history.bin");
    let shown = history.display().to_string();
    // (the history file's save state, the source's health)
    let state = || {
        let v = common::aggregator_status(http)?;
        let save = v["saves"]
            .as_array()?
            .iter()
            .find(|s| s["path"] == shown.as_str())?
            .clone();
        Some((save, v["sources"][0]["health"].clone()))
    };
    let wait = |what: &str, ok: &dyn Fn(&serde_json::Value) -> bool| {
        let mut last = None;
        for _ in 0..80 {
            last = state();
            if let Some((save, health)) = &last
                && ok(save)
                && health == "ok"
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("{what}: not within 40 s; (save, source health) {last:?}");
    };
    let saved = |s: &serde_json::Value| s["error"].is_null() && s["saved_at"].is_u64();
    let failed = |cause: &'static str| {
        move |s: &serde_json::Value| s["error"].as_str().is_some_and(|e| e.contains(cause))
    };
    wait("a first save", &saved);
    let good = std::fs::read(&history).expect("saved");
    d.fill_but(0);
    wait(
        "a save onto the full disk said",
        &failed("No space left on device"),
    );
    assert!(std::fs::read(&history).expect("still there") == good);
    std::fs::remove_file(d.path("filler")).expect("room");
    wait("a save once there is room", &saved);
    assert!(
        d.leftovers().iter().all(|n| !n.ends_with(".tmp")),
        "{:?}",
        d.leftovers()
    );
    HistoryStore::load(&history).expect("the history loads");
}

/// An agent whose state disk is full cannot record a task, so could not take it back after
/// a restart: the task is stopped before it runs on, and the job fails saying why. Once
/// there is room, the agent runs tasks again.
#[tokio::test(flavor = "multi_thread")]
async fn an_agent_that_cannot_record_a_task_does_not_run_it() {
    use gantry::cm::proto::{Reply, Request};
    let Some(d) = disk(1024) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    common::pair::users_and_config(dir);
    let cm = common::start_cm(dir, &[]);
    common::enroll(dir, "n1");
    let _agent = common::Proc(
        std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["agent", "--name", "n1", "--cm", &cm.tls, "--scope", "tasks"])
            .arg("--state-dir")
            .arg(d.path("n1"))
            .arg("--tls-dir")
            .arg(dir.join("agent/n1/tls"))
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::from(
                std::fs::File::create(dir.join("agent.stderr")).expect("agent.stderr"),
            ))
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !matches!(alice.call(&Request::Nodes).await, Ok(Reply::Nodes(n)) if n.iter().any(|n| n.name == "n1" && n.up))
    {
        assert!(std::time::Instant::now() < deadline, "n1 never came up");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    d.fill_but(0);
    let id = match alice.call(&Request::Submit(job("3127"))).await {
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
            std::time::Instant::now() < deadline + std::time::Duration::from_secs(30),
            "the job never ended: {js:?}\nthe agent said: {}\nthe manager logged: {}",
            std::fs::read_to_string(dir.join("agent.stderr")).unwrap_or_default(),
            std::fs::read_to_string(dir.join("gantry.log")).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        ended.reason.contains("No space left on device") && ended.reason.contains("not run"),
        "the job says why: {ended:?}"
    );
    assert_ne!(ended.state, "done", "{ended:?}");
    // Nothing of it runs on.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        common::sleeping("3127").is_empty(),
        "an unrecorded task runs"
    );
    // Room again: the next job runs.
    std::fs::remove_file(d.path("filler")).expect("room");
    let id = match alice.call(&Request::Submit(job("3128"))).await {
        Ok(Reply::Submitted(id)) => id,
        other => panic!("{other:?}"),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while common::sleeping("3128").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the next job never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let _ = alice.call(&Request::Cancel { id }).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !common::sleeping("3128").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the cancelled job runs on"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
