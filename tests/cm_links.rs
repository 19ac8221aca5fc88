//! The manager's links against hostile peers: agents must be the nodes their certificates
//! name, a second agent cannot take over a connected node, nothing secret crosses the network
//! in clear, 20,000 silent connections do not lock anyone out, agents killed with SIGKILL or
//! stopped with SIGTERM leave no task out of control, a peer that reads none of its replies is
//! let go at the write deadline, and log lines cannot be forged.

mod common;

use common::{Proc, enroll, start_cm};

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gantry::cm::client::CmClient;
use gantry::cm::job::{JobClass, JobSpec};
use gantry::cm::proto::{Reply, Request};
use gantry::cm::tls::Trust;

fn users(dir: &Path) {
    let mut u = String::new();
    for name in ["root", "alice"] {
        let h = bcrypt::hash(format!("{name}-Secret-Pw"), 4).unwrap();
        u.push_str(&format!("{name}:{h}\n"));
    }
    std::fs::write(dir.join("users.htpasswd"), u).unwrap();
    // alice's jobs run as root here: this file is about links, tests/cm_security.rs is about
    // accounts.
    std::fs::write(
        dir.join("config.toml"),
        "[cm]\naccounts = { alice = \"root\" }\nroot_users = [\"alice\"]\n",
    )
    .unwrap();
}

fn agent(dir: &Path, name: &str, cm: &str, extra: &[&str]) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("agent-{name}.stderr")))
        .unwrap();
    Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["agent", "--name", name, "--cm", cm, "--scope", "tasks"])
            .args(extra)
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    )
}

async fn until<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(addr: &str, user: &str) -> CmClient {
    CmClient::login(addr, user, &format!("{user}-Secret-Pw"))
        .await
        .unwrap()
}

async fn up_nodes(c: &mut CmClient) -> Vec<String> {
    match c.ok(&Request::Nodes).await.unwrap() {
        Reply::Nodes(n) => n.into_iter().filter(|n| n.up).map(|n| n.name).collect(),
        r => panic!("{r:?}"),
    }
}

async fn field(c: &mut CmClient, id: u64, key: &str) -> String {
    match c.ok(&Request::Job { id }).await.unwrap() {
        Reply::Job(kv) => kv
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or_default(),
        r => panic!("{r:?}"),
    }
}

