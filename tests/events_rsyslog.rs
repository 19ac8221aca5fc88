//! A real rsyslog (Debian's) started by the test with its own configuration on loopback: it
//! reads `logger` messages from a socket of its own and forwards them to Gantry's receiver, one
//! kind over UDP, one over TCP with octet-counted framing (RFC 6587), and one over TLS
//! (RFC 5425, rsyslog's gtls driver checking Gantry's certificate against the cluster CA). The messages arrive
//! grouped by template, with the host rsyslog names; a line that is not syslog is kept raw.

mod common;

use std::time::Duration;

use common::rsyslog::{self, Rsyslog};

use gantry::events::receiver::{Receiver, ReceiverConfig};

#[tokio::test(flavor = "multi_thread")]
async fn rsyslog_forwards_over_udp_and_tcp_and_messages_group_by_template() {
    if !rsyslog::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The cluster's certificates, as `gantry cm tls init` makes them.
    let tls_dir = dir.path().join("tls");
    gantry::cm::tls::init(&tls_dir, &["127.0.0.1".to_string()]).expect("a CA");
    let server = gantry::cm::tls::syslog_server_config(&tls_dir).expect("the server side");
    let gtls = ["x86_64-linux-gnu", "aarch64-linux-gnu"]
        .iter()
        .any(|a| std::path::Path::new(&format!("/usr/lib/{a}/rsyslog/lmnsd_gtls.so")).exists());
    if !gtls {
        common::skip("rsyslog's TLS driver is not installed (apt-get install rsyslog-gnutls)");
        return;
    }
    let rx = Receiver::start(ReceiverConfig {
        udp: Some("127.0.0.1:0".parse().unwrap()),
        tcp: Some("127.0.0.1:0".parse().unwrap()),
        tls: Some(("127.0.0.1:0".parse().unwrap(), server)),
        ..ReceiverConfig::default()
    })
    .await
    .expect("the receiver binds");
    let (udp, tcp, tls) = (rx.udp.unwrap(), rx.tcp.unwrap(), rx.tls.unwrap());
    let rules = format!(
        r#"if $msg contains "via-udp" then action(type="omfwd" target="127.0.0.1" port="{up}" protocol="udp")
if $msg contains "via-tcp" then action(type="omfwd" target="127.0.0.1" port="{tp}" protocol="tcp" TCP_Framing="octet-counted")
if $msg contains "via-tls" then action(type="omfwd" target="127.0.0.1" port="{lp}" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/certvalid")"#,
        lp = tls.port(),
        up = udp.port(),
        tp = tcp.port(),
    );
    let ca = format!(
        "DefaultNetstreamDriverCAFile=\"{}\"",
        tls_dir.join("ca.crt").display()
    );
    let rsyslog = Rsyslog::start(dir.path(), &ca, &rules);
    let logger = |tag: &str, text: &str| rsyslog.logger(tag, "auth.notice", text);
    for i in 1..=5 {
        logger(
            "sshd",
            &format!("via-udp Accepted password for user{i} from 10.0.0.{i} port 22{i} ssh2"),
        );
        logger(
            "kernel",
            &format!("via-tcp EDAC MC0: {i} CE memory read error on CPU_SrcID#0_Ha#0_Chan#{i}"),
        );
        logger(
            "slurmd",
            &format!("via-tls launch task {i}.0 request from UID:100{i} GID:100{i}"),
        );
    }
    // A line that is not syslog, straight to the UDP port: kept, as a raw message.
    let raw = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    raw.send_to(b"\x01\x02 not syslog at all", udp).unwrap();

    let mut snaps = rx.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let snap = loop {
        let s = snaps.borrow_and_update().clone();
        let count = |needle: &str| {
            s.templates
                .values()
                .filter(|t| t.text.contains(needle))
                .map(|t| t.count)
                .sum::<u64>()
        };
        if count("via-udp") == 5
            && count("via-tcp") == 5
            && count("via-tls") == 5
            && s.counters.raw >= 1
        {
            break s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all arrived: {:?}\nrsyslogd said: {}",
            s.templates
                .values()
                .map(|t| (&t.text, t.count))
                .collect::<Vec<_>>(),
            rsyslog.own_log()
        );
        let _ = tokio::time::timeout(Duration::from_secs(2), snaps.changed()).await;
    };
    let find = |needle: &str| {
        snap.templates
            .values()
            .find(|t| t.text.contains(needle))
            .expect("a template")
            .clone()
    };
    let ssh = find("via-udp");
    assert_eq!(ssh.count, 5, "one template for the five: {}", ssh.text);
    assert_eq!(
        ssh.text,
        "via-udp Accepted password for user<*> from <*> port <*> ssh<*>"
    );
    assert_eq!(ssh.severity, Some(5), "auth.notice");
    let edac = find("via-tcp");
    assert_eq!(edac.count, 5, "{}", edac.text);
    assert_eq!(edac.samples.back().map(|s| s.app.as_str()), Some("kernel"));
    // rsyslog names this machine as the messages' host.
    let me = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let short = me.split('.').next().unwrap_or(&me).to_string();
    assert!(
        ssh.hosts.keys().any(|h| h == &me || h == &short),
        "{:?} vs {me}",
        ssh.hosts
    );
    let slurm = find("via-tls");
    assert_eq!(slurm.count, 5, "{}", slurm.text);
    assert_eq!(snap.counters.queue_full, 0);
}
