//! Receiving syslog over UDP on loopback. Run with:
//!
//!     cargo bench --bench syslog_udp
//!
//! A sender thread sends 1,000,000 RFC 3164 messages (six kinds, numbers varying) to Gantry's
//! receiver paced at 100,000 a second, then as fast as it can; the receiver parses each one,
//! learns its template and counts it. Loss is what the receiver did not count. Results also
//! land in target/bench/syslog_udp.json.

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use gantry::events::receiver::{Receiver, ReceiverConfig};

const KINDS: [&str; 6] = [
    "sshd[{p}]: Accepted password for user{a} from 10.0.{a}.{b} port {p} ssh2",
    "kernel: EDAC MC0: {a} CE memory read error on CPU_SrcID#0_Ha#0_Chan#{b}",
    "slurmd[{p}]: launch task {a}.{b} request from UID:{p} GID:{p} HOST:10.1.{a}.{b} PORT:{p}",
    "kernel: nfs: server storage{b} not responding, still trying",
    "systemd[1]: Started Session {a} of user user{b}.",
    "gmond[{p}]: Error creating multicast server mcast_join=239.2.11.{b} port={p}",
];

fn message(i: usize) -> Vec<u8> {
    let (a, b, p) = (i % 251, i % 17, 1000 + i % 30_000);
    let body = KINDS[i % KINDS.len()]
        .replace("{a}", &a.to_string())
        .replace("{b}", &b.to_string())
        .replace("{p}", &p.to_string());
    format!("<38>Dec  3 02:00:00 node{:04} {body}", i % 1000).into_bytes()
}

/// Sends `n` messages at `rate` a second (0: unpaced); returns the seconds it took.
fn send(to: std::net::SocketAddr, n: usize, rate: usize) -> f64 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let msgs: Vec<Vec<u8>> = (0..1000).map(message).collect();
    let t = Instant::now();
    let batch = 1000;
    for k in 0..n / batch {
        for m in &msgs {
            let _ = s.send_to(m, to);
        }
        if rate > 0 {
            let due = Duration::from_secs_f64(((k + 1) * batch) as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(t.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    t.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rx = rt
        .block_on(Receiver::start(ReceiverConfig {
            udp: Some("127.0.0.1:0".parse().expect("address")),
            ..ReceiverConfig::default()
        }))
        .expect("receiver");
    let to = rx.udp.expect("bound");
    let snaps = rx.subscribe();
    let counted = || {
        let s = snaps.borrow().clone();
        (s.counters.messages, s.counters.queue_full)
    };
    let settle = |before: u64| {
        // Until the count stops moving for two snapshots.
        let mut last = before;
        loop {
            std::thread::sleep(Duration::from_millis(2500));
            let (now, _) = counted();
            if now == last {
                return now;
            }
            last = now;
        }
    };
    let n = 1_000_000;
    let mut rows = Vec::new();
    for (label, rate) in [("paced at 100,000/s", 100_000), ("unpaced", 0)] {
        let (before, q0) = counted();
        let took = send(to, n, rate);
        let after = settle(before);
        let (_, q1) = counted();
        let got = after - before;
        let loss = 1.0 - got as f64 / n as f64;
        println!(
            "{label}: sent {n} in {took:.2} s ({:.0}/s); received {got}, loss {:.3} %, queue full {}",
            n as f64 / took,
            loss * 100.0,
            q1 - q0
        );
        rows.push(serde_json::json!({
            "mode": label, "sent": n, "seconds": took, "received": got, "loss": loss,
            "queue_full": q1 - q0,
        }));
    }
    let s = snaps.borrow().clone();
    println!("templates learned: {}", s.templates.len());
    let v = serde_json::json!({"runs": rows, "templates": s.templates.len()});
    support::write_results("syslog_udp.json", &format!("{v:#}\n"));
}
