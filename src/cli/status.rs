//! `gantry status` (alias `hosts`): polls every configured source once and prints the grid —
//! per-source status, down hosts and the most loaded hosts — as a table or JSON. Exit status:
//! 0 when every source answered cleanly with fresh data, 1 when any is degraded or dead or any
//! cluster's data is stale (frozen behind its gmetad, say).

use std::io::Write;

use serde_json::json;

use crate::aggregator::{ClusterView, Health, Snapshot};
use crate::units::{human_bytes, human_secs};

/// Options of `gantry status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How many of the most loaded hosts to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Poll this source instead of the configured ones, written like gmetad's data_source:
    /// "NAME [STEP] ADDRESS…" (repeatable). ADDRESS is host[:port] for a gmond, or
    /// xml://, interactive://host:port/path, http://host:port/path for a gmetad.
    #[arg(long = "source", value_name = "SOURCE")]
    pub sources: Vec<String>,
}

/// A host worth naming.
struct HostLine {
    cluster: String,
    host: String,
    /// Load per CPU (1.0 = 100 %).
    load: f64,
    load_one: Option<f64>,
    cpus: Option<f64>,
    silent: u64,
}

fn down_hosts(snap: &Snapshot, now: u64) -> Vec<HostLine> {
    let mut out = Vec::new();
    for cv in snap.clusters() {
        let age = cv.age(now);
        for h in &cv.cluster.hosts {
            if !cv.host_is_up(h, now) {
                out.push(HostLine {
                    cluster: cv.cluster.name.to_string(),
                    host: h.name.to_string(),
                    load: 0.0,
                    load_one: None,
                    cpus: None,
                    silent: u64::from(h.tn) + age,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.cluster, &a.host).cmp(&(&b.cluster, &b.host)));
    out
}

fn top_hosts(snap: &Snapshot, now: u64, n: usize) -> Vec<HostLine> {
    let mut out: Vec<HostLine> = snap
        .clusters()
        .flat_map(|cv: &ClusterView| {
            cv.cluster
                .hosts
                .iter()
                .filter(move |h| cv.host_is_up(h, now))
                .map(move |h| HostLine {
                    cluster: cv.cluster.name.to_string(),
                    host: h.name.to_string(),
                    load: h.load_fraction(),
                    load_one: h.value("load_one"),
                    cpus: h.value("cpu_num"),
                    silent: u64::from(h.tn) + cv.age(now),
                })
        })
        .collect();
    out.sort_by(|a, b| b.load.total_cmp(&a.load).then_with(|| a.host.cmp(&b.host)));
    out.truncate(n);
    out
}

/// Whether every source answered cleanly and no cluster's data is stale at `now`: a gmetad
/// answers cleanly while it serves a dead gmond's last data, so health alone would say "ok".
pub fn all_ok(snap: &Snapshot, now: u64) -> bool {
    snap.sources.iter().all(|s| s.status.health == Health::Ok)
        && snap.clusters().all(|c| c.staleness(now).is_none())
}

/// Writes the JSON form.
pub fn write_json(
    snap: &Snapshot,
    now: u64,
    top: usize,
    managers: &[super::status_managers::ManagerLine],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let sources: Vec<_> = snap
        .sources
        .iter()
        .map(|s| {
            let clusters: Vec<_> = s
                .clusters
                .iter()
                .map(|c| {
                    let (up, down) = c.hosts_up_down(now);
                    json!({
                        "name": &*c.cluster.name,
                        "hosts": c.host_count(now),
                        "summary_only": c.summary_only(),
                        "up": up,
                        "down": down,
                        "age_secs": c.age(now),
                        "stale": c.staleness(now).map(|s| s.to_string()),
                        "load": c.summary().load_fraction(),
                    })
                })
                .collect();
            json!({
                "name": &*s.name,
                "health": s.status.health,
                "error": s.status.last_error,
                "address": s.status.active_address,
                "latency_ms": s.status.latency.as_millis() as u64,
                "bytes": s.status.wire_bytes,
                "clusters": clusters,
                "remote_grids": s.remote_grids.iter().map(|g| json!({
                    "name": &*g.name,
                    "up": g.summary.as_ref().map_or(0, |x| x.hosts_up),
                    "down": g.summary.as_ref().map_or(0, |x| x.hosts_down),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let line = |h: &HostLine| {
        json!({
            "cluster": h.cluster, "host": h.host,
            "load_pct": (h.load * 1000.0).round() / 10.0,
            "load_one": h.load_one, "cpu_num": h.cpus,
            "last_heard_secs": h.silent,
        })
    };
    let v = json!({
        "grid": &*snap.grid_name,
        "time": now,
        "hosts": { "up": snap.summary.hosts_up, "down": snap.summary.hosts_down },
        "sources": sources,
        "down_hosts": down_hosts(snap, now).iter().map(line).collect::<Vec<_>>(),
        "top_hosts": top_hosts(snap, now, top).iter().map(line).collect::<Vec<_>>(),
        "managers": super::status_managers::to_json(managers),
        "bmcs": super::status_bmcs::to_json(snap),
    });
    serde_json::to_writer_pretty(&mut *out, &v)?;
    writeln!(out)
}

/// Writes the table form.
pub fn write_table(
    snap: &Snapshot,
    now: u64,
    top: usize,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let s = &snap.summary;
    let load = s
        .load_fraction()
        .map_or_else(|| "n/a".to_string(), |l| format!("{:.0}%", l * 100.0));
    writeln!(
        out,
        "Grid {} — {} source(s), {} hosts up, {} down, load {load}",
        snap.grid_name,
        snap.sources.len(),
        s.hosts_up,
        s.hosts_down
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<16} {:<9} {:<26} {:>6} {:>6} {:>5} {:>8} {:>9}  PROBLEM",
        "SOURCE/CLUSTER", "HEALTH", "ADDRESS", "HOSTS", "UP", "DOWN", "LATENCY", "BYTES"
    )?;
    for src in &snap.sources {
        let st = &src.status;
        writeln!(
            out,
            "{:<16} {:<9} {:<26} {:>6} {:>6} {:>5} {:>8} {:>9}  {}",
            src.name,
            st.health.to_string(),
            st.active_address.as_deref().unwrap_or("-"),
            "",
            src.summary.hosts_up,
            src.summary.hosts_down,
            format!("{} ms", st.latency.as_millis()),
            human_bytes(st.wire_bytes),
            st.last_error.as_deref().unwrap_or("")
        )?;
        for c in &src.clusters {
            let (up, down) = c.hosts_up_down(now);
            let stale = c
                .staleness(now)
                .map(|s| format!("STALE: {s}"))
                .unwrap_or_default();
            let age = format!("data age {}", human_secs(c.age(now)));
            writeln!(
                out,
                "  {:<14} {:<9} {:<26} {:>6} {:>6} {:>5} {:>8} {:>9}  {stale}",
                c.cluster.name,
                if c.summary_only() { "summary" } else { "" },
                age,
                c.host_count(now),
                up,
                down,
                "",
                ""
            )?;
        }
        for g in &src.remote_grids {
            let (up, down) = g
                .summary
                .as_ref()
                .map_or((0, 0), |x| (x.hosts_up, x.hosts_down));
            writeln!(
                out,
                "  {:<14} {:<9} {:<26} {:>6} {:>6} {:>5}",
                g.name, "grid", "(summary only)", "", up, down
            )?;
        }
    }
    let down = down_hosts(snap, now);
    writeln!(out)?;
    writeln!(out, "DOWN HOSTS ({})", down.len())?;
    for h in &down {
        writeln!(
            out,
            "  {}/{}  last heard {} ago",
            h.cluster,
            h.host,
            human_secs(h.silent)
        )?;
    }
    let tops = top_hosts(snap, now, top);
    writeln!(out)?;
    writeln!(out, "MOST LOADED ({})", tops.len())?;
    for h in &tops {
        let detail = match (h.load_one, h.cpus) {
            (Some(l), Some(c)) => format!("load_one {l:.2} on {c:.0} CPUs"),
            (Some(l), None) => format!("load_one {l:.2}"),
            _ => "no load_one".to_string(),
        };
        writeln!(
            out,
            "  {:>5.0}%  {}/{}  {detail}",
            h.load * 100.0,
            h.cluster,
            h.host
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::aggregator::{FetchReport, Fetched, SourceConfig, SourceState};
    use crate::ganglia::{Limits, parse_bytes};

    const NOW: u64 = 1_795_354_180;

    fn fixture(name: &str) -> String {
        let p = format!(
            "{}/tests/fixtures/ganglia/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(p).unwrap()
    }

    /// One gmetad source (step 15) that answered `doc` at `NOW`.
    fn snapshot(doc: &str) -> Snapshot {
        let cfg = SourceConfig::network("gmetad", vec!["127.0.0.1:8652".parse().unwrap()]);
        let mut st = SourceState::new(Arc::new(cfg));
        let parsed = parse_bytes(doc.as_bytes(), &mut st.interner, Limits::default()).unwrap();
        let report = FetchReport {
            fetched: Some(Fetched {
                parsed,
                address: 0,
                latency: Duration::from_millis(2),
                incomplete: None,
            }),
            failures: vec![],
        };
        let v = st.apply(report, NOW, None);
        Snapshot {
            grid_name: "test".into(),
            summary: v.summary.clone(),
            sensors: Vec::new(),
            sources: vec![v],
            ..Snapshot::default()
        }
    }

    fn table(snap: &Snapshot) -> String {
        let mut out = Vec::new();
        write_table(snap, NOW, 5, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_summary_only_source_shows_its_clusters_counts() {
        // gmetad's `/?filter=summary`: clusters with HOSTS UP/DOWN and no HOST elements.
        let snap = snapshot(&fixture("gmetad-8652-root-summary.xml"));
        let text = table(&snap);
        let row = |name: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap_or_else(|| panic!("no {name} row in {text}"))
                .split_whitespace()
                .filter(|w| w.parse::<u64>().is_ok())
                .collect::<Vec<_>>()
        };
        // HOSTS, UP, DOWN (after "data age 0s").
        assert_eq!(row("clusterA"), ["4", "4", "0"], "{text}");
        assert_eq!(row("clusterB"), ["2", "2", "0"], "{text}");
        assert!(text.contains("summary"), "{text}");
        assert!(all_ok(&snap, NOW), "{text}");

        let mut out = Vec::new();
        write_json(&snap, NOW, 5, &[], &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let a = v["sources"][0]["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "clusterA")
            .unwrap();
        assert_eq!(
            (&a["hosts"], &a["up"], &a["down"]),
            (&4.into(), &4.into(), &0.into())
        );
        assert_eq!(a["summary_only"], true);
    }

    #[test]
    fn a_frozen_cluster_behind_a_gmetad_is_a_failure() {
        // gmetad answers cleanly while it serves a dead gmond's last data: the cluster's
        // LOCALTIME stays behind the grid's. 100 s behind is more than two 15 s steps.
        let doc = fixture("gmetad-8651-xml_port.xml").replacen(
            "<CLUSTER NAME=\"clusterB\" LOCALTIME=\"1795354170\"",
            "<CLUSTER NAME=\"clusterB\" LOCALTIME=\"1795354072\"",
            1,
        );
        let snap = snapshot(&doc);
        assert_eq!(snap.sources[0].status.health, Health::Ok);
        let text = table(&snap);
        assert!(text.contains("STALE: 100 s behind its gmetad"), "{text}");
        assert!(!all_ok(&snap, NOW));
        // The same document fresh is fine.
        assert!(all_ok(&snapshot(&fixture("gmetad-8651-xml_port.xml")), NOW));
    }
}
