//! Syslog through the real binaries: a real rsyslogd forwards `logger` messages over UDP and
//! TCP to `gantry aggregator`, which groups them, keeps a line that is not syslog and counts a
//! frame over the limit; stopped and started again, it keeps its templates and learns on
//! into them. And the same into the real console in a pseudo-terminal, where the messages
//! show grouped in the events view.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pty::PtyApp;
use common::rsyslog::{self, Rsyslog};
use common::{Proc, free_port};
use serde_json::Value;

/// A free UDP port on loopback.
fn free_udp() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// config.toml receiving on these ports, saving every second, polling this machine.
fn config(dir: &Path, udp: u16, tcp: u16) {
    std::fs::write(
        dir.join("config.toml"),
        format!(
            r#"[events]
udp = "127.0.0.1:{udp}"
tcp = "127.0.0.1:{tcp}"
save_interval = 1

[[source]]
name = "here"
local = true
"#
        ),
    )
    .unwrap();
}

/// rsyslogd forwarding "via-udp" messages over UDP and "via-tcp" ones over TCP
/// (octet-counted).
fn forwarder(dir: &Path, udp: u16, tcp: u16) -> Rsyslog {
    let rules = format!(
        r#"if $msg contains "via-udp" then action(type="omfwd" target="127.0.0.1" port="{udp}" protocol="udp")
if $msg contains "via-tcp" then action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp" TCP_Framing="octet-counted")"#
    );
    let fw = dir.join("fw");
    std::fs::create_dir_all(&fw).unwrap();
    Rsyslog::start(&fw, "", &rules)
}

fn aggregator(dir: &Path) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args([
                "aggregator",
                "--xml-listen",
                "off",
                "--interactive-listen",
                "off",
            ])
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry aggregator starts"),
    )
}

/// Waits for the aggregator to say it listens for syslog.
fn wait_listening(p: &mut Proc) {
    use std::io::{BufRead, BufReader};
    let out = p.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("syslog tcp") => {
                // Keep draining so the aggregator never blocks on a full pipe.
                std::thread::spawn(move || for _ in lines {});
                return;
            }
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    panic!("gantry aggregator never said it listens for syslog");
}

