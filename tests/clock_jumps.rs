//! The wall clock jumps under a real `gantry aggregator`: back an hour, then forward a day, as
//! a badly set clock corrected by NTP would. The jumps come from libfaketime (Debian's
//! `faketime` package) preloaded into the aggregator with a timestamp file the test rewrites;
//! the monotonic clock is left alone, as a clock step leaves it. Through each jump the
//! aggregator keeps polling its source (a `gantry sim` on the real clock) and serving it: every
//! host is served up (none is declared down for a clock that moved), and at the end its history
//! saves and loads. The console, with its embedded aggregator and events store, rides out
//! the same jumps.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Proc, free_port};
use gantry::ganglia::{Interner, Limits, parse_bytes};
use gantry::history::HistoryStore;

const HOSTS: usize = 40;

fn libfaketime() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("faketime/libfaketime.so.1"))
    .find(|p| p.exists())
}

/// (hosts served, hosts whose TN says they reported within their TMAX × 4, gmond's rule, the
/// served GRID's LOCALTIME: the aggregator's own clock).
fn served(port: u16) -> Option<(usize, usize, u64)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut xml = Vec::new();
    s.read_to_end(&mut xml).ok()?;
    let text = String::from_utf8_lossy(&xml);
    let grid = text.find("<GRID ")?;
    let at = grid + text[grid..].find("LOCALTIME=\"")? + "LOCALTIME=\"".len();
    let localtime = text[at..].split('"').next()?.parse().ok()?;
    let mut interner = Interner::default();
    let parsed = parse_bytes(&xml, &mut interner, Limits::default()).ok()?;
    let clusters = parsed.document.clusters();
    let c = clusters.first()?;
    let up = c.hosts.iter().filter(|h| h.tn < h.tmax.max(1) * 4).count();
    Some((c.hosts.len(), up, localtime))
}

/// Waits until every host is served up and the aggregator's clock reads `offset` seconds
/// from the real one (give or take a minute).
fn all_up_within(port: u16, agg: &mut Proc, what: &str, offset: i64) {
    let secs = 30;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = None;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = agg.0.try_wait() {
            panic!("the aggregator exited {what}: {status}");
        }
        last = served(port);
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if last.is_some_and(|(n, up, t)| {
            n == HOSTS && up == HOSTS && (t as i64 - real - offset).abs() < 60
        }) {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("{what}: not every host served up at the clock asked; last (hosts, up, clock) {last:?}");
}

/// A `gantry sim` of alpha's hosts on the real clock, none of them down.
fn sim(port: u16) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["sim", "--cluster", &format!("alpha:{HOSTS}:{port}")])
            .args(["--step", "1", "--down", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry sim starts"),
    )
}

#[test]
fn the_aggregator_rides_out_its_clock_jumping_back_and_forward() {
    let Some(lib) = libfaketime() else {
        common::skip("libfaketime is not installed (Debian's faketime package)");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (sim_port, xml_port) = (free_port(), free_port());
    let _sim = sim(sim_port);
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[[source]]\nname = \"alpha\"\nstep = 1\naddresses = [\"127.0.0.1:{sim_port}\"]\n"),
    )
    .expect("config");
    let clock = dir.path().join("clock");
    std::fs::write(&clock, "+0\n").expect("clock");
    let mut agg = common::start_aggregator(
        dir.path(),
        &format!("127.0.0.1:{xml_port}"),
        &[
            ("LD_PRELOAD", lib.as_os_str()),
            ("FAKETIME_TIMESTAMP_FILE", clock.as_os_str()),
            ("FAKETIME_NO_CACHE", "1".as_ref()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".as_ref()),
        ],
    );
    all_up_within(xml_port, &mut agg, "at first", 0);
    std::fs::write(&clock, "-3600\n").expect("back an hour");
    std::thread::sleep(Duration::from_secs(3));
    all_up_within(
        xml_port,
        &mut agg,
        "after the clock went back an hour",
        -3600,
    );
    std::fs::write(&clock, "+86400\n").expect("forward a day");
    std::thread::sleep(Duration::from_secs(3));
    all_up_within(
        xml_port,
        &mut agg,
        "after the clock went forward a day",
        86_400,
    );
    // SAFETY: the aggregator this test started, by its pid.
    unsafe { libc::kill(agg.0.id() as i32, libc::SIGTERM) };
    let status = agg.0.wait().expect("it ends");
    assert!(status.success(), "{status}");
    let h = HistoryStore::load(&dir.path().join("history.bin")).expect("its history loads");
    assert!(h.stats().tables > 0);
}

