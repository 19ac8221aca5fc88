//! The console's manager link: failover from a dead primary to a shadow, login, lists, and a
//! reconnect that logs in again by itself after the manager went away and came back; failover
//! also from a primary that accepts and never answers, or accepts and hangs up at once.

mod common;

use common::Proc;

use std::time::{Duration, Instant};

use std::process::{Command, Stdio};

use gantry::cm::tls::Trust;
use gantry::jobs::{BackendKind, JobCommand, JobEvent, LinkState, ManagerConfig};

/// A real `gantry cm` on `listen`; returns it and the address it bound.
fn manager(dir: &std::path::Path, listen: &str) -> (Proc, String) {
    use std::io::BufRead;
    let h = bcrypt::hash("pw", 4).unwrap();
    std::fs::write(dir.join("users.htpasswd"), format!("alice:{h}\n")).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["cm", "--listen", listen])
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .trim_start_matches("central manager listening on ")
        .to_string();
    (Proc(c), addr)
}

async fn until(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, JobEvent)>,
    what: &str,
    f: impl Fn(&JobEvent) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((_, e))) if f(&e) => return,
            Ok(Some(_)) => {}
            _ => panic!("timed out waiting for {what}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_over_to_a_shadow_and_logs_in_again_after_a_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    // The primary: a port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (server, shadow) = manager(dir.path(), "127.0.0.1:0");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let link = gantry::jobs::link::spawn(
        ManagerConfig {
            cluster: "*".into(),
            addresses: vec![dead.to_string(), shadow.clone()],
            user: Some("alice".into()),
            read_only: false,
            login_hint: None,
            kind: BackendKind::CentralManager,
            trust: Some(Trust::Ca(dir.path().join("cm/tls/ca.crt"))),
            queue: Default::default(),
        },
        tx,
    );
    let s = shadow.clone();
    until(
        &mut rx,
        "connected to the shadow",
        |e| matches!(e, JobEvent::State(LinkState::Connected(a)) if *a == s),
    )
    .await;
    link.send(JobCommand::Login {
        user: "alice".into(),
        password: "wrong".into(),
        remember: false,
    });
    until(
        &mut rx,
        "a refused login",
        |e| matches!(e, JobEvent::LoginFailed(m) if m.contains("invalid user name or password")),
    )
    .await;
    link.send(JobCommand::Login {
        user: "alice".into(),
        password: "pw".into(),
        remember: false,
    });
    until(
        &mut rx,
        "logged in",
        |e| matches!(e, JobEvent::State(LinkState::LoggedIn(_, u, _)) if u == "alice"),
    )
    .await;
    until(&mut rx, "lists", |e| matches!(e, JobEvent::Lists { .. })).await;

    // The manager goes away (its store lock with it) and comes back on the same port.
    drop(server);
    until(&mut rx, "the link noticing", |e| {
        matches!(
            e,
            JobEvent::State(LinkState::Down(_)) | JobEvent::State(LinkState::Connecting(_))
        )
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_server, again) = manager(dir.path(), &shadow);
    assert_eq!(again, shadow);
    until(
        &mut rx,
        "logged in again without being asked",
        |e| matches!(e, JobEvent::State(LinkState::LoggedIn(a, u, _)) if *a == s && u == "alice"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_over_from_a_primary_that_hangs_or_hangs_up() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, shadow) = manager(dir.path(), "127.0.0.1:0");
    // One primary accepts and says nothing; the other accepts and closes at once.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (silent_addr, closing_addr) = (
        silent.local_addr().unwrap().to_string(),
        closing.local_addr().unwrap().to_string(),
    );
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in silent.incoming().flatten() {
            held.push(c);
        }
    });
    std::thread::spawn(move || {
        for c in closing.incoming().flatten() {
            drop(c);
        }
    });
    for primary in [silent_addr, closing_addr] {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _link = gantry::jobs::link::spawn(
            ManagerConfig {
                cluster: "*".into(),
                addresses: vec![primary.clone(), shadow.clone()],
                user: Some("alice".into()),
                read_only: false,
                login_hint: None,
                kind: BackendKind::CentralManager,
                trust: Some(Trust::Ca(dir.path().join("cm/tls/ca.crt"))),
                queue: Default::default(),
            },
            tx,
        );
        // Count the attempts on the way: a link that hammers the primary would show thousands.
        let attempts = std::sync::atomic::AtomicUsize::new(0);
        let s = shadow.clone();
        until(&mut rx, &format!("the shadow after {primary}"), |e| {
            if matches!(e, JobEvent::State(LinkState::Connecting(_))) {
                attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            matches!(e, JobEvent::State(LinkState::Connected(a)) if *a == s)
        })
        .await;
        let n = attempts.load(std::sync::atomic::Ordering::Relaxed);
        assert!(n <= 3, "{n} connection attempts before the shadow");
    }
}

