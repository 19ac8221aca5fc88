//! `gantry graph`: a cluster's or host's graphs for a range, written as PNG and SVG from the
//! saved history (what a running console or aggregator last saved).

use std::path::PathBuf;

use crate::config::Paths;
use crate::graph::{GraphTarget, default_units, export, graphs};
use crate::history::{HistoryStore, Range};

/// Options of `gantry graph`.
#[derive(Debug, Clone, clap::Args)]
pub struct GraphArgs {
    /// The cluster.
    #[arg(long)]
    pub cluster: String,
    /// One of its hosts (default: the cluster's own graphs).
    #[arg(long)]
    pub host: Option<String>,
    /// hour, day, week, month or year.
    #[arg(long, default_value = "hour")]
    pub range: String,
    /// Directory to write the files into.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
    /// History file to read (default: history.bin in the state directory).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
}

/// Writes the files and prints what was written; `Ok(false)` when there was nothing to graph.
pub fn run(args: &GraphArgs, paths: &Paths) -> anyhow::Result<bool> {
    let range: Range = args.range.parse().map_err(anyhow::Error::msg)?;
    let file = args
        .history
        .clone()
        .unwrap_or_else(|| paths.history_file.clone());
    if !file.exists() {
        anyhow::bail!(
            "{}: no saved history (the console and `gantry aggregator` save it every history.save_interval seconds and on exit)",
            file.display()
        );
    }
    let saved = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let history = HistoryStore::load(&file)?;
    let target = GraphTarget {
        cluster: args.cluster.clone(),
        host: args.host.clone(),
    };
    let now = crate::aggregator::now_epoch();
    let gs = graphs(&history, &target, range, now, default_units);
    if gs.iter().all(|g| !g.has_data()) {
        let known = history.clusters();
        eprintln!(
            "gantry: no {} history for {} in {} (clusters there: {})",
            range.as_str(),
            target.label(),
            file.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
        return Ok(false);
    }
    let title = format!(
        "{} — last {} (times in UTC)",
        target.label(),
        range.as_str()
    );
    let done = export(&args.out, &target.file_stem(), &title, &gs, range)?;
    println!("{}", done.describe());
    if now > saved + 60 {
        println!(
            "(history as saved {} ago)",
            crate::units::human_secs(now - saved)
        );
    }
    Ok(true)
}
