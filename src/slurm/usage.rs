//! Live CPU and memory of running Slurm job steps, from `sstat` (which asks the nodes' slurmd,
//! so it needs no accounting database). Slurm reports per step, not per process: a step's figures
//! go on its task leaders' rows (`scontrol listpids` LOCALID set), split evenly across its nodes;
//! the step's other processes show none rather than a share nobody measured. On a node whose
//! processes cannot be listed from here the job has one row, which adds up its steps.

use std::collections::HashMap;
use std::time::Instant;

use super::parse::expand_hosts;
use crate::cm::proto::ProcInfo;

/// The step name under which a job's row (no pids known on that node) collects all its steps.
pub const WHOLE_JOB: &str = "*";

/// The `sstat` fields asked for, in this order.
pub const SSTAT_FIELDS: &str = "JobID,NodeList,TRESUsageInTot";

/// One step's usage as `sstat -a -P -n -o JobID,NodeList,TRESUsageInTot` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepUsage {
    /// Job id.
    pub job: u64,
    /// Step name as `scontrol listpids` spells it (`batch`, `extern`, `0`, …).
    pub step: String,
    /// Nodes the step runs on (expanded).
    pub nodes: Vec<String>,
    /// CPU time used so far by all its tasks, in seconds.
    pub cpu_secs: f64,
    /// Resident memory of all its tasks now, in KiB.
    pub mem_kb: u64,
}

/// Reads sstat's parsable lines; a line it cannot read is skipped (sstat writes its errors,
/// such as a job with no steps yet, to stderr).
pub fn parse_sstat(out: &str) -> Vec<StepUsage> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.trim().split('|');
            let (id, nodes, tres) = (f.next()?, f.next()?, f.next()?);
            let (job, step) = id.split_once('.')?;
            // Heterogeneous (1+0) and array (1_3) ids: the leading number is the job.
            let job = job.split(['+', '_']).next().and_then(|j| j.parse().ok())?;
            let mut cpu_secs = None;
            let mut mem_kb = None;
            for kv in tres.split(',') {
                match kv.split_once('=') {
                    Some(("cpu", v)) => cpu_secs = duration_secs(v),
                    Some(("mem", v)) => mem_kb = size_kb(v),
                    _ => {}
                }
            }
            Some(StepUsage {
                job,
                step: step.to_string(),
                nodes: expand_hosts(nodes),
                cpu_secs: cpu_secs?,
                mem_kb: mem_kb.unwrap_or(0),
            })
        })
        .collect()
}

/// Slurm's durations: `[DD-][HH:]MM:SS[.fff]`.
pub fn duration_secs(v: &str) -> Option<f64> {
    let (days, rest) = match v.split_once('-') {
        Some((d, r)) => (d.parse::<f64>().ok()?, r),
        None => (0.0, v),
    };
    let mut secs = 0.0;
    let mut unit = 1.0;
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    for p in parts.iter().rev() {
        secs += p.parse::<f64>().ok()? * unit;
        unit *= 60.0;
    }
    Some(days * 86_400.0 + secs)
}

/// Slurm's sizes: a number with K, M, G, T or P (powers of 1024), or bare bytes.
pub fn size_kb(v: &str) -> Option<u64> {
    let (num, mult) = match v.chars().last()? {
        'K' => (&v[..v.len() - 1], 1.0),
        'M' => (&v[..v.len() - 1], 1024.0),
        'G' => (&v[..v.len() - 1], 1024.0 * 1024.0),
        'T' => (&v[..v.len() - 1], 1024.0 * 1024.0 * 1024.0),
        'P' => (&v[..v.len() - 1], 1024.0 * 1024.0 * 1024.0 * 1024.0),
        _ => (v, 1.0 / 1024.0),
    };
    let n: f64 = num.parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| (n * mult).round() as u64)
}

/// CPU time last seen per step, to turn sstat's running totals into a percentage.
#[derive(Debug, Default)]
pub struct CpuTracker {
    last: HashMap<(u64, String), (f64, Instant)>,
}

impl CpuTracker {
    /// Percent of one CPU the step used since the last sample; on first sight, its average since
    /// `running_secs` ago (when known).
    pub fn percent(&mut self, u: &StepUsage, now: Instant, running_secs: Option<u64>) -> f32 {
        let key = (u.job, u.step.clone());
        let pct = match self.last.get(&key) {
            Some(&(cpu, at)) if now > at => {
                (u.cpu_secs - cpu).max(0.0) / now.duration_since(at).as_secs_f64() * 100.0
            }
            Some(_) => 0.0,
            None => match running_secs {
                Some(r) if r > 0 => u.cpu_secs / r as f64 * 100.0,
                _ => 0.0,
            },
        };
        self.last.insert(key, (u.cpu_secs, now));
        pct as f32
    }