/// The next `Submitted` outcome, skipping other events.
async fn submitted(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, JobEvent)>,
    what: &str,
) -> Result<u64, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((_, JobEvent::Submitted(r)))) => return r,
            Ok(Some(_)) => {}
            _ => panic!("{what}: a submission was never answered, not even with an error"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_link_rides_out_every_fault_and_never_shows_a_dead_link_as_live() {
    use common::proxy::Proxy;
    let dir = tempfile::tempdir().unwrap();
    // alice's jobs run as root here (there is no account alice); none runs: no agent.
    std::fs::write(
        dir.path().join("config.toml"),
        "[cm]\naccounts = { alice = \"root\" }\nroot_users = [\"alice\"]\n",
    )
    .unwrap();
    let (_server, addr) = manager(dir.path(), "127.0.0.1:0");
    let proxy = Proxy::start(&addr);
    proxy.seed(0xfa17);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let link = gantry::jobs::link::spawn(
        ManagerConfig {
            cluster: "*".into(),
            addresses: vec![proxy.addr()],
            user: Some("alice".into()),
            read_only: false,
            login_hint: None,
            kind: BackendKind::CentralManager,
            trust: Some(Trust::Ca(dir.path().join("cm/tls/ca.crt"))),
            queue: Default::default(),
        },
        tx,
    );
    until(&mut rx, "connected", |e| {
        matches!(e, JobEvent::State(LinkState::Connected(_)))
    })
    .await;
    link.send(JobCommand::Login {
        user: "alice".into(),
        password: "pw".into(),
        remember: false,
    });
    until(&mut rx, "logged in", |e| {
        matches!(e, JobEvent::State(LinkState::LoggedIn(..)))
    })
    .await;
    let job = || {
        Box::new(gantry::cm::job::JobSpec {
            name: "t".into(),
            exec: "/bin/true".into(),
            class: gantry::cm::job::JobClass::Single,
            output: Some("/dev/null".into()),
            tasks_per_node: 1,
            total_tasks: 1,
            ..Default::default()
        })
    };
    type Fault = (&'static str, fn(&Proxy), bool);
    // (what, the fault, whether it breaks the connection for good until healed)
    let faults: [Fault; 9] = [
        ("latency of 300 ms", |x| x.delay(300), false),
        ("a 4 kB/s link", |x| x.throttle(4000), false),
        ("corrupted bytes", |x| x.corrupt(0.5), false),
        ("duplicated bytes", |x| x.duplicate(0.5), false),
        ("lost bytes", |x| x.drop_bytes(0.5), false),
        ("a stream cut mid-record", |x| x.truncate(), false),
        ("resets", |x| x.reset(), true),
        ("a black hole", |x| x.cut(), true),
        ("a half-open connection", |x| x.half_open(), true),
    ];
    let mut acked = Vec::new();
    for (name, fault, breaks) in faults {
        fault(&proxy);
        link.send(JobCommand::Submit(job()));
        // Acknowledged, or refused with a reason: never silence.
        match submitted(&mut rx, name).await {
            Ok(id) => acked.push(id),
            Err(e) => println!("{name}: refused: {e}"),
        }
        if breaks {
            // A link that cannot reach its manager says so; its lists are not shown as live.
            until(
                &mut rx,
                &format!("the link saying it is down under {name}"),
                |e| {
                    matches!(
                        e,
                        JobEvent::State(LinkState::Down(_) | LinkState::Connecting(_))
                    )
                },
            )
            .await;
        }
        proxy.pass();
        // Healed: logged in again by itself, with lists that hold every acknowledged job.
        let want = acked.clone();
        until(&mut rx, &format!("fresh lists after {name}"), move |e| {
            matches!(e, JobEvent::Lists { jobs, .. }
                if want.iter().all(|id| jobs.iter().any(|j| j.id == *id)))
        })
        .await;
    }
    // Latency and a slow link delay the answer; they do not lose it.
    assert!(acked.len() >= 2, "acknowledged {acked:?}");
    println!(
        "{} of 8 submissions acknowledged under the faults; {} connections through the proxy",
        acked.len(),
        proxy.connections()
    );
}
