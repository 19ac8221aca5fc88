//! The central manager's speed, against the real `gantry cm` process. Run with:
//!
//!     cargo bench --bench cm
//!
//! 1,000 nodes × 100 processes are registered over the agent protocol by synthetic agent
//! connections (this program; TLS, each with its own node certificate), then REQ is timed over
//! TLS and over the plain-text loopback listener; TLS handshakes are timed; 500 submissions are
//! sent back to back over TLS and timed until every one is acknowledged (each only after its
//! commit); 10,000 idle TLS client connections are opened and the manager's resident memory is
//! read. Results are printed and written to target/bench/cm.json.

mod support;

use support::median;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gantry::cm::client::CmClient;
use gantry::cm::codec::{Item, MAX_REPLY_LINE};
use gantry::cm::job::JobSpec;
use gantry::cm::link::{LineReader, request_line};
use gantry::cm::proto::{ProcInfo, Reply, Request};
use gantry::cm::tls::Trust;
use tokio::io::AsyncWriteExt;

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn login_tls(addr: &str, trust: &Trust) -> CmClient {
    let mut c = CmClient::connect_tls(addr, trust).await.expect("TLS");
    c.ok(&Request::Login {
        user: "root".into(),
        password: "rootpw".into(),
    })
    .await
    .expect("login");
    c
}

fn round2(v: f64) -> serde_json::Value {
    ((v * 100.0).round() / 100.0).into()
}

