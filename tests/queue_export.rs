//! Workload history out of the real backends: `gantry export swf` from a running `gantry cm`'s
//! store (read beside the manager) and from a real Slurm's accounting, read back by an
//! independent SWF reader from PyPI (accasim's parser, line by line) that must find every
//! job with its fields; the same records as CSV and JSON; evalys reads the header.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::pair::{Pair, jobs, login, until};
use gantry::cm::proto::{Reply, Request};
use serde_json::Value;

/// accasim predates Python 3.10, where `collections.Mapping` moved to `collections.abc`.
const SHIM: &str =
    "import collections, collections.abc\ncollections.Mapping = collections.abc.Mapping";

/// A Python with accasim (and evalys), else why not.
fn python() -> Option<String> {
    let py = std::env::var("GANTRY_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args([
            "-c",
            &format!("{SHIM}\nimport accasim.utils.reader_class, evalys.workload"),
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(py)
    } else {
        common::skip("no Python with accasim and evalys (set GANTRY_PYTHON; CI installs them)");
        None
    }
}

/// Every job accasim's SWF parser finds, as its fields; and evalys's header.
fn read_back(py: &str, swf: &Path) -> (Vec<Value>, Value) {
    let script = format!(
        "{SHIM}\n{}",
        r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
from accasim.utils.reader_class import DefaultWorkloadParser
from evalys.workload import Workload
p = DefaultWorkloadParser()
jobs = [d for d in (p.parse_line(l) for l in open(sys.argv[1])) if d]
w = Workload.from_csv(sys.argv[1])
head = {k: str(getattr(w, k)) for k in ("UnixStartTime", "MaxJobs", "MaxRecords", "Version", "Computer") if hasattr(w, k)}
print(json.dumps({"jobs": jobs, "header": head}))
"#
    );
    let o = Command::new(py)
        .arg("-c")
        .arg(&script)
        .arg(swf)
        .output()
        .expect("python runs");
    assert!(
        o.status.success(),
        "the readers failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    (
        v["jobs"].as_array().cloned().unwrap_or_default(),
        v["header"].clone(),
    )
}

/// `gantry export ARGS` with config and state in `dir`, as it ran.
fn run_export(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .arg("export")
        .args(args)
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .output()
        .expect("gantry export runs")
}