fn sleeper(secs: u32) -> JobSpec {
    JobSpec {
        name: "sleeper".into(),
        exec: "/bin/sh".into(),
        args: vec!["-c".into(), format!("sleep {secs} & wait")],
        class: JobClass::Single,
        output: Some("/dev/null".into()),
        tasks_per_node: 1,
        total_tasks: 1,
        ..JobSpec::default()
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z"))
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_are_the_nodes_their_certificates_name_and_none_takes_over_another() {
    let dir = tempfile::tempdir().unwrap();
    users(dir.path());
    let cm = start_cm(dir.path(), &["--heartbeat", "1"]);
    enroll(dir.path(), "n1");
    enroll(dir.path(), "n2");
    let _a1 = agent(dir.path(), "n1", &cm.tls, &[]);
    let mut root = login(&cm.plain, "root").await;
    until("n1 up", async || {
        up_nodes(&mut root)
            .await
            .contains(&"n1".to_string())
            .then_some(())
    })
    .await;
    // A second agent with n1's own certificate: refused while n1's agent answers.
    let second = agent(dir.path(), "n1", &cm.tls, &[]);
    // n2's certificate claiming to be n1.
    let liar = agent(
        dir.path(),
        "n1",
        &cm.tls,
        &[
            "--tls-dir",
            &dir.path().join("agent/n2/tls").display().to_string(),
        ],
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop((second, liar));
    let said = std::fs::read_to_string(dir.path().join("agent-n1.stderr")).unwrap();
    assert!(said.contains("node n1 is connected already"), "{said}");
    assert!(said.contains("this certificate is not node n1's"), "{said}");
    let log = std::fs::read_to_string(dir.path().join("gantry.log")).unwrap();
    assert!(
        log.contains("agent 'n1' from") && log.contains("refused"),
        "{log}"
    );
    // No certificate at all: the plain listener takes no agents, whatever they say.
    let mut plain = CmClient::connect(&cm.plain).await.unwrap();
    let r = plain.raw(b"AGENT|n1|1|4|1000000\n").await.unwrap();
    assert!(r.starts_with("ERR|401|"), "{r}");
    // The old shared secret is refused with what to do instead.
    let mut plain = CmClient::connect(&cm.plain).await.unwrap();
    let r = plain.raw(b"AGENT|n1|1|4|1000000|secret\n").await.unwrap();
    assert!(r.contains("enroll the node"), "{r}");
    // An agent that does not trust the manager's certificate never registers.
    let other = tempfile::tempdir().unwrap();
    let _ = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["cm", "tls", "init"])
        .env("GANTRY_CONFIG_DIR", other.path())
        .env("GANTRY_STATE_DIR", other.path())
        .output()
        .unwrap();
    let _ = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["cm", "tls", "node", "n3"])
        .env("GANTRY_CONFIG_DIR", other.path())
        .env("GANTRY_STATE_DIR", other.path())
        .output()
        .unwrap();
    let stranger = agent(
        dir.path(),
        "n3",
        &cm.tls,
        &[
            "--tls-dir",
            &other.path().join("agent/n3/tls").display().to_string(),
        ],
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(stranger);
    let said = std::fs::read_to_string(dir.path().join("agent-n3.stderr")).unwrap();
    assert!(said.contains("TLS with"), "{said}");
    assert_eq!(up_nodes(&mut root).await, vec!["n1".to_string()]);
}

/// A TCP relay that keeps every byte it passes, both ways.
fn recording_proxy(to: String) -> (String, Arc<Mutex<Vec<u8>>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let Ok(up) = std::net::TcpStream::connect(&to) else {
                continue;
            };
            for (mut from, mut into) in [(c.try_clone().unwrap(), up.try_clone().unwrap()), (up, c)]
            {
                let seen = s2.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || into.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        seen.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = into.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    (addr, seen)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_secret_crosses_the_wire_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    users(dir.path());
    let cm = start_cm(dir.path(), &["--heartbeat", "1"]);
    enroll(dir.path(), "n1");
    // The agent's link and the console's both through recording relays.
    let (agent_via, agent_seen) = recording_proxy(cm.tls.clone());
    let (client_via, client_seen) = recording_proxy(cm.tls.clone());
    // The relay's address is 127.0.0.1 too, so the manager's certificate matches it.
    let _a = agent(dir.path(), "n1", &agent_via, &[]);
    let trust = Trust::Ca(dir.path().join("cm/tls/ca.crt"));
    let mut c = CmClient::connect_tls(&client_via, &trust).await.unwrap();
    let token = match c
        .ok(&Request::Login {
            user: "alice".into(),
            password: "alice-Secret-Pw".into(),
        })
        .await
        .unwrap()
    {
        Reply::LoggedIn { token, .. } => token,
        r => panic!("{r:?}"),
    };
    until("n1 up", async || {
        up_nodes(&mut c)
            .await
            .contains(&"n1".to_string())
            .then_some(())
    })
    .await;
    let mut spec = sleeper(1);
    spec.args = vec!["-c".into(), "echo TOP-SECRET-ARGUMENT".into()];
    let id = match c.ok(&Request::Submit(spec)).await.unwrap() {
        Reply::Submitted(id) => id,
        r => panic!("{r:?}"),
    };
    until("done", async || {
        (field(&mut c, id, "state").await == "done").then_some(())
    })
    .await;
    // A second connection resumes the session by its token, over TLS too.
    let mut c2 = CmClient::connect_tls(&client_via, &trust).await.unwrap();
    c2.ok(&Request::Resume {
        token: token.clone(),
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let key = std::fs::read_to_string(dir.path().join("agent/n1/tls/node.key")).unwrap();
    let key_line = key.lines().nth(1).unwrap().as_bytes().to_vec();
    let client = client_seen.lock().unwrap().clone();
    let agent_bytes = agent_seen.lock().unwrap().clone();
    assert!(
        client.len() > 1000 && agent_bytes.len() > 1000,
        "the relays saw traffic"
    );
    for (what, needle) in [
        ("the password", b"alice-Secret-Pw".to_vec()),
        ("the session token", token.into_bytes()),
        ("a job's argument", b"TOP-SECRET-ARGUMENT".to_vec()),
        ("the node's key", key_line),
        ("a protocol verb", b"LOGIN|".to_vec()),
    ] {
        for (link, bytes) in [("console", &client), ("agent", &agent_bytes)] {
            assert!(
                !contains(bytes, &needle),
                "{what} crossed the {link} link in clear"
            );
        }
    }
    // Plain text is refused off loopback.
    let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args([
            "cm",
            "--listen",
            "127.0.0.1:0",
            "--plaintext-listen",
            "0.0.0.0:0",
        ])
        .env("GANTRY_CONFIG_DIR", dir.path())
        .env("GANTRY_STATE_DIR", dir.path().join("other"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("only for loopback"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_thousand_silent_connections_lock_nobody_out() {
    // SAFETY: raising this process's own descriptor limit to its hard maximum.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    users(dir.path());
    let cm = start_cm(dir.path(), &["--heartbeat", "1"]);
    let cm_pid = cm.proc.0.id();
    enroll(dir.path(), "n1");
    let started = Instant::now();
    // 20,000 connections from 127.0.0.2 that never say a word, to both listeners. Those the
    // manager closes at once are let go; the ones it holds are kept open, silent.
    let mut silent: Vec<tokio::net::TcpStream> = Vec::new();
    let mut made = 0;
    let mut refusals = String::new();
    for i in 0..20_000 {
        let target = if i % 2 == 0 { &cm.tls } else { &cm.plain };
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_secs(2),
            sock.connect(target.parse().unwrap()),
        )
        .await
        {
            made += 1;
            silent.push(s);
        }
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            silent.retain(|s| {
                // Refused: the plain listener says why, then closes; the TLS one just closes.
                let mut b = [0u8; 256];
                loop {
                    match s.try_read(&mut b) {
                        Ok(0) => return false,
                        Ok(n) => refusals.push_str(&String::from_utf8_lossy(&b[..n])),
                        Err(_) => return true,
                    }
                }
            });
        }
    }
    assert!(made > 19_000, "{made} connections were made");
    assert!(
        refusals.contains("ERR|503|too many connections from this address"),
        "{}",
        &refusals[..refusals.len().min(300)]
    );
    assert!(
        silent.len() <= 64,
        "the manager holds {} silent connections from one address",
        silent.len()
    );
    let fds = std::fs::read_dir(format!("/proc/{cm_pid}/fd"))
        .unwrap()
        .count();
    assert!(fds < 500, "the manager holds {fds} descriptors");
    // An agent and a console still get in.
    let _a = agent(dir.path(), "n1", &cm.tls, &[]);
    let mut root = login(&cm.plain, "root").await;
    until("n1 up", async || {
        up_nodes(&mut root)
            .await
            .contains(&"n1".to_string())
            .then_some(())
    })
    .await;
    let trust = Trust::Ca(dir.path().join("cm/tls/ca.crt"));
    let mut c = CmClient::connect_tls(&cm.tls, &trust).await.unwrap();
    c.ok(&Request::Login {
        user: "alice".into(),
        password: "alice-Secret-Pw".into(),
    })
    .await
    .unwrap();
    // The silent ones it held are closed at the login deadline (10 s), not kept forever.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !silent.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        silent.retain(|s| {
            let mut b = [0u8; 256];
            loop {
                match s.try_read(&mut b) {
                    Ok(0) => return false,
                    Ok(_) => {}
                    Err(e) => return e.kind() == std::io::ErrorKind::WouldBlock,
                }
            }
        });
    }
    assert!(
        silent.is_empty(),
        "{} silent connections outlived the login deadline",
        silent.len()
    );
    assert!(started.elapsed() < Duration::from_secs(150));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_that_reads_no_replies_is_disconnected_at_the_write_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    users(dir.path());
    let cfg = dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("write_deadline = 2\n");
    std::fs::write(&cfg, text).unwrap();
    let cm = start_cm(dir.path(), &[]);
    // A small receive window, so that the replies back up at once.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut s = sock.connect(cm.plain.parse().unwrap()).await.unwrap();
    s.write_all(b"LOGIN|alice|alice-Secret-Pw\n").await.unwrap();
    let mut got = Vec::new();
    while !got.contains(&b'\n') {
        let mut b = [0u8; 256];
        let n = s.read(&mut b).await.unwrap();
        assert!(n > 0, "closed before the login reply");
        got.extend_from_slice(&b[..n]);
    }
    assert!(
        got.starts_with(b"OK|LOGIN|"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    // Requests without end, and not one reply read.
    let (_r, mut w) = s.into_split();
    let writer = tokio::spawn(async move {
        let chunk = b"PING\n".repeat(1000);
        let mut sent = 0u64;
        loop {
            if let Err(e) = w.write_all(&chunk).await {
                return (sent, e);
            }
            sent += 1000;
        }
    });
    // While its replies back up, everyone else is served.
    let mut root = login(&cm.plain, "root").await;
    for _ in 0..3 {
        root.ok(&Request::Ping)
            .await
            .expect("another client is answered");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Past the deadline the manager closes the connection rather than buffer for it: the
    // writer's next write fails. Without the deadline it would block for ever.
    let (sent, e) = tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .expect("the manager still holds a peer that reads nothing")
        .unwrap();
    assert!(sent > 0, "not one request was sent before the close: {e}");
    root.ok(&Request::Ping).await.expect("the manager goes on");
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_outlive_no_agent_out_of_control() {
    let dir = tempfile::tempdir().unwrap();
    users(dir.path());
    let cm = start_cm(dir.path(), &["--heartbeat", "1"]);
    enroll(dir.path(), "k1");
    let a = agent(dir.path(), "k1", &cm.tls, &[]);
    let mut alice = login(&cm.plain, "alice").await;
    until("k1 up", async || {
        (!up_nodes(&mut alice).await.is_empty()).then_some(())
    })
    .await;
    let id = match alice.ok(&Request::Submit(sleeper(60))).await.unwrap() {
        Reply::Submitted(id) => id,
        r => panic!("{r:?}"),
    };
    let pid: u32 = until("running", async || {
        let p: u32 = field(&mut alice, id, "pids").await.parse().unwrap_or(0);
        (p > 0).then_some(p)
    })
    .await;
    // SIGKILL: the agent has no say; the task runs on, and the manager says it cannot tell.
    unsafe { libc::kill(a.0.id() as i32, libc::SIGKILL) };
    drop(a);
    let state = until("unknown", async || {
        let s = field(&mut alice, id, "state").await;
        (s == "unknown").then_some(s)
    })
    .await;
    assert_eq!(state, "unknown");
    assert!(
        field(&mut alice, id, "reason")
            .await
            .starts_with("unknown since ")
    );
    assert!(alive(pid), "the task was left running");
    // The agent's next start takes it back: running again, and killable as a whole.
    let a = agent(
        dir.path(),
        "k1",
        &cm.tls,
        &["--on-stop", "kill", "--stop-grace", "1"],
    );
    until("running again", async || {
        (field(&mut alice, id, "state").await == "running").then_some(())
    })
    .await;
    let children: Vec<u32> = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert!(!children.is_empty(), "the job's sleep runs under its shell");
    // SIGTERM with --on-stop kill: every process of the task ends, and the manager hears it.
    unsafe { libc::kill(a.0.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    while (alive(pid) || children.iter().any(|c| alive(*c))) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(pid), "the task's main process ended");
    assert!(
        !children.iter().any(|c| alive(*c)),
        "no process of the task outlived it"
    );
    drop(a);
    let a = agent(dir.path(), "k1", &cm.tls, &[]);
    let s = until("ended", async || {
        let s = field(&mut alice, id, "state").await;
        matches!(s.as_str(), "failed" | "killed" | "done" | "lost").then_some(s)
    })
    .await;
    assert_ne!(s, "done", "a job its agent ended is not reported done");
    drop(a);
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_managed_without_apache_tools_and_logs_cannot_be_forged() {
    let dir = tempfile::tempdir().unwrap();
    users(dir.path());
    let cm = start_cm(dir.path(), &[]);
    let passwd = |user: &str, pw: &str, extra: &[&str]| {
        let mut p = Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["cm", "passwd", user, "--stdin"])
            .args(extra)
            .env("GANTRY_CONFIG_DIR", dir.path())
            .env("GANTRY_STATE_DIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = writeln!(p.stdin.take().unwrap(), "{pw}");
        p.wait_with_output().unwrap()
    };
    // Longer than bcrypt reads: refused, not cut.
    let out = passwd("carol", &"x".repeat(80), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 71"));
    let out = passwd("carol", "carol-pw-1", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("users.htpasswd"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0);
    // The running manager takes the change without a restart.
    let mut carol = CmClient::login(&cm.plain, "carol", "carol-pw-1")
        .await
        .unwrap();
    carol.ok(&Request::Nodes).await.unwrap();
    // A new password ends the sessions opened with the old one.
    let out = passwd("carol", "carol-pw-2", &[]);
    assert!(out.status.success());
    match carol.call(&Request::Nodes).await.unwrap() {
        Reply::Error { code: 401, message } => {
            assert!(message.contains("log in again"), "{message}")
        }
        r => panic!("{r:?}"),
    }
    CmClient::login(&cm.plain, "carol", "carol-pw-2")
        .await
        .unwrap();
    let out = passwd("carol", "", &["--delete"]);
    assert!(out.status.success());
    assert!(
        CmClient::login(&cm.plain, "carol", "carol-pw-2")
            .await
            .is_err()
    );
    // A user name with a newline cannot start a line of its own in the log.
    let mut c = CmClient::connect(&cm.plain).await.unwrap();
    let _ = c
        .call(&Request::Login {
            user: "eve\nFORGED: root logged in".into(),
            password: "x".into(),
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(dir.path().join("gantry.log")).unwrap();
    assert!(log.contains("eve\\nFORGED"), "{log}");
    assert!(!log.lines().any(|l| l.starts_with("FORGED")), "{log}");
}
