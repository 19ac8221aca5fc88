//! A primary central manager and its shadow (docs/protocol.md §9), real processes with three
//! real agents on loopback, faults injected by killing, stopping and cutting: no acknowledged
//! job is lost, none runs twice, a fenced primary changes nothing and steps down, and control
//! goes back to the primary in order.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::pair::{Pair, ha, jobs, login, until};
use gantry::cm::client::ClientError;
use gantry::cm::proto::{Reply, Request};

/// One pair at a time: leases are two heartbeats (2 s) long, and pairs side by side on two
/// cores would be judged on how fast the machine is rather than on what they do.
static ONE_PAIR: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fault, named, as a link test applies it.
type Fault = (&'static str, fn(&common::proxy::Proxy));

/// Every fault of the proxy, one at a time, as the link tests below apply them.
const EVERY_FAULT: [Fault; 8] = [
    ("latency of 300 ms", |x| x.delay(300)),
    ("a 4 kB/s link", |x| x.throttle(4000)),
    ("corrupted bytes", |x| x.corrupt(0.3)),
    ("duplicated bytes", |x| x.duplicate(0.3)),
    ("lost bytes", |x| x.drop_bytes(0.3)),
    ("a stream cut mid-record", |x| x.truncate()),
    ("resets", |x| x.reset()),
    ("a half-open connection", |x| x.half_open()),
];

/// The manager that says it is active, with the highest epoch.
async fn active(p: &Pair) -> Option<(String, u64)> {
    let mut best: Option<(String, u64)> = None;
    for plain in [&p.a.plain, &p.b.plain] {
        if let Some(s) = ha(plain).await
            && s.role == "active"
            && best.as_ref().is_none_or(|b| s.epoch > b.1)
        {
            best = Some((plain.to_string(), s.epoch));
        }
    }
    best
}

/// From the moment `killed` says, how long until the manager at `plain` is active, and until
/// every node follows it (seconds), with what it then says.
async fn failover_watch(
    plain: String,
    killed: tokio::sync::oneshot::Receiver<Instant>,
) -> (f64, f64, gantry::cm::proto::HaStatus) {
    let t0 = killed.await.expect("the fault happened");
    let mut active_at = None;
    loop {
        if let Some(s) = ha(&plain).await
            && s.role == "active"
        {
            let t = t0.elapsed().as_secs_f64();
            let a = *active_at.get_or_insert(t);
            if s.following == s.members && s.members > 0 {
                return (a, t, s);
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no failover in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Submits `n` jobs of `secs` seconds one after another to whichever manager is active,
/// calling `fault` before submission `at`; the ids acknowledged.
async fn submit_through(
    p: &Pair,
    n: usize,
    secs: u32,
    at: usize,
    mut fault: impl FnMut(),
) -> Vec<u64> {
    let mut acked = Vec::new();
    let mut client = None;
    for i in 0..n {
        if i == at {
            fault();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.is_none() {
                if let Some((plain, _)) = active(p).await {
                    client = login(&plain, "alice").await;
                }
                if client.is_none() {
                    assert!(Instant::now() < deadline, "no active manager\n{}", p.logs());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
            let Some(c) = client.as_mut() else { continue };
            match c.call(&Request::Submit(p.job(secs))).await {
                Ok(Reply::Submitted(id)) => {
                    acked.push(id);
                    break;
                }
                // Not acknowledged: it may exist or not; the next submission goes on.
                Ok(Reply::Error { .. }) | Err(ClientError::Link { .. }) | Err(_) => {
                    client = None;
                    break;
                }
                Ok(other) => panic!("{other:?}"),
            }
        }
    }
    acked
}

/// Every acknowledged job is listed by the active manager and ends done; none ran twice.
async fn check_history(p: &Pair, acked: &[u64]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let listed: HashMap<u64, String> = loop {
        let j = match active(p).await {
            Some((plain, _)) => jobs(&plain).await.unwrap_or_default(),
            None => HashMap::new(),
        };
        let missing: Vec<(u64, Option<String>)> = acked
            .iter()
            .filter(|id| j.get(id).is_none_or(|s| s != "done"))
            .map(|id| (*id, j.get(id).cloned()))
            .collect();
        if missing.is_empty() {
            break j;
        }
        if Instant::now() > deadline {
            let ids: Vec<u64> = missing.iter().map(|m| m.0).collect();
            panic!(
                "acknowledged jobs not done after 120 s: {missing:?}\n{}\n{}",
                p.logs(),
                common::pair::history_of(p, &ids)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for id in acked {
        assert!(listed.contains_key(id), "acknowledged job {id} is listed");
    }
    let runs = p.runs();
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "jobs that ran twice: {twice:?}\n{}\n{}",
        p.logs(),
        common::pair::history_of(p, &twice.iter().map(|(id, _)| **id).collect::<Vec<_>>())
    );
    for id in acked {
        assert_eq!(runs.get(id), Some(&1), "acknowledged job {id} ran once");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shadow_takes_over_from_a_sigkilled_primary_mid_burst() {
    let _one = ONE_PAIR.lock().await;
    let mut p = Pair::start(&["n1", "n2", "n3"]);
    until(
        &p,
        "the shadow in sync and three nodes following",
        60,
        async || {
            let s = ha(&p.a.plain).await?;
            (s.shadow == "in sync" && s.following == 3).then_some(())
        },
    )
    .await;
    // A long job that runs across the takeover.
    let mut alice = login(&p.a.plain, "alice").await.expect("login");
    let long = match alice.call(&Request::Submit(p.job(20))).await {
        Ok(Reply::Submitted(id)) => id,
        r => panic!("{r:?}"),
    };
    // A console's job control, logged in, with both managers' addresses.
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let console = gantry::jobs::link::spawn(
        gantry::jobs::ManagerConfig {
            cluster: "*".into(),
            addresses: vec![p.a.plain.clone(), p.b.plain.clone()],
            user: Some("alice".into()),
            read_only: false,
            login_hint: None,
            kind: gantry::jobs::BackendKind::CentralManager,
            trust: None,
            queue: Default::default(),
        },
        tx,
    );
    console.send(gantry::jobs::JobCommand::Login {
        user: "alice".into(),
        password: "alicepw".into(),
        remember: false,
    });
    let b_plain = p.b.plain.clone();
    let console_on_b = tokio::spawn(async move {
        let mut t0 = None;
        while let Some((_, e)) = events.recv().await {
            match e {
                gantry::jobs::JobEvent::State(gantry::jobs::LinkState::Down(_)) => {
                    t0.get_or_insert_with(Instant::now);
                }
                gantry::jobs::JobEvent::State(gantry::jobs::LinkState::LoggedIn(a, ..))
                    if a == b_plain =>
                {
                    return t0.map(|t: Instant| t.elapsed().as_secs_f64());
                }
                _ => {}
            }
        }
        None
    });
    let pid_a = p.a.pid();
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<Instant>();
    let watcher = tokio::spawn(failover_watch(p.b.plain.clone(), kill_rx));
    let mut kill_tx = Some(kill_tx);
    let mut acked = submit_through(&p, 1000, 0, 300, || {
        // SAFETY: kill on the primary this test started.
        unsafe { libc::kill(pid_a, libc::SIGKILL) };
        if let Some(tx) = kill_tx.take() {
            let _ = tx.send(Instant::now());
        }
    })
    .await;
    let (active_after, following_after, s) = watcher.await.expect("watcher");
    eprintln!(
        "shadow active at epoch {} {active_after:.2} s after the SIGKILL, every node following it after {following_after:.2} s (heartbeat 1 s, takeover after 3: due within 4 s); {} of 1000 submissions acknowledged",
        s.epoch,
        acked.len()
    );
    assert!(s.epoch >= 2, "a new epoch: {s:?}");
    // The console found the new active manager by itself, and logged in there again.
    let on_b = tokio::time::timeout(Duration::from_secs(30), console_on_b)
        .await
        .expect("the console moved to the shadow")
        .expect("console watcher");
    eprintln!(
        "the console was logged in on the shadow {:.2} s after it lost the primary",
        on_b.unwrap_or(f64::NAN)
    );
    drop(console);
    p.a.kill();
    // The long job runs on across the takeover, and ends once.
    acked.push(long);
    check_history(&p, &acked).await;
}

/// Waits until the primary has its shadow in sync and every node follows it.
async fn settled(p: &Pair, nodes: u32) {
    until(
        p,
        "the shadow in sync and every node following",
        60,
        async || {
            let s = ha(&p.a.plain).await?;
            (s.shadow == "in sync" && s.following == nodes).then_some(())
        },
    )
    .await;
}

/// Waits until the shadow is back in sync, then checks it holds every job in `acked` and
/// that both stores agree on their history.
async fn caught_up(p: &Pair, acked: &[u64]) {
    until(p, "the shadow back in sync", 60, async || {
        let s = ha(&p.a.plain).await?;
        (s.shadow == "in sync").then_some(())
    })
    .await;
    let on_b = jobs(&p.b.plain).await.expect("jobs");
    for id in acked {
        assert!(on_b.contains_key(id), "the shadow caught up with job {id}");
    }
    check_history(p, acked).await;
}

/// Waits until the primary says it runs without its shadow.
async fn running_alone(p: &Pair) {
    until(
        p,
        "the primary running without its shadow",
        30,
        async || {
            let s = ha(&p.a.plain).await?;
            s.shadow.starts_with("away since").then_some(())
        },
    )
    .await;
}

/// Submits `n` jobs to the primary, each of which must be acknowledged (`what`: by whom).
async fn submit_to_primary(p: &Pair, n: usize, what: &str) -> Vec<u64> {
    let mut acked = Vec::with_capacity(n);
    for _ in 0..n {
        acked.push(submit_one(p, &p.a.plain).await.expect(what));
    }
    acked
}

/// Submits one job to the manager at `plain`: its id, or the refusal.
async fn submit_one(p: &Pair, plain: &str) -> Result<u64, String> {
    let mut c = login(plain, "alice").await.ok_or("no login")?;
    match c.call(&Request::Submit(p.job(0))).await {
        Ok(Reply::Submitted(id)) => Ok(id),
        Ok(Reply::Error { code, message }) => Err(format!("{code} {message}")),
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_primary_is_fenced_by_the_nodes_and_steps_down_when_it_wakes() {
    let _one = ONE_PAIR.lock().await;
    let p = Pair::start(&["n1", "n2", "n3"]);
    settled(&p, 3).await;
    let long = submit_one(&p, &p.a.plain).await.expect("submitted");
    // A session on the primary, held across its stop.
    let mut held = login(&p.a.plain, "alice").await.expect("login");
    p.a.signal(libc::SIGSTOP);
    let s = until(
        &p,
        "the shadow active with every node following",
        60,
        async || {
            let s = ha(&p.b.plain).await?;
            (s.role == "active" && s.following == 3).then_some(s)
        },
    )
    .await;
    let mut acked = vec![long];
    for _ in 0..20 {
        acked.push(
            submit_one(&p, &p.b.plain)
                .await
                .expect("the shadow takes jobs"),
        );
    }
    p.a.signal(libc::SIGCONT);
    // Woken, the old primary learns from the nodes that a newer epoch is active, and steps
    // down: nothing it asks is done.
    let old = until(&p, "the old primary stepped down", 60, async || {
        let o = ha(&p.a.plain).await?;
        (o.role != "active").then_some(o)
    })
    .await;
    assert!(
        old.why.contains("stepped down")
            || old.why.contains("stood down")
            || old.why.contains("following"),
        "{old:?} {s:?}"
    );
    match held.call(&Request::Submit(p.job(0))).await {
        Ok(Reply::Error { code, message }) => {
            assert!(
                code == 409 || code == 503 || code == 500,
                "{code} {message}"
            );
        }
        other => panic!("the fenced primary took a job: {other:?}\n{}", p.logs()),
    }
    assert!(
        p.a.log().contains("stepped down") || p.a.log().contains("stood down"),
        "the primary says why\n{}",
        p.logs()
    );
    // It follows the new active manager from now on.
    until(
        &p,
        "the old primary following the new one",
        60,
        async || {
            let o = ha(&p.a.plain).await?;
            o.why.contains("following").then_some(())
        },
    )
    .await;
    check_history(&p, &acked).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partition_between_primary_and_shadow_leaves_exactly_one_manager_accepting() {
    let _one = ONE_PAIR.lock().await;
    let p = Pair::start(&["n1", "n2", "n3"]);
    settled(&p, 3).await;
    p.link.cut();
    // The primary notices the silence of its shadow, and says so.
    running_alone(&p).await;
    // Well past the takeover: the shadow hears nothing from the primary, but the nodes still
    // hold their leases to it, so they refuse their votes.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let b = ha(&p.b.plain).await.expect("the shadow answers");
    assert_eq!(b.role, "standby", "{b:?}\n{}", p.logs());
    assert!(b.why.contains("not taking over"), "{b:?}");
    let a = ha(&p.a.plain).await.expect("the primary answers");
    assert_eq!(a.role, "active", "{a:?}");
    // Exactly one accepts submissions: the primary, witnessed by the nodes.
    let id = submit_one(&p, &p.a.plain)
        .await
        .expect("the primary takes a job");
    let refused = submit_one(&p, &p.b.plain)
        .await
        .expect_err("the shadow refuses");
    assert!(refused.starts_with("409"), "{refused}");
    p.link.pass();
    until(&p, "the shadow back in sync", 60, async || {
        let s = ha(&p.a.plain).await?;
        (s.shadow == "in sync").then_some(())
    })
    .await;
    let on_b = jobs(&p.b.plain).await.expect("jobs");
    assert!(on_b.contains_key(&id), "the shadow caught up with job {id}");
    check_history(&p, &[id]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_shadow_catches_up_and_the_primary_says_it_ran_alone() {
    let _one = ONE_PAIR.lock().await;
    let mut p = Pair::start(&["n1", "n2", "n3"]);
    settled(&p, 3).await;
    p.b.kill();
    running_alone(&p).await;
    // `gantry status` says so too, and fails.
    let conf = tempfile::tempdir().expect("dir");
    std::fs::write(
        conf.path().join("config.toml"),
        format!(
            "[[manager]]\ncluster = \"*\"\naddresses = [\"{}\", \"{}\"]\nplaintext = true\n",
            p.a.plain, p.b.plain
        ),
    )
    .expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["status", "--source", "none 127.0.0.1:1"])
        .env("GANTRY_CONFIG_DIR", conf.path())
        .env("GANTRY_STATE_DIR", conf.path())
        .output()
        .expect("gantry status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("CENTRAL MANAGERS"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains(&p.a.plain) && l.contains("active") && l.contains("away since")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains(&p.b.plain) && l.contains("down")),
        "{text}"
    );
    let acked = submit_to_primary(&p, 100, "witnessed by the nodes").await;
    p.b.start();
    caught_up(&p, &acked).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn control_goes_back_to_the_primary_in_order_under_load() {
    let _one = ONE_PAIR.lock().await;
    let mut p = Pair::start(&["n1", "n2", "n3"]);
    settled(&p, 3).await;
    p.a.kill();
    until(&p, "the shadow active", 60, async || {
        let s = ha(&p.b.plain).await?;
        (s.role == "active" && s.following == 3).then_some(())
    })
    .await;
    // The primary comes back as the standby of the manager that took over.
    p.a.start();
    until(&p, "the primary following, in sync", 60, async || {
        let a = ha(&p.a.plain).await?;
        let b = ha(&p.b.plain).await?;
        (a.role == "standby" && b.shadow == "in sync").then_some(())
    })
    .await;
    let dir = p.a.dir.path().to_path_buf();
    let plain = p.a.plain.clone();
    let acked = submit_through(&p, 200, 1, 100, || {
        use std::io::Write;
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["cm", "takeback", "--cm", &plain, "--user", "root"])
            .env("GANTRY_CONFIG_DIR", &dir)
            .env("GANTRY_STATE_DIR", &dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("gantry cm takeback");
        if let Some(mut i) = c.stdin.take() {
            let _ = writeln!(i, "rootpw");
        }
        let out = c.wait_with_output().expect("takeback ends");
        assert!(
            out.status.success(),
            "takeback: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{}", String::from_utf8_lossy(&out.stdout).trim());
    })
    .await;
    let a = ha(&p.a.plain).await.expect("the primary answers");
    let b = ha(&p.b.plain).await.expect("the shadow answers");
    assert_eq!(a.role, "active", "{a:?}");
    assert!(a.epoch > b.epoch || b.role != "active", "{a:?} {b:?}");
    assert_ne!(b.role, "active", "{b:?}");
    check_history(&p, &acked).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_claims_a_newer_epoch_does_not_make_the_primary_step_down() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let _one = ONE_PAIR.lock().await;
    let p = Pair::start(&["n1", "n2", "n3"]);
    settled(&p, 3).await;
    // A node of the cluster (its certificate is real) that lies about the epoch.
    common::enroll(p.a.dir.path(), "liar");
    let tls = p.a.dir.path().join("agent").join("liar").join("tls");
    let cfg = gantry::cm::tls::agent_config(&tls).expect("node credentials");
    let tcp = tokio::net::TcpStream::connect(&p.a.tls)
        .await
        .expect("connect");
    let name = gantry::cm::tls::server_name(&p.a.tls).expect("name");
    let s = tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
        .expect("TLS");
    let (r, mut w) = tokio::io::split(s);
    let mut r = tokio::io::BufReader::new(r);
    w.write_all(b"AGENT|liar|1|1|1000000\n")
        .await
        .expect("send");
    w.flush().await.expect("flush");
    let mut line = String::new();
    r.read_line(&mut line).await.expect("welcome");
    assert!(line.starts_with("OK|AGENT|"), "{line}");
    w.write_all(b"@7|FENCED|99\n").await.expect("send");
    w.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let a = ha(&p.a.plain).await.expect("the primary answers");
    assert_eq!(a.role, "active", "{a:?}\n{}", p.logs());
    assert!(
        p.a.log().contains("does not confirm it"),
        "the claim is logged as ignored\n{}",
        p.logs()
    );
    submit_one(&p, &p.a.plain).await.expect("still takes jobs");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_on_the_replication_link_heals_and_loses_nothing() {
    let _one = ONE_PAIR.lock().await;
    let p = Pair::start(&["n1", "n2", "n3"]);
    settled(&p, 3).await;
    p.link.seed(0x5eed);
    let mut acked = Vec::new();
    for (name, fault) in EVERY_FAULT {
        fault(&p.link);
        // Submissions under the fault: acknowledged by the shadow, or, once the primary gives
        // up on it, witnessed by the nodes. A refusal is allowed (nothing was promised).
        let mut here = 0;
        for _ in 0..5 {
            if let Ok(id) = submit_one(&p, &p.a.plain).await {
                acked.push(id);
                here += 1;
            }
        }
        assert!(here > 0, "{name}: the primary took no job\n{}", p.logs());
        p.link.pass();
        until(
            &p,
            &format!("the shadow in sync after {name}"),
            60,
            async || {
                let s = ha(&p.a.plain).await?;
                (s.shadow == "in sync").then_some(())
            },
        )
        .await;
        let b = ha(&p.b.plain).await.expect("the shadow answers");
        assert_eq!(b.role, "standby", "{name}: {b:?}");
    }
    // The faults bit: the broken streams were given up and the link made again.
    assert!(
        p.link.connections() > 1,
        "{} connections",
        p.link.connections()
    );
    println!(
        "{} jobs acknowledged under the faults, the replication link made {} times",
        acked.len(),
        p.link.connections()
    );
    let on_b = jobs(&p.b.plain).await.expect("jobs");
    for id in &acked {
        assert!(on_b.contains_key(id), "the shadow caught up with job {id}");
    }
    check_history(&p, &acked).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_on_the_agents_links_heals_and_every_job_runs_once() {
    let _one = ONE_PAIR.lock().await;
    let p = Pair::start(&["n1", "n2", "n3"]);
    settled(&p, 3).await;
    let mut acked = Vec::new();
    for (i, (name, fault)) in EVERY_FAULT.into_iter().enumerate() {
        for (_, link) in &p.to_a {
            link.seed(0xa9e + i as u64);
            fault(link);
        }
        // Jobs submitted while the nodes' links misbehave: placed, started or held back, but
        // each acknowledged one runs exactly once.
        for _ in 0..4 {
            if let Ok(id) = submit_one(&p, &p.a.plain).await {
                acked.push(id);
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        for (_, link) in &p.to_a {
            link.pass();
        }
        // Healed: one manager is active (the shadow may have taken over, if the nodes' leases
        // to the primary ran out under the fault), every node following it.
        until(
            &p,
            &format!("an active manager after {name}"),
            60,
            async || active(&p).await.map(|_| ()),
        )
        .await;
    }
    assert!(!acked.is_empty(), "no job was acknowledged\n{}", p.logs());
    println!(
        "{} jobs acknowledged under faults on the nodes' links",
        acked.len()
    );
    check_history(&p, &acked).await;
}

/// A tmpfs mounted on a directory, unmounted when dropped.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shadow_whose_disk_fills_up_is_said_and_catches_up_once_there_is_room() {
    // SAFETY: geteuid is always safe.
    if unsafe { libc::geteuid() } != 0 {
        common::skip("mounting a small tmpfs needs root");
        return;
    }
    let _one = ONE_PAIR.lock().await;
    let mut p = Pair::start(&["n1", "n2", "n3"]);
    settled(&p, 3).await;
    // The shadow's store moves onto a small disk of its own.
    p.b.kill();
    let cm = p.b.dir.path().join("cm");
    let moved = p.b.dir.path().join("cm.before");
    std::fs::rename(&cm, &moved).expect("moved aside");
    std::fs::create_dir(&cm).expect("mount point");
    let mount = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs"])
        .arg(&cm)
        .status()
        .expect("mount runs");
    if !mount.success() {
        common::skip("mount -t tmpfs was refused");
        return;
    }
    let _mounted = Mounted(cm.clone());
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(moved.join("."))
        .arg(&cm)
        .status()
        .expect("cp runs");
    assert!(copied.success(), "the store copied onto the small disk");
    p.b.start();
    until(&p, "the shadow in sync on its small disk", 60, async || {
        let s = ha(&p.a.plain).await?;
        (s.shadow == "in sync").then_some(())
    })
    .await;
    // Its disk fills up: the primary goes on alone, witnessed by the nodes, and says so; the
    // shadow says why it cannot follow.
    // Filled to the last byte, whatever the shadow writes meanwhile (ENOSPC ends the filler).
    {
        use std::io::Write;
        let mut filler = std::fs::File::create(cm.join("filler")).expect("the filler");
        let block = vec![0u8; 64 * 1024];
        // write_all writes what fits before it fails: the last block fills the rest.
        while filler.write_all(&block).is_ok() {}
    }
    let acked = submit_to_primary(&p, 100, "acknowledged by the primary").await;
    running_alone(&p).await;
    until(
        &p,
        "the shadow saying why it cannot follow",
        30,
        async || {
            let s = ha(&p.b.plain).await?;
            let why = s.why.to_lowercase();
            (why.contains("full") || why.contains("space")).then_some(())
        },
    )
    .await;
    // Room again: it catches up with every job acknowledged meanwhile.
    std::fs::remove_file(cm.join("filler")).expect("room");
    caught_up(&p, &acked).await;
}
