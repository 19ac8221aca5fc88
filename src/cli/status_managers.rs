//! The central managers part of `gantry status`: for each `[[manager]]` of kind `cm`, what
//! every address says of itself (`HA`, protocol §9) — which one is active, at what epoch, and
//! whether its shadow is in sync.

use std::io::Write;

use serde_json::json;

use crate::cm::proto::HaStatus;
use crate::jobs::{BackendKind, ManagerConfig};

/// One address of a cluster's manager pair, as it answered.
pub struct ManagerLine {
    /// The cluster it manages.
    pub cluster: String,
    /// The address asked.
    pub address: String,
    /// What it said, or why it did not.
    pub answer: Result<HaStatus, String>,
}

/// Asks every address of every central manager.
pub async fn probe_all(configs: &[ManagerConfig]) -> Vec<ManagerLine> {
    let mut out = Vec::new();
    for cfg in configs
        .iter()
        .filter(|c| c.kind == BackendKind::CentralManager)
    {
        for (address, answer) in crate::jobs::link::probe(cfg).await {
            out.push(ManagerLine {
                cluster: cfg.cluster.clone(),
                address,
                answer,
            });
        }
    }
    out
}

/// Whether every cluster has an active manager whose shadow, if it has one, is in sync.
pub fn all_ok(lines: &[ManagerLine]) -> bool {
    let mut clusters: Vec<&str> = lines.iter().map(|l| l.cluster.as_str()).collect();
    clusters.dedup();
    clusters.iter().all(|c| {
        lines
            .iter()
            .filter(|l| l.cluster == *c)
            .filter_map(|l| l.answer.as_ref().ok())
            .any(|s| s.role == "active" && (s.shadow == "in sync" || s.shadow.starts_with("none")))
    })
}

/// The JSON form.
pub fn to_json(lines: &[ManagerLine]) -> serde_json::Value {
    lines
        .iter()
        .map(|l| match &l.answer {
            Ok(s) => json!({
                "cluster": l.cluster, "address": l.address, "role": s.role,
                "epoch": s.epoch, "name": s.name, "active": s.active, "shadow": s.shadow,
                "seq": s.seq, "why": s.why, "nodes_following": s.following,
                "nodes": s.members,
            }),
            Err(e) => json!({"cluster": l.cluster, "address": l.address, "error": e}),
        })
        .collect()
}

/// The table form.
pub fn write_table(lines: &[ManagerLine], out: &mut dyn Write) -> std::io::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "CENTRAL MANAGERS")?;
    writeln!(
        out,
        "  {:<14} {:<22} {:<8} {:>5} {:>9}  shadow / why",
        "cluster", "address", "role", "epoch", "following"
    )?;
    for l in lines {
        match &l.answer {
            Ok(s) => writeln!(
                out,
                "  {:<14} {:<22} {:<8} {:>5} {:>9}  {}{}",
                l.cluster,
                l.address,
                s.role,
                s.epoch,
                if s.role == "active" {
                    format!("{}/{}", s.following, s.members)
                } else {
                    String::new()
                },
                s.shadow,
                if s.why.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", s.why)
                }
            )?,
            Err(e) => writeln!(
                out,
                "  {:<14} {:<22} {:<8} {:>5} {:>9}  {e}",
                l.cluster, l.address, "down", "", ""
            )?,
        }
    }
    Ok(())
}
