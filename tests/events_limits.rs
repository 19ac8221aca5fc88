//! The syslog receiver against a hostile sender: at most 64 TCP connections are held from one
//! address (more are closed at once and counted as refused), so a sender that opens hundreds
//! and says nothing locks nobody else out. A sender from another address gets in and is heard,
//! and once the hostile one lets go, its address may connect again. A sender silent past the
//! idle close is let go; one that keeps talking is kept.

use std::net::SocketAddr;
use std::time::Duration;

use gantry::events::receiver::{EventsSnapshot, Receiver, ReceiverConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

async fn until(
    rx: &mut tokio::sync::watch::Receiver<std::sync::Arc<EventsSnapshot>>,
    what: &str,
    ok: impl Fn(&EventsSnapshot) -> bool,
) {
    let wait = async {
        while !ok(&rx.borrow_and_update()) {
            if rx.changed().await.is_err() {
                return;
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .is_err()
    {
        panic!(
            "{what}: not within 20 s; counters {:?}",
            rx.borrow().counters
        );
    }
}

async fn from(ip: [u8; 4], to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().expect("socket");
    s.bind(SocketAddr::from((ip, 0))).expect("bind");
    s.connect(to).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_holding_many_silent_connections_locks_nobody_else_out() {
    let r = Receiver::start(ReceiverConfig {
        tcp: Some("127.0.0.1:0".parse().expect("addr")),
        ..Default::default()
    })
    .await
    .expect("the receiver starts");
    let to = r.tcp.expect("listening on TCP");
    let mut rx = r.subscribe();
    let mut held = Vec::new();
    for _ in 0..200 {
        held.push(from([127, 0, 0, 1], to).await);
    }
    until(&mut rx, "136 refused", |s| s.counters.refused == 136).await;
    let mut other = from([127, 0, 0, 2], to).await;
    other
        .write_all(b"<13>Dec  3 07:00:00 n9 app: heard from another address\n")
        .await
        .expect("sent");
    until(&mut rx, "the other sender heard", |s| {
        s.counters.messages == 1
    })
    .await;
    // The hostile sender lets go: its address is served again.
    held.clear();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut again = from([127, 0, 0, 1], to).await;
    again
        .write_all(b"<13>Dec  3 07:00:01 n1 app: heard again\n")
        .await
        .expect("sent");
    until(&mut rx, "its address heard again", |s| {
        s.counters.messages == 2
    })
    .await;
    assert_eq!(rx.borrow().counters.refused, 136);
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_sender_is_let_go_at_the_idle_close_and_a_talking_one_is_kept() {
    use tokio::io::AsyncReadExt;
    let r = Receiver::start(ReceiverConfig {
        tcp: Some("127.0.0.1:0".parse().expect("addr")),
        idle: Duration::from_secs(3),
        ..Default::default()
    })
    .await
    .expect("the receiver starts");
    let to = r.tcp.expect("listening on TCP");
    let mut rx = r.subscribe();
    let mut silent = from([127, 0, 0, 1], to).await;
    silent
        .write_all(b"<13>Dec  3 07:00:00 n1 app: then nothing more\n")
        .await
        .expect("sent");
    let mut talking = from([127, 0, 0, 1], to).await;
    // The silent one is closed by the receiver (its read ends), while the other, sending
    // every half second, outlives it.
    let mut b = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        let mut sent = 0u32;
        loop {
            tokio::select! {
                n = silent.read(&mut b) => return (n.map_or(0, |n| n), sent),
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    talking
                        .write_all(format!("<13>Dec  3 07:00:01 n2 app: still here {sent}\n").as_bytes())
                        .await
                        .expect("the talking sender is kept");
                    sent += 1;
                }
            }
        }
    })
    .await;
    let (n, sent) = closed.expect("a silent sender is still held after 30 s");
    assert_eq!(n, 0, "the receiver closes, it sends nothing");
    until(&mut rx, "every message heard", |s| {
        s.counters.messages == u64::from(sent) + 1
    })
    .await;
    // Still kept after the silent one went: one more message is heard.
    talking
        .write_all(b"<13>Dec  3 07:00:02 n2 app: still here at the end\n")
        .await
        .expect("sent");
    until(&mut rx, "the last message heard", |s| {
        s.counters.messages == u64::from(sent) + 2
    })
    .await;
    r.shutdown().await;
}
