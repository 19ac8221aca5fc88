//! History through the real binary: `gantry aggregator` polls `gantry sim`, answers the history
//! extension, saves its history on SIGTERM, serves it again after a restart with the source
//! gone, and sets a damaged history file aside instead of failing.

mod common;

use common::free_port;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gantry::sim::{ClusterSpec, SimHandle, SimOptions};

struct Aggregator {
    child: Child,
    port: u16,
}

impl Aggregator {
    fn start(state: &Path, source: &str) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args([
                "aggregator",
                "--source",
                source,
                "--xml-listen",
                "off",
                "--interactive-listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("GANTRY_CONFIG_DIR", state)
            .env("GANTRY_STATE_DIR", state)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gantry aggregator starts");
        Self { child, port }
    }

    fn ask(&self, query: &str) -> Option<serde_json::Value> {
        let mut c = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        c.write_all(format!("{query}\n").as_bytes()).ok()?;
        let mut out = String::new();
        c.read_to_string(&mut out).ok()?;
        // The extension answers with HTTP headers even to a bare path.
        let body = out.split_once("\r\n\r\n").map_or(out.as_str(), |(_, b)| b);
        serde_json::from_str(body).ok()
    }

    /// Asks until `ok` holds (or 60 s pass), returning the last answer.
    fn ask_until(&self, query: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(v) = self.ask(query)
                && (ok(&v) || Instant::now() > deadline)
            {
                return v;
            }
            assert!(Instant::now() < deadline, "no answer to {query}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, then wait; returns what it wrote to stderr.
    fn stop(mut self) -> String {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("gantry aggregator ignored SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Aggregator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn filled(v: &serde_json::Value) -> usize {
    v.get("points")
        .or_else(|| v.get("sum"))
        .and_then(|p| p.as_array())
        .map_or(0, |p| p.iter().filter(|p| !p[1].is_null()).count())
}

#[tokio::test(flavor = "multi_thread")]
async fn history_survives_a_restart_and_a_damaged_file_is_set_aside() {
    let sim = SimHandle::start(
        vec![ClusterSpec {
            name: "alpha".into(),
            hosts: 12,
            down: 0,
            port: 0,
        }],
        SimOptions::default(),
    )
    .await
    .expect("sim starts");
    let source = format!("alpha 1 {}", sim.addr("alpha").unwrap());
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("history.bin");

    let agg = Aggregator::start(state.path(), &source);
    let summary = "/alpha?history=hour&metric=load_one";
    let v = agg.ask_until(summary, |v| filled(v) > 0);
    assert_eq!(v["metric"], "load_one", "{v}");
    assert!(filled(&v) > 0, "{v}");
    assert_eq!(v["sum"].as_array().unwrap().len(), 60);
    let host = "/alpha/alpha-node0001/cpu_num?history=day";
    let hv = agg.ask_until(host, |v| filled(v) > 0);
    assert!(filled(&hv) > 0, "{hv}");
    let err = agg.stop();
    assert!(file.exists(), "history saved on SIGTERM; stderr: {err}");

    // The source is gone now: whatever the restarted aggregator knows came from the file.
    drop(sim);
    let agg = Aggregator::start(state.path(), &source);
    let v = agg.ask_until(summary, |v| filled(v) > 0);
    assert!(filled(&v) > 0, "history reloaded: {v}");
    let hv = agg.ask_until(host, |v| filled(v) > 0);
    assert!(filled(&hv) > 0, "{hv}");
    agg.stop();

    // `gantry graph` draws from the same file: a host's graphs as SVG (and PNG with a font).
    let out = tempfile::tempdir().unwrap();
    let graph = |what: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .arg("graph")
            .args(what)
            .arg("--out")
            .arg(out.path())
            .arg("--history")
            .arg(&file)
            .env("GANTRY_CONFIG_DIR", state.path())
            .env("GANTRY_STATE_DIR", state.path())
            .output()
            .unwrap()
    };
    let o = graph(&[
        "--cluster",
        "alpha",
        "--host",
        "alpha-node0001",
        "--range",
        "hour",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svgs: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    assert!(!svgs.is_empty(), "no SVG written");
    let svg = std::fs::read_to_string(out.path().join(&svgs[0])).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("alpha-node0001"),
        "{svgs:?}"
    );
    let o = graph(&["--cluster", "nowhere"]);
    assert!(!o.status.success(), "an unknown cluster is an error");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nowhere"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A damaged file is reported, moved aside, and the aggregator runs on.
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    let agg = Aggregator::start(state.path(), &source);
    let answer = agg.ask_until(summary, |v| v.get("error").is_some());
    assert!(
        answer["error"].as_str().unwrap().contains("no history"),
        "{answer}"
    );
    let err = agg.stop();
    assert!(err.contains("damaged history file"), "{err}");
    assert!(err.contains("checksum"), "{err}");
    let aside = std::fs::read_dir(state.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("history.bin.damaged-")
        });
    assert!(aside, "damaged file kept aside");
}
