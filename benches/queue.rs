//! Queue pressure and workload export. Run with:
//!
//!     cargo bench --bench queue
//!
//! The pressure of a queue of 10,000 pending jobs (and 2,000 running on 1,000 nodes), with the
//! elastic rule's idle tracking; and `gantry export`'s writers on 1,000,000 finished jobs:
//! SWF, CSV and JSON into files, numbering included. Best of five (pressure) or three
//! (export) runs. Results also land in target/bench/queue.json.

mod support;

use support::best_of;

use gantry::queue::workload::{FinishedJob, Status, Workload};
use gantry::queue::{Power, QueueJob, QueueNode, Rule, Tracker};

fn main() {
    let now = 1_800_000_000u64;
    let mut jobs: Vec<QueueJob> = (0..10_000u64)
        .map(|i| QueueJob {
            pending: true,
            running: false,
            submit: now - (i * 7) % 7200,
            end: None,
            cpus: 1 + (i % 16) as u32,
            nodes: 1 + (i % 4) as u32,
            runnable: i % 10 != 0,
        })
        .collect();
    jobs.extend((0..2_000u64).map(|i| QueueJob {
        pending: false,
        running: true,
        submit: now - 10_000 - i,
        end: None,
        cpus: 8,
        nodes: 1,
        runnable: true,
    }));
    let nodes: Vec<QueueNode> = (0..1_000)
        .map(|i| QueueNode {
            name: format!("node{i:04}"),
            cpus: 32,
            alloc: if i % 3 == 0 { 0 } else { 16 },
            usable: i % 50 != 0,
            power: if i % 100 == 0 { Power::Off } else { Power::On },
        })
        .collect();
    let rule = Rule::default();
    let mut tracker = Tracker::default();
    let mut t = now;
    let (pressure_s, p) = best_of(5, || {
        t += rule.every;
        tracker.observe(&jobs, &nodes, &rule, t).expect("due")
    });
    println!(
        "pressure of {} pending, {} running on {} nodes: {:.2} ms (needs {} nodes, p90 wait {} s)",
        p.pending,
        p.running,
        nodes.len(),
        pressure_s * 1e3,
        p.needs_nodes,
        p.wait_p90
    );

    let n = 1_000_000u64;
    let finished: Vec<FinishedJob> = (0..n)
        .map(|i| FinishedJob {
            id: i,
            submit: now - 30 * 86_400 + i * 2,
            start: Some(now - 30 * 86_400 + i * 2 + (i % 600)),
            end: now - 30 * 86_400 + i * 2 + (i % 600) + 60 + (i % 3600),
            procs: 1 + (i % 64) as u32,
            procs_req: 1 + (i % 64) as u32,
            time_req: Some(7200),
            mem_req_kb: None,
            status: if i % 20 == 0 {
                Status::Failed
            } else {
                Status::Completed
            },
            user: format!("user{}", i % 500),
            group: format!("group{}", i % 40),
            program: format!("app{}", i % 2000),
            queue: ["debug", "batch", "long"][(i % 3) as usize].to_string(),
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rows = Vec::new();
    for (name, ext) in [("swf", "swf"), ("csv", "csv"), ("json", "json")] {
        let path = dir.path().join(format!("jobs.{ext}"));
        let (s, bytes) = best_of(3, || {
            let w = Workload::new(finished.clone(), "bench", "benchmark");
            let f = std::fs::File::create(&path).expect("file");
            let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
            match name {
                "swf" => w.write_swf(&mut out),
                "csv" => w.write_csv(&mut out),
                _ => w.write_json(&mut out),
            }
            .expect("written");
            drop(out);
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        });
        println!(
            "export {name}: {n} jobs in {s:.2} s ({:.0} MB)",
            bytes as f64 / 1e6
        );
        rows.push(serde_json::json!({"format": name, "seconds": s, "bytes": bytes}));
    }
    let v = serde_json::json!({
        "pressure_ms": pressure_s * 1e3, "pending": p.pending,
        "export": rows, "jobs": n,
    });
    support::write_results("queue.json", &format!("{v:#}\n"));
}