/// `gantry export ARGS` given `password` on standard input: what it printed, once it succeeded.
fn export_logged_in(dir: &Path, args: &[&str], password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .arg("export")
        .args(args)
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("gantry export runs");
    if let Some(mut i) = child.stdin.take() {
        writeln!(i, "{password}").expect("the password");
    }
    let o = child.wait_with_output().expect("gantry export ends");
    assert!(
        o.status.success(),
        "gantry export {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `gantry export ARGS`, which must succeed: what it printed.
fn export(dir: &Path, args: &[&str]) -> String {
    let o = run_export(dir, args);
    assert!(
        o.status.success(),
        "gantry export {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_manager_exports_over_its_protocol_and_a_stopped_ones_store_whole() {
    let Some(py) = python() else {
        return;
    };
    let p = Pair::start(&["n1", "n2"]);
    let mut alice = until(&p, "alice logged in", 60, async || {
        login(&p.a.plain, "alice").await
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let mut spec = p.job(1);
        spec.name = format!("sim{}", i % 2);
        if i == 5 {
            spec.args = vec!["-c".into(), "exit 3".into()];
        }
        match alice.call(&Request::Submit(spec)).await {
            Ok(Reply::Submitted(id)) => ids.push(id),
            r => panic!("{r:?}"),
        }
    }
    until(&p, "every job ended", 90, async || {
        let j = jobs(&p.a.plain).await?;
        ids.iter()
            .all(|id| j.get(id).is_some_and(|s| s == "done" || s == "failed"))
            .then_some(())
    })
    .await;
    let out = tempfile::tempdir().unwrap();
    let swf = out.path().join("alpha.swf");
    let store = p.a.dir.path().join("cm");
    let store = store.to_str().unwrap();
    // A running manager keeps its store to itself: the export says so, and writes nothing.
    let o = run_export(
        out.path(),
        &["swf", "--store", store, "-o", swf.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("running on this store"),
        "{err}"
    );
    assert!(!swf.exists());
    // Asked over its protocol instead, the running manager gives every finished job to an
    // administrator; a wrong password gets nothing.
    let live = export_logged_in(
        out.path(),
        &["json", "--cm", &p.a.plain, "--user", "root"],
        "rootpw",
    );
    let live: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(live["jobs"].as_array().map(Vec::len), Some(6), "{live}");
    let o = run_export(out.path(), &["json", "--cm", &p.a.plain, "--user", "root"]);
    assert!(!o.status.success(), "no password, no history");
    // Stopped, its store exports whole.
    let mut p = p;
    p.b.kill();
    p.a.kill();
    export(
        out.path(),
        &[
            "swf",
            "--store",
            store,
            "--cluster",
            "alpha",
            "-o",
            swf.to_str().unwrap(),
        ],
    );
    let (found, header) = read_back(&py, &swf);
    assert_eq!(found.len(), 6, "every job: {found:?}");
    assert_eq!(header["MaxJobs"], "6", "{header}");
    assert_eq!(header["Version"], "2.2", "{header}");
    for (k, j) in found.iter().enumerate() {
        assert_eq!(j["job_number"], k as i64 + 1, "{j}");
        assert!(j["wait_time"].as_i64() >= Some(0), "{j}");
        assert!(j["duration"].as_i64() >= Some(0), "{j}");
        assert_eq!(j["total_processors"], 1, "{j}");
        assert_eq!(j["user_id"], 1, "alice is the first user: {j}");
    }
    let statuses: Vec<i64> = found.iter().filter_map(|j| j["status"].as_i64()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 1).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 0).count(),
        1,
        "{statuses:?}"
    );
    // The same records as CSV and JSON.
    let csv = export(out.path(), &["csv", "--store", store]);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("job_number,submit_time,wait_time")
    );
    assert_eq!(lines.count(), 6);
    let json: Value =
        serde_json::from_str(&export(out.path(), &["json", "--store", store])).unwrap();
    assert_eq!(json["jobs"].as_array().map(Vec::len), Some(6));
    assert_eq!(json["version"], "2.2");
    // The running manager's answer held the same records as its store.
    assert_eq!(json["jobs"], live["jobs"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn slurm_accounting_exports_as_swf_that_readers_read_whole() {
    let Some(py) = python() else {
        return;
    };
    if let Some(why) = common::slurm::skip_reason() {
        common::skip(&why);
        return;
    }
    let cluster = common::slurm::SlurmCluster::start(2).expect("a test cluster");
    let runner = gantry::slurm::link::Runner::new(Some(cluster.conf_str()), None);
    let mut ids = Vec::new();
    for i in 0..5 {
        let wrap = if i == 4 { "exit 2" } else { "sleep 1" };
        ids.push(
            common::slurm_link::sbatch(
                &runner,
                &[
                    "-n",
                    "1",
                    "-J",
                    &format!("job{i}"),
                    "-o",
                    "/dev/null",
                    "--wrap",
                    wrap,
                ],
            )
            .await,
        );
    }
    let cancelled = common::slurm_link::sbatch(
        &runner,
        &[
            "-n",
            "1",
            "--begin",
            "now+1hour",
            "-o",
            "/dev/null",
            "--wrap",
            "true",
        ],
    )
    .await;
    let _ = Command::new("scancel")
        .arg(cancelled.to_string())
        .env("SLURM_CONF", cluster.conf_str())
        .status();
    let out = tempfile::tempdir().unwrap();
    let swf = out.path().join("slurm.swf");
    let conf = cluster.conf_str();
    // The completion log has the jobs once they ended.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let found = loop {
        export(
            out.path(),
            &[
                "swf",
                "--slurm",
                "--slurm-conf",
                &conf,
                "-o",
                swf.to_str().unwrap(),
            ],
        );
        let (found, _) = read_back(&py, &swf);
        if found.len() >= 6 || std::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(found.len(), 6, "five run, one cancelled: {found:?}");
    let statuses: Vec<i64> = found.iter().filter_map(|j| j["status"].as_i64()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 1).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 0).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 5).count(),
        1,
        "{statuses:?}"
    );
}