/// The wall clock of both central managers and their agents jumps
/// back an hour, then forward a day, under a steady trickle of submissions. Leases, votes and
/// heartbeats run on the monotonic clock, so no jump may look like a silent manager: the
/// primary stays active at its epoch with its shadow in sync, no node is declared down, every
/// acknowledged job ends done and runs once.
#[tokio::test(flavor = "multi_thread")]
async fn the_manager_pair_and_its_agents_ride_out_their_clocks_jumping() {
    use common::pair::{Pair, ha, jobs, login, until};
    use gantry::cm::proto::{Reply, Request};
    let Some(lib) = libfaketime() else {
        common::skip("libfaketime is not installed (Debian's faketime package)");
        return;
    };
    let clock_dir = tempfile::tempdir().expect("dir");
    let clock = clock_dir.path().join("clock");
    std::fs::write(&clock, "+0\n").expect("clock");
    let p = Pair::start_with_env(
        &["n1", "n2"],
        vec![
            ("LD_PRELOAD", lib.into_os_string()),
            ("FAKETIME_TIMESTAMP_FILE", clock.clone().into_os_string()),
            ("FAKETIME_NO_CACHE", "1".into()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
        ],
    );
    until(&p, "the pair settled", 60, async || {
        let s = ha(&p.a.plain).await?;
        (s.shadow == "in sync" && s.following == 2).then_some(())
    })
    .await;
    let epoch = ha(&p.a.plain).await.expect("the primary answers").epoch;
    let mut alice = login(&p.a.plain, "alice").await.expect("alice logs in");
    let mut acknowledged = Vec::new();
    for (offset, what) in [
        ("+0", "at first"),
        ("-3600", "after the clocks went back an hour"),
        ("+86400", "after the clocks went forward a day"),
    ] {
        std::fs::write(&clock, format!("{offset}\n")).expect("the clock");
        // A few heartbeats and leases across the jump.
        tokio::time::sleep(Duration::from_secs(4)).await;
        for _ in 0..5 {
            match alice.call(&Request::Submit(p.job(1))).await {
                Ok(Reply::Submitted(id)) => acknowledged.push(id),
                other => panic!("{what}: {other:?}\n{}", p.logs()),
            }
        }
        let s = ha(&p.a.plain).await.expect("the primary answers");
        assert_eq!(
            (s.role.as_str(), s.epoch, s.shadow.as_str(), s.following),
            ("active", epoch, "in sync", 2),
            "{what}: {s:?}\n{}",
            p.logs()
        );
    }
    until(&p, "every acknowledged job done", 90, async || {
        let j = jobs(&p.a.plain).await?;
        acknowledged
            .iter()
            .all(|id| j.get(id).is_some_and(|s| s == "done"))
            .then_some(())
    })
    .await;
    let runs = p.runs();
    for id in &acknowledged {
        assert_eq!(runs.get(id), Some(&1), "job {id}'s runs\n{}", p.logs());
    }
    // The jumps reached the manager: it dated submissions an hour back, then a day on.
    let now = common::pair::unix_now();
    let mut submitted = Vec::new();
    for id in &acknowledged {
        if let Ok(Reply::Job(kv)) = alice.call(&Request::Job { id: *id }).await
            && let Some((_, t)) = kv.iter().find(|(k, _)| k == "submitted")
        {
            submitted.push(t.parse::<f64>().unwrap_or(0.0) - now);
        }
    }
    assert!(
        submitted.iter().any(|d| (d + 3600.0).abs() < 600.0)
            && submitted.iter().any(|d| (d - 86_400.0).abs() < 600.0),
        "the manager's clock did not jump (submitted minus now: {submitted:?})"
    );
    let logs = p.logs();
    assert!(
        !logs.contains("is down: no heartbeat") && !logs.contains("took over"),
        "a clock jump looked like a silence:\n{logs}"
    );
}

/// Waits until the console's grid shows every host of alpha up, none down, and fresh.
fn console_all_up(app: &common::pty::PtyApp, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let up = format!("{HOSTS} up");
    loop {
        let s = app.screen();
        if s.lines().any(|l| {
            l.contains("alpha") && l.contains(&up) && l.contains(" 0 down") && !l.contains("stale")
        }) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the grid does not show every host up:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The console's wall clock (its embedded aggregator's and its events store's with it) jumps
/// back an hour, then forward a day. Its grid shows every host up throughout, syslog messages
/// sent between the jumps are all counted in one template, and it quits cleanly, saving
/// history and events that load.
#[test]
fn the_console_and_its_events_ride_out_its_clock_jumping() {
    let Some(lib) = libfaketime() else {
        common::skip("libfaketime is not installed (Debian's faketime package)");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let sim_port = free_port();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let events_port = {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        probe.local_addr().expect("addr").port()
    };
    let _sim = sim(sim_port);
    std::fs::write(
        d.join("config.toml"),
        format!(
            "[[source]]\nname = \"alpha\"\nstep = 1\naddresses = [\"127.0.0.1:{sim_port}\"]\n\n\
[history]\nsave_interval = 1\n\n[events]\nudp = \"127.0.0.1:{events_port}\"\nsave_interval = 1\n"
        ),
    )
    .expect("config");
    let clock = d.join("clock");
    std::fs::write(&clock, "+0\n").expect("clock");
    let (lib, clock_s) = (
        lib.to_str().expect("a UTF-8 path").to_string(),
        clock.to_str().expect("a UTF-8 path").to_string(),
    );
    let home = d.to_str().expect("a UTF-8 path");
    let mut app = common::pty::PtyApp::spawn(
        env!("CARGO_BIN_EXE_gantry"),
        &[],
        &[
            ("LD_PRELOAD", &lib),
            ("FAKETIME_TIMESTAMP_FILE", &clock_s),
            ("FAKETIME_NO_CACHE", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("GANTRY_CONFIG_DIR", home),
            ("GANTRY_STATE_DIR", home),
            ("LANG", "C.UTF-8"),
            ("TERM", "xterm-256color"),
        ],
        160,
        40,
    );
    let send = |round: u32| {
        for i in 0..5 {
            udp.send_to(
                format!("<11>Dec  3 07:00:00 n1 app: disk sda failed at sector {round}{i}")
                    .as_bytes(),
                ("127.0.0.1", events_port),
            )
            .expect("syslog sent");
        }
    };
    console_all_up(&app, "at first");
    send(1);
    for (round, (offset, what)) in [
        ("-3600", "after the clock went back an hour"),
        ("+86400", "after the clock went forward a day"),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(&clock, format!("{offset}\n")).expect("the clock jumps");
        std::thread::sleep(Duration::from_secs(3));
        console_all_up(&app, what);
        send(round as u32 + 2);
    }
    app.send("E");
    let s = app
        .wait_for("disk sda failed at sector <*>", Duration::from_secs(30))
        .expect("the events view");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut s = s;
    while !s
        .lines()
        .any(|l| l.contains("disk sda failed") && l.contains(" 15 "))
    {
        assert!(
            Instant::now() < deadline,
            "the 15 messages are not all counted in one template:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(300));
        s = app.screen();
    }
    app.send("q");
    std::thread::sleep(Duration::from_millis(300));
    app.send("q");
    let out = app
        .wait_exit(Duration::from_secs(30))
        .expect("the console quits");
    assert!(out.contains("__EXIT 0"), "{out}");
    let h = HistoryStore::load(&d.join("history.bin")).expect("its history loads");
    assert!(h.stats().tables > 0);
    let ev = gantry::events::file::load(&d.join("events.json"))
        .expect("its events load")
        .expect("there are some");
    assert_eq!(ev.templates.len(), 1, "one template");
    let t = &ev.templates[0].stats;
    assert_eq!(t.count, 15);
    // Its last message was heard on the clock as it read after the jump forward.
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    assert!(
        t.last.abs_diff(real + 86_400) < 600,
        "the console's clock did not jump (last {}, real {real})",
        t.last
    );
}
