//! The syslog receiver against a hostile sender: at most 64 TCP connections are held from one
//! address (more are closed at once and counted as refused), so a sender that opens hundreds
//! and says nothing locks nobody else out. A sender from another address gets in and is heard,
//! and once the hostile one lets go, its address may connect again.

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
