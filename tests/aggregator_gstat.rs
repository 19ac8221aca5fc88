//! Debian's real `gstat` (from ganglia-monitor) pointed at `gantry aggregator`'s xml port reads
//! the cluster as it reads a gmond: hosts, CPUs, loads. Skipped, with the reason, without gstat.

mod common;

use common::{Proc, free_port};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gantry::sim::{ClusterSpec, SimHandle, SimOptions};

#[tokio::test(flavor = "multi_thread")]
async fn real_gstat_reads_the_aggregators_xml_port() {
    if !std::path::Path::new("/usr/bin/gstat").exists() {
        common::skip("gstat is not installed (apt-get install ganglia-monitor)");
        return;
    }
    let sim = SimHandle::start(
        vec![ClusterSpec {
            name: "alpha".into(),
            hosts: 12,
            down: 2,
            port: 0,
        }],
        SimOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _agg = Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args([
                "aggregator",
                "--no-history",
                "--source",
                &format!("alpha {}", sim.addr("alpha").unwrap()),
                "--xml-listen",
                &format!("127.0.0.1:{port}"),
                "--interactive-listen",
                "off",
            ])
            .env("GANTRY_CONFIG_DIR", dir.path())
            .env("GANTRY_STATE_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = loop {
        let o = tokio::process::Command::new("/usr/bin/gstat")
            .args(["-a", "-1", "-i", "127.0.0.1", "-p", &port.to_string()])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        if text.contains("Dead Hosts: 2") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "gstat never saw the cluster: {text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(out.contains("Name: alpha"), "{out}");
    assert!(out.contains("      Hosts: 10"), "live hosts: {out}");
    // One line per live host, with its CPUs and loads in the right columns.
    let hosts = out.lines().filter(|l| l.starts_with("alpha-node")).count();
    assert_eq!(hosts, 10, "{out}");
}