    /// Forgets steps that are not running any more.
    pub fn keep_only(&mut self, running: &[StepUsage]) {
        self.last
            .retain(|(job, step), _| running.iter().any(|u| u.job == *job && &u.step == step));
    }
}

/// Puts each step's usage on its task leaders: `leaders` maps (job, step, node) to the rows of
/// the step's processes there that lead a task, or (job, [`WHOLE_JOB`], node) to the job's one
/// row on a node whose processes cannot be listed; the step's figures are split evenly across
/// its nodes and then across those rows, and a job's row adds up all its steps.
pub fn apply(
    procs: &mut [ProcInfo],
    leaders: &HashMap<(u64, String, String), Vec<usize>>,
    usage: &[(StepUsage, f32)],
) {
    for (u, pct) in usage {
        let nodes = u.nodes.len().max(1);
        for node in &u.nodes {
            let rows = leaders
                .get(&(u.job, u.step.clone(), node.clone()))
                .or_else(|| leaders.get(&(u.job, WHOLE_JOB.to_string(), node.clone())));
            let Some(rows) = rows else {
                continue;
            };
            let share = (nodes * rows.len().max(1)) as f64;
            for &i in rows {
                if let Some(p) = procs.get_mut(i) {
                    p.cpu_pct += (f64::from(*pct) / share) as f32;
                    p.rss_kb += (u.mem_kb as f64 / share).round() as u64;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_a_real_sstat_printed() {
        // Slurm 22.05.8, a batch step holding 64 MB and spinning for seven seconds.
        let out =
            "1.batch|c1|cpu=00:00:07,energy=0,fs/disk=1690039,mem=64.50M,pages=5,vmem=70364K\n";
        let u = &parse_sstat(out)[0];
        assert_eq!((u.job, u.step.as_str()), (1, "batch"));
        assert_eq!(u.nodes, vec!["c1"]);
        assert_eq!(u.cpu_secs, 7.0);
        assert_eq!(u.mem_kb, 66_048);
        let multi = parse_sstat(
            "12.0|n[01-02]|cpu=1-02:03:04,mem=2G\n7+1.extern|c3|cpu=00:01.500,mem=512\ngarbage\n1.0|c1|mem=5M\n",
        );
        assert_eq!(multi.len(), 2);
        assert_eq!(multi[0].nodes, vec!["n01", "n02"]);
        assert_eq!(multi[0].cpu_secs, 93_784.0);
        assert_eq!(multi[0].mem_kb, 2 * 1024 * 1024);
        assert_eq!(
            (multi[1].job, multi[1].cpu_secs, multi[1].mem_kb),
            (7, 1.5, 1)
        );
        assert_eq!(duration_secs("1:2:3:4"), None);
        assert_eq!(duration_secs("x"), None);
        assert_eq!(size_kb("-1K"), None);
    }

    #[test]
    fn percent_from_running_totals_and_shares_per_leader() {
        let mut t = CpuTracker::default();
        let mut u = parse_sstat("3.batch|c1|cpu=00:00:10,mem=100M\n").remove(0);
        let t0 = Instant::now();
        // First sight: the average since the job started 20 s ago.
        assert_eq!(t.percent(&u, t0, Some(20)), 50.0);
        u.cpu_secs = 12.0;
        let pct = t.percent(&u, t0 + std::time::Duration::from_secs(2), None);
        assert_eq!(pct, 100.0);
        let row = |pid| ProcInfo {
            node: "c1".into(),
            pid,
            state: 'R',
            name: "x".into(),
            user: "u".into(),
            cpu_pct: 0.0,
            rss_kb: 0,
            job: "3".into(),
            start: 0,
        };
        let mut procs = vec![row(10), row(11)];
        let leaders = HashMap::from([((3, "batch".to_string(), "c1".to_string()), vec![0])]);
        apply(&mut procs, &leaders, &[(u.clone(), pct)]);
        assert_eq!((procs[0].cpu_pct, procs[0].rss_kb), (100.0, 102_400));
        assert_eq!((procs[1].cpu_pct, procs[1].rss_kb), (0.0, 0));
        t.keep_only(&[]);
        assert_eq!(t.percent(&u, t0, None), 0.0);

        // A job whose processes cannot be listed on a node: its row adds up every step there.
        let steps = parse_sstat("4.batch|c2|cpu=0,mem=10M\n4.0|c[2-3]|cpu=0,mem=20M\n");
        let mut job_row = vec![row(4)];
        job_row[0].node = "c2".into();
        let whole = HashMap::from([((4, WHOLE_JOB.to_string(), "c2".to_string()), vec![0])]);
        let usage: Vec<(StepUsage, f32)> = steps.into_iter().zip([30.0, 80.0]).collect();
        apply(&mut job_row, &whole, &usage);
        assert_eq!(job_row[0].cpu_pct, 30.0 + 40.0);
        assert_eq!(job_row[0].rss_kb, 10_240 + 10_240);
    }
}