/// Stops a process with SIGTERM and waits for it to exit by itself.
fn terminate(p: &mut Proc) {
    let pid = p.0.id() as i32;
    // SAFETY: a signal to a child this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(st)) = p.0.try_wait() {
            assert!(st.success(), "exited with {st}");
            return;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The events file, once it satisfies `ok`.
fn events_file_when(dir: &Path, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let path = dir.join("events.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v: Option<Value> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(v) = &v
            && ok(v)
        {
            return v.clone();
        }
        assert!(
            Instant::now() < deadline,
            "events.json never showed {what}: {v:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// (id, count) of the template whose text contains `needle`.
fn template(v: &Value, needle: &str) -> Option<(u64, u64)> {
    v["templates"].as_array()?.iter().find_map(|t| {
        let text = t["stats"]["text"].as_str()?;
        text.contains(needle)
            .then(|| Some((t["id"].as_u64()?, t["stats"]["count"].as_u64()?)))
            .flatten()
    })
}

#[test]
fn the_aggregator_groups_forwarded_syslog_and_keeps_it_across_a_restart() {
    if !rsyslog::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_udp(), free_port());
    config(dir.path(), udp, tcp);
    let mut agg = aggregator(dir.path());
    wait_listening(&mut agg);
    let rs = forwarder(dir.path(), udp, tcp);
    for i in 1..=5 {
        rs.logger(
            "sshd",
            "auth.notice",
            &format!("via-udp Accepted password for user{i} from 10.0.0.{i} port 22{i} ssh2"),
        );
        rs.logger(
            "kernel",
            "kern.err",
            &format!("via-tcp EDAC MC0: {i} CE memory read error on DIMM#{i}"),
        );
    }
    // A line that is not syslog, and a frame over the limit followed by a good one on the same
    // connection: the first kept raw, the second counted, the third learned.
    let raw = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    raw.send_to(b"\x01\x02 not syslog at all", ("127.0.0.1", udp))
        .unwrap();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    let long = vec![b'x'; 70_000];
    conn.write_all(format!("{} ", long.len()).as_bytes())
        .unwrap();
    conn.write_all(&long).unwrap();
    let after = b"<11>1 2026-12-03T04:00:00Z node7 app - - - via-direct after the long one";
    conn.write_all(format!("{} ", after.len()).as_bytes())
        .unwrap();
    conn.write_all(after).unwrap();
    drop(conn);
    let v = events_file_when(dir.path(), "every message", |v| {
        template(v, "via-udp").map(|t| t.1) == Some(5)
            && template(v, "via-tcp").map(|t| t.1) == Some(5)
            && template(v, "via-direct").is_some()
            && v["counters"]["raw"].as_u64() >= Some(1)
            && v["counters"]["too_long"].as_u64() >= Some(1)
    });
    let (ssh, _) = template(&v, "via-udp").unwrap();
    let since = v["since"].as_u64().unwrap();
    assert!(since > 0);
    terminate(&mut agg);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("events.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the events file is its owner's only: {mode:o}"
    );

    // Started again: the same templates, learning on.
    let mut agg = aggregator(dir.path());
    wait_listening(&mut agg);
    for i in 6..=8 {
        rs.logger(
            "sshd",
            "auth.notice",
            &format!("via-udp Accepted password for user{i} from 10.0.0.{i} port 22{i} ssh2"),
        );
    }
    let v = events_file_when(dir.path(), "eight logins in one template", |v| {
        template(v, "via-udp").map(|t| t.1) == Some(8)
    });
    assert_eq!(template(&v, "via-udp").unwrap().0, ssh, "the same template");
    assert_eq!(template(&v, "via-tcp").unwrap().1, 5, "kept");
    assert_eq!(
        v["since"].as_u64(),
        Some(since),
        "learning since the first start"
    );
    assert!(
        v["counters"]["too_long"].as_u64() >= Some(1),
        "drops stay counted"
    );
    terminate(&mut agg);
}

#[test]
fn logger_messages_show_grouped_in_the_real_consoles_events_view() {
    if !rsyslog::available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_udp(), free_port());
    config(home.path(), udp, tcp);
    let dir = home.path().to_str().expect("utf-8 path");
    let mut app = PtyApp::gantry(&[], dir, 160, 40);
    app.wait_for("here", Duration::from_secs(30)).expect("grid");
    let rs = forwarder(home.path(), udp, tcp);
    for i in 1..=6 {
        rs.logger(
            "sshd",
            "auth.err",
            &format!("via-udp Failed password for user{i} from 10.0.0.{i} port 4{i}22 ssh2"),
        );
        rs.logger(
            "slurmd",
            "daemon.info",
            &format!("via-tcp launch task {i}.0 request from UID:100{i}"),
        );
    }
    app.send("E");
    let s = app
        .wait_for(
            "via-udp Failed password for user<*> from <*> port <*> ssh<*>",
            Duration::from_secs(30),
        )
        .expect("the events view");
    assert!(s.contains("Events"), "{s}");
    let row = |s: &str, needle: &str| {
        s.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_default()
            .to_string()
    };
    app.wait_for("via-tcp launch task", Duration::from_secs(30))
        .expect("the TCP ones");
    let s = app.screen();
    let udp_row = row(&s, "via-udp");
    assert!(udp_row.contains(" err ") && udp_row.contains(" 6 "), "{s}");
    assert!(row(&s, "via-tcp").contains(" 6 "), "{s}");
    // Ordered by severity, the errors lead; Enter reads their messages.
    app.send("o");
    app.send("o");
    app.wait_for("by severity", Duration::from_secs(10))
        .expect("ordered by severity");
    app.send("\r");
    let s = app
        .wait_for("Template", Duration::from_secs(10))
        .expect("the messages");
    assert!(s.contains("Failed password for user6"), "{s}");
    assert!(s.contains("sshd"), "{s}");
    app.send("q");
    app.send("q");
    app.send("q");
    app.wait_exit(Duration::from_secs(30))
        .expect("the console quits");
    let saved = std::fs::read(home.path().join("events.json")).expect("events kept");
    let v: Value = serde_json::from_slice(&saved).unwrap();
    assert_eq!(template(&v, "via-udp").map(|t| t.1), Some(6));
    // Started again, the console shows what it had learned before anything new arrives.
    let mut app = PtyApp::gantry(&[], dir, 160, 40);
    app.wait_for("here", Duration::from_secs(30)).expect("grid");
    app.send("E");
    let s = app
        .wait_for("via-udp Failed password", Duration::from_secs(30))
        .expect("the events kept");
    assert!(row(&s, "via-udp").contains(" 6 "), "{s}");
    app.send("q");
    app.send("q");
    app.wait_exit(Duration::from_secs(30))
        .expect("the console quits");
}

#[test]
fn a_flood_of_distinct_messages_stops_at_the_template_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_udp(), free_port());
    config(dir.path(), udp, tcp);
    let cfg = dir.path().join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(
            "save_interval = 1",
            "save_interval = 1\nmax_templates = 100",
        ),
    )
    .unwrap();
    let mut agg = aggregator(dir.path());
    wait_listening(&mut agg);
    // 5,000 messages that share no word (letters only, so nothing is masked), over TCP so
    // none is lost on the way, and one steady message between them.
    let word = |mut n: usize| {
        let mut w = String::from("w");
        loop {
            w.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
            if n == 0 {
                return w;
            }
        }
    };
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    let mut batch = Vec::new();
    for i in 0..5_000usize {
        for text in [
            format!("{} {} {}", word(3 * i), word(3 * i + 1), word(3 * i + 2)),
            "link down on eth0".to_string(),
        ] {
            batch.extend_from_slice(format!("<14>1 - node1 app - - - {text}\n").as_bytes());
        }
    }
    conn.write_all(&batch).unwrap();
    drop(conn);
    let v = events_file_when(dir.path(), "all 10,000 messages", |v| {
        v["counters"]["messages"].as_u64() == Some(10_000)
    });
    let kept = v["templates"].as_array().unwrap().len();
    assert!(kept <= 100, "{kept} templates kept");
    assert!(
        v["counters"]["forgotten"].as_u64() >= Some(4_900),
        "{}",
        v["counters"]
    );
    assert_eq!(
        template(&v, "link down on eth").map(|t| t.1),
        Some(5_000),
        "the steady template is kept whole"
    );
    terminate(&mut agg);
}