#[tokio::main]
async fn main() {
    // SAFETY: raising our own open-file limit.
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
    let mut report = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        println!("{k:<56} {v}");
        report.insert(k.to_string(), v);
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let h = bcrypt::hash("rootpw", 4).expect("hash");
    std::fs::write(dir.path().join("users.htpasswd"), format!("root:{h}\n")).expect("users");
    // The submissions are root's, so root_users must allow them.
    std::fs::write(
        dir.path().join("config.toml"),
        "[cm]\nroot_users = [\"root\"]\nmax_tasks_per_node = 100000\nmax_connections = 20000\nmax_connections_per_source = 20000\nlogin_deadline = 3600\nmax_jobs_per_user = 100000\n",
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args([
            "cm",
            "--listen",
            "127.0.0.1:0",
            "--plaintext-listen",
            "127.0.0.1:0",
            "--heartbeat",
            "30",
        ])
        .env("GANTRY_CONFIG_DIR", dir.path())
        .env("GANTRY_STATE_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gantry cm");
    let (mut line, mut line2) = (String::new(), String::new());
    {
        use std::io::BufRead;
        let out = child.stdout.take().expect("stdout");
        let mut r = std::io::BufReader::new(out);
        r.read_line(&mut line).expect("first line");
        r.read_line(&mut line2).expect("second line");
    }
    let cm = Proc(child);
    let addr = line
        .trim()
        .trim_start_matches("central manager listening on ")
        .to_string();
    let plain = line2
        .trim()
        .trim_start_matches("plaintext on ")
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let tls_dir = dir.path().join("cm/tls");
    let trust = Trust::Ca(tls_dir.join("ca.crt"));
    let pid = cm.0.id();
    put("manager rss MB at start", round2(rss_mb(pid)));

    // 1,000 synthetic agents, 100 processes each, each with its node's certificate.
    let mut agents = Vec::new();
    for n in 0..1000u32 {
        let name = format!("node{n:04}");
        let node_dir = dir.path().join("nodes").join(&name);
        gantry::cm::tls::issue_node(&tls_dir, &name, &node_dir).expect("node certificate");
        let cfg = gantry::cm::tls::agent_config(&node_dir).expect("agent TLS");
        let s = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("agent connects");
        let s = tokio_rustls::TlsConnector::from(cfg)
            .connect(gantry::cm::tls::server_name(&addr).expect("name"), s)
            .await
            .expect("agent TLS handshake");
        let (r, mut w) = tokio::io::split(s);
        let mut reader = LineReader::new(r, MAX_REPLY_LINE);
        let hello = Request::Agent {
            name,
            version: 1,
            cpus: 16,
            mem_total_kb: 64 << 20,
        };
        // tokio-rustls may keep written bytes in its buffer until a flush: without one the
        // manager might never see them, and this would wait for its answer for ever.
        w.write_all(request_line(None, &hello).as_bytes())
            .await
            .expect("write");
        w.flush().await.expect("flush");
        let _ = reader.next().await;
        let procs: Vec<ProcInfo> = (0..100u32)
            .map(|i| ProcInfo {
                node: String::new(),
                pid: 1000 + i,
                state: 'S',
                name: format!("worker{i}"),
                user: if i % 2 == 0 {
                    "root".into()
                } else {
                    "alice".into()
                },
                cpu_pct: 1.5,
                rss_kb: 10_240,
                job: String::new(),
                start: 0,
            })
            .collect();
        let hb = Request::Heartbeat {
            load1: (n % 7) as f32,
            runqueue: 1,
            mem_free_kb: 32 << 20,
            procs: 100,
        };
        w.write_all(request_line(Some(1), &hb).as_bytes())
            .await
            .expect("write");
        w.write_all(request_line(Some(2), &Request::Procs(procs)).as_bytes())
            .await
            .expect("write");
        w.flush().await.expect("flush");
        let _ = reader.next().await;
        let _ = reader.next().await;
        agents.push((reader, w));
    }
    put(
        "manager rss MB with 1,000 agents x 100 processes",
        round2(rss_mb(pid)),
    );
    let mut root = login_tls(&addr, &trust).await;
    let mut root_plain = CmClient::login(&plain, "root", "rootpw")
        .await
        .expect("login");
    // TLS and plain text in turns, so both see the same machine.
    let (mut times, mut times_plain) = (Vec::new(), Vec::new());
    let mut listed = 0;
    for _ in 0..21 {
        // From sending the request to holding the whole answer line.
        let t = Instant::now();
        let line = root.raw(b"REQ|root\n").await.expect("REQ");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        listed = line.matches('&').count();
        let t = Instant::now();
        let _ = root_plain.raw(b"REQ|root\n").await.expect("REQ");
        times_plain.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    put("REQ processes listed", listed.into());
    put(
        "REQ answer bytes",
        root.raw(b"REQ|root\n").await.map_or(0, |l| l.len()).into(),
    );
    let (tls_ms, plain_ms) = (median(times), median(times_plain));
    put(
        "REQ ms over TLS, 1,000 nodes x 100 processes (median of 21)",
        round2(tls_ms),
    );
    put(
        "REQ ms over plain TCP (loopback listener, median of 21)",
        round2(plain_ms),
    );
    put("REQ TLS / plain", round2(tls_ms / plain_ms));
    // Handshakes: connect, TLS 1.3, and the first answer (PING).
    let mut hs = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let mut c = CmClient::connect_tls(&addr, &trust).await.expect("tls");
        let _ = c.ok(&Request::Ping).await;
        hs.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    put(
        "TLS connect + handshake + PING ms (median of 200)",
        round2(median(hs)),
    );
    let t = Instant::now();
    match root
        .ok(&Request::Req {
            user: "root".into(),
        })
        .await
        .expect("REQ")
    {
        Reply::ProcessList(n) => {
            assert_eq!(n.iter().map(|n| n.procs.len()).sum::<usize>(), 100_000)
        }
        r => panic!("{r:?}"),
    }
    put(
        "REQ ms including the client's full decode",
        round2(t.elapsed().as_secs_f64() * 1000.0),
    );

    // 500 submissions back to back on one connection, each acknowledged after its commit.
    let spec = JobSpec {
        name: "bench".into(),
        exec: "/bin/true".into(),
        tasks_per_node: 1,
        total_tasks: 1,
        memory: 1 << 60, // never placed: only the store is measured
        ..JobSpec::default()
    };
    let t = Instant::now();
    for _ in 0..500 {
        match root.ok(&Request::Submit(spec.clone())).await {
            Ok(Reply::Submitted(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    put(
        "500 submissions acknowledged, one TLS connection, s",
        round2(t.elapsed().as_secs_f64()),
    );
    // Logged in one after another, before the clock starts: the manager counts login attempts
    // as they arrive (5 a minute for one user from one address, §3), so ten logins at once
    // are partly refused with 429 — by design, and not what this measures.
    let mut conns = Vec::new();
    for _ in 0..10 {
        conns.push(login_tls(&addr, &trust).await);
    }
    let t = Instant::now();
    let mut tasks = Vec::new();
    for mut c in conns {
        let s = spec.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                match c.ok(&Request::Submit(s.clone())).await {
                    Ok(Reply::Submitted(_)) => {}
                    other => panic!("{other:?}"),
                }
            }
        }));
    }
    // A submitter that failed fails the bench rather than shortening the figure.
    for t in tasks {
        t.await.expect("submitter");
    }
    put(
        "500 submissions acknowledged, 10 TLS connections x 50, s",
        round2(t.elapsed().as_secs_f64()),
    );

    // 10,000 idle TLS clients.
    let before = rss_mb(pid);
    let mut idle = Vec::new();
    for _ in 0..10_000 {
        let mut c = CmClient::connect_tls(&addr, &trust).await.expect("client");
        let _ = c.ok(&Request::Ping).await;
        idle.push(c);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_mb(pid);
    put(
        "manager rss MB with 10,000 idle TLS clients too",
        round2(after),
    );
    put(
        "rss MB added by 10,000 idle TLS clients",
        round2(after - before),
    );
    drop(idle);
    drop(agents);
    let _ = Item::TooLong;

    support::write_results(
        "cm.json",
        &serde_json::to_string_pretty(&serde_json::Value::Object(report)).unwrap_or_default(),
    );
}
