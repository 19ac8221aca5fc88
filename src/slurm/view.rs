//! Everything one Slurm poll saw, as the console's Slurm screens show it: jobs (array tasks
//! named as Slurm names them), nodes, partitions, and the controller's health. Sent whole, as
//! an immutable value, after every poll.

use super::jobs::SlurmJob;
use super::parse::SlurmNode;

/// A partition as `sinfo -s` sums it up, with its queue from the jobs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Partition {
    /// Name.
    pub name: String,
    /// `up`, `down`, `drain`, `inact`.
    pub state: String,
    /// Time limit as Slurm writes it (`infinite`, `1-00:00:00`).
    pub time_limit: String,
    /// Nodes allocated (or mixed), idle, other (down, drained…), total.
    pub nodes: [u32; 4],
    /// CPUs allocated, idle, other, total.
    pub cpus: [u32; 4],
    /// Jobs running (array tasks counted one by one).
    pub running: usize,
    /// Jobs pending (array tasks counted one by one).
    pub pending: usize,
    /// The longest wait among pending jobs, seconds.
    pub longest_wait: u64,
    /// The median wait among pending jobs, seconds.
    pub median_wait: u64,
}

/// The fields `sinfo -h -a -s -o` is asked for.
pub const SINFO_PARTITION_FORMAT: &str = "%R|%a|%l|%F|%C";

/// Reads `sinfo -h -a -s -o '%R|%a|%l|%F|%C'`: one line per partition.
pub fn parse_partitions(out: &str) -> Vec<Partition> {
    let four = |v: &str| -> [u32; 4] {
        let mut n = [0u32; 4];
        for (i, x) in v.split('/').take(4).enumerate() {
            n[i] = x.trim().parse().unwrap_or(0);
        }
        n
    };
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split('|').collect();
            let name = f.first().filter(|n| !n.is_empty())?;
            Some(Partition {
                name: name.to_string(),
                state: f.get(1).unwrap_or(&"").to_string(),
                time_limit: f.get(2).unwrap_or(&"").to_string(),
                nodes: four(f.get(3).unwrap_or(&"")),
                cpus: four(f.get(4).unwrap_or(&"")),
                ..Partition::default()
            })
        })
        .collect()
}

/// Fills in each partition's running and pending counts and waits from the jobs.
pub fn add_queue(parts: &mut [Partition], jobs: &[SlurmJob], now: u64) {
    for p in parts.iter_mut() {
        let mut waits = Vec::new();
        for j in jobs
            .iter()
            .filter(|j| j.partition.split(',').any(|x| x == p.name))
        {
            match j.state.as_str() {
                "RUNNING" | "SUSPENDED" | "COMPLETING" => p.running += j.count(),
                "PENDING" => {
                    p.pending += j.count();
                    let w = now.saturating_sub(j.submit);
                    waits.extend(std::iter::repeat_n(w, j.count().min(100_000)));
                }
                _ => {}
            }
        }
        waits.sort_unstable();
        p.longest_wait = waits.last().copied().unwrap_or(0);
        p.median_wait = waits.get(waits.len() / 2).copied().unwrap_or(0);
    }
}

/// The controller as the last poll found it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Controller {
    /// Not polled yet.
    #[default]
    Unknown,
    /// Answering.
    Up,
    /// Not answering since `since` (epoch seconds), with Slurm's own words.
    Unreachable {
        /// Since when.
        since: u64,
        /// What Slurm said.
        message: String,
    },
}

/// One poll's view of a Slurm cluster.
#[derive(Debug, Clone, Default)]
pub struct SlurmView {
    /// When it was taken, epoch seconds.
    pub at: u64,
    /// Jobs the console's user may see: what the controller holds, then what accounting
    /// remembers of jobs it has dropped.
    pub jobs: Vec<SlurmJob>,
    /// Nodes.
    pub nodes: Vec<SlurmNode>,
    /// Partitions.
    pub partitions: Vec<Partition>,
    /// The controller's health.
    pub controller: Controller,
}

impl SlurmView {
    /// The job a label names.
    pub fn job(&self, label: &str) -> Option<&SlurmJob> {
        self.jobs.iter().find(|j| j.label() == label)
    }

    /// How many jobs of the array `array` are live (tasks of pending records counted).
    pub fn array_size(&self, array: u64) -> usize {
        self.jobs
            .iter()
            .filter(|j| j.array_job() == Some(array) && j.live())
            .map(SlurmJob::count)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slurm::jobs::Array;

    #[test]
    fn real_sinfo_summary() {
        let out = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/slurm/sinfo_partitions.txt"),
        )
        .unwrap();
        let p = parse_partitions(&out);
        assert_eq!(p.len(), 1);
        assert_eq!(
            (
                p[0].name.as_str(),
                p[0].state.as_str(),
                p[0].time_limit.as_str()
            ),
            ("debug", "up", "infinite")
        );
        assert_eq!((p[0].nodes, p[0].cpus), ([2, 0, 0, 2], [2, 2, 0, 4]));
    }

    #[test]
    fn partitions_and_their_queues() {
        let mut p = parse_partitions(
            "debug|up|infinite|3/1/0/4|5/3/0/8\ngpu|drain|1-00:00:00|0/0/2/2|0/0/16/16\n",
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].nodes, [3, 1, 0, 4]);
        assert_eq!(p[1].cpus, [0, 0, 16, 16]);
        let jobs = vec![
            SlurmJob {
                state: "PENDING".into(),
                partition: "debug".into(),
                submit: 100,
                array: Array::Pending {
                    job: 2,
                    tasks: "1-3".into(),
                },
                ..SlurmJob::default()
            },
            SlurmJob {
                state: "PENDING".into(),
                partition: "debug".into(),
                submit: 900,
                ..SlurmJob::default()
            },
            SlurmJob {
                state: "RUNNING".into(),
                partition: "debug".into(),
                ..SlurmJob::default()
            },
        ];
        add_queue(&mut p, &jobs, 1000);
        assert_eq!((p[0].running, p[0].pending), (1, 4));
        assert_eq!((p[0].longest_wait, p[0].median_wait), (900, 900));
        assert_eq!(p[1].pending, 0);
    }
}
