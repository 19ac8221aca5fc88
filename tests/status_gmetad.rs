//! `gantry status` against Debian's real gmetad 3.7.2 polling a real gmond: a summary-only
//! source (`/?filter=summary`) shows its cluster's host counts, and once the gmond dies — gmetad
//! then keeps answering, cleanly, with the cluster's last copy and its LOCALTIME frozen — status
//! says STALE and exits 1. gmetad binds every interface, so the test re-runs itself inside a
//! private network namespace (root and `unshare`); skipped, with the reason, elsewhere.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::gmond::{Gmond, gmond_binary};
use common::{Proc, free_port};

const NAME: &str = "status_tells_a_summary_only_gmetads_counts_and_its_frozen_cluster";

#[test]
fn status_tells_a_summary_only_gmetads_counts_and_its_frozen_cluster() {
    if !std::path::Path::new("/usr/sbin/gmetad").exists() || gmond_binary().is_none() {
        common::skip("gmetad or gmond is not installed (apt-get install gmetad ganglia-monitor)");
        return;
    }
    match common::netns::run_inside(NAME) {
        common::netns::NetNs::Inside => inside(),
        common::netns::NetNs::Done => {}
        // A kernel permission, not a package CI could install: a plain skip even under CI.
        common::netns::NetNs::Unavailable(why) => println!("SKIPPED: {why}"),
    }
}

/// One query on an interactive port.
fn ask(port: u16, query: &str) -> String {
    use std::io::{Read, Write};
    let mut answer = Vec::new();
    if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.write_all(format!("{query}\n").as_bytes());
        let _ = s.read_to_end(&mut answer);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// `gantry status --json` on one source: its exit code and the parsed answer.
fn status(dir: &std::path::Path, source: &str) -> (Option<i32>, serde_json::Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["status", "--json", "--source", source])
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .output()
        .expect("gantry status");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (o.status.code(), v, text)
}

fn cluster<'a>(v: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    v["sources"][0]["clusters"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

fn inside() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut collector = Gmond::collector("clusterA", "Gantry Tests").expect("gmond");
    let sender = Gmond::sender(&mut collector, "node02", "127.0.1.2").expect("sender");
    collector
        .wait_for(2, 1, Duration::from_secs(60))
        .expect("gmond serves two hosts");
    let (xml, interactive) = (free_port(), free_port());
    let rrds = dir.path().join("rrds");
    std::fs::create_dir_all(&rrds).expect("rrd dir");
    let conf = dir.path().join("gmetad.conf");
    std::fs::write(
        &conf,
        format!(
            "data_source \"clusterA\" 1 {}\ngridname \"G\"\nxml_port {xml}\n\
             interactive_port {interactive}\nsetuid off\nwrite_rrds off\nrrd_rootdir \"{}\"\n",
            collector.address(),
            rrds.display()
        ),
    )
    .expect("gmetad.conf");
    let _gmetad = Proc(
        Command::new("/usr/sbin/gmetad")
            .args(["-d", "1", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gmetad"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ask(interactive, "/clusterA?filter=summary").contains("<HOSTS UP=\"2\" DOWN=\"0\"") {
        assert!(
            Instant::now() < deadline,
            "gmetad never summarised clusterA"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // Summary only: no HOST elements, the counts from gmetad's HOSTS. Our step of 5 s makes
    // "stale" mean more than 10 s behind; gmetad polls every second.
    let summary = format!("g 5 interactive://127.0.0.1:{interactive}/?filter=summary");
    let (code, v, text) = status(dir.path(), &summary);
    let c = cluster(&v, "clusterA").unwrap_or_else(|| panic!("no clusterA: {text}"));
    assert_eq!(c["summary_only"], true, "{text}");
    assert_eq!(
        (&c["hosts"], &c["up"], &c["down"]),
        (&2.into(), &2.into(), &0.into()),
        "{text}"
    );
    assert_eq!(code, Some(0), "{text}");
    // The table says the same.
    let o = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["status", "--source", &summary])
        .env("GANTRY_CONFIG_DIR", dir.path())
        .env("GANTRY_STATE_DIR", dir.path())
        .output()
        .expect("gantry status");
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.trim_start().starts_with("clusterA"))
        .unwrap_or_else(|| panic!("no clusterA row: {table}"))
        .split_whitespace()
        .collect();
    assert!(row.ends_with(&["2", "2", "0"]), "{table}");

    // The gmond dies; gmetad keeps serving its last copy of clusterA, LOCALTIME frozen.
    drop(sender);
    drop(collector);
    let full = format!("g 5 xml://127.0.0.1:{xml}");
    let deadline = Instant::now() + Duration::from_secs(90);
    let (code, v, text) = loop {
        let r = status(dir.path(), &full);
        if r.0 != Some(0) {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "status never saw clusterA stale: {}",
            r.2
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(
        v["sources"][0]["health"], "ok",
        "gmetad itself answers: {text}"
    );
    let c = cluster(&v, "clusterA").unwrap_or_else(|| panic!("no clusterA: {text}"));
    assert!(
        c["stale"]
            .as_str()
            .is_some_and(|s| s.contains("behind its gmetad")),
        "{text}"
    );
    // The summary-only form of the same frozen cluster fails too.
    let (code, v, text) = status(dir.path(), &summary);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        cluster(&v, "clusterA").is_some_and(|c| c["stale"].is_string()),
        "{text}"
    );
}
