//! Fuzz target: what Slurm's commands and REST API print, as Gantry reads it
//! (src/slurm/{parse,text,jobs,usage,sbatch,rest_json}.rs). A controller on the other side
//! of a version change, a half-written answer or a hostile `slurmrestd` must not crash the
//! console.
//!
//! The first byte chooses the reader; the rest is the output. Checked: nothing panics; what
//! expands a host list or an array's tasks stays bounded.

use gantry::slurm::{jobs, parse, rest_json, sbatch, text, usage};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&which, rest)) = data.split_first() else {
            return;
        };
        let out = String::from_utf8_lossy(rest);
        match which % 10 {
            0 => {
                let _ = jobs::squeue(&out);
            }
            1 => {
                let _ = parse::sinfo(&out);
            }
            2 => {
                let _ = text::sinfo_nodes(&out);
            }
            3 => {
                let _ = jobs::sacct(&out, |u| u.to_string());
            }
            4 => {
                for line in out.lines() {
                    let _ = parse::scontrol_line(line);
                }
                let _ = parse::listpids(&out);
            }
            5 => {
                let _ = usage::parse_sstat(&out);
                let _ = usage::duration_secs(&out);
                let _ = usage::size_kb(&out);
            }
            6 => {
                let _ = sbatch::submitted_id(&out);
                let _ = parse::parse_time(&out);
                let _ = rest_json::limit_minutes(&out);
            }
            7 => {
                let hosts = parse::expand_hosts(&out);
                assert!(
                    hosts.len() <= 1_000_000,
                    "{} hosts from one list",
                    hosts.len()
                );
            }
            8 => {
                let tasks = jobs::task_indices(&out);
                assert!(
                    tasks.len() <= 1_000_000,
                    "{} tasks from one array",
                    tasks.len()
                );
            }
            _ => {
                if let Ok(doc) = serde_json::from_str::<serde_json::Value>(&out) {
                    let _ = rest_json::errors(&doc);
                    let nodes = parse::sinfo(&out).unwrap_or_default();
                    let _ = rest_json::partitions(&doc, &nodes);
                    let _ = rest_json::submitted(&doc);
                }
            }
        }
    });
}
