//! The console's manager link: failover from a dead primary to a shadow, login, lists, and a
//! reconnect that logs in again by itself after the manager went away and came back.

mod common;

use common::Proc;

use std::time::{Duration, Instant};

use std::process::{Command, Stdio};

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
