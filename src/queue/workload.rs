//! A cluster's job history as the Parallel Workloads Archive keeps workloads: the Standard
//! Workload Format, version 2.2 (one line of 18 numbers per job, after header comments), and
//! the same records as CSV and JSON. Users, groups, programs and queues become numbers in
//! order of first appearance, as the archive anonymises them.

use std::collections::HashMap;
use std::io::Write;

/// One finished job, from a manager's store or Slurm's accounting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FinishedJob {
    /// Its id there.
    pub id: u64,
    /// Submitted, started, ended (epoch seconds; started may be missing for a job that never
    /// ran).
    pub submit: u64,
    /// Started.
    pub start: Option<u64>,
    /// Ended.
    pub end: u64,
    /// Processors allocated (asked for when it never ran).
    pub procs: u32,
    /// Processors asked for.
    pub procs_req: u32,
    /// Seconds asked for (None: no limit).
    pub time_req: Option<u64>,
    /// Memory asked for per processor, KB (None: not said).
    pub mem_req_kb: Option<u64>,
    /// How it ended.
    pub status: Status,
    /// Owner.
    pub user: String,
    /// Group or account.
    pub group: String,
    /// Program (the job's name).
    pub program: String,
    /// Queue or partition.
    pub queue: String,
}

/// How a job ended, as SWF codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// 1: completed normally.
    Completed,
    /// 0: failed.
    Failed,
    /// 5: cancelled.
    Cancelled,
    /// -1: not known.
    Unknown,
}

impl Status {
    fn code(self) -> i64 {
        match self {
            Status::Completed => 1,
            Status::Failed => 0,
            Status::Cancelled => 5,
            Status::Unknown => -1,
        }
    }
}

/// The 18 fields of SWF 2.2, in order.
pub const FIELDS: [&str; 18] = [
    "job_number",
    "submit_time",
    "wait_time",
    "run_time",
    "allocated_processors",
    "average_cpu_time",
    "used_memory",
    "requested_processors",
    "requested_time",
    "requested_memory",
    "status",
    "user_id",
    "group_id",
    "executable_number",
    "queue_number",
    "partition_number",
    "preceding_job_number",
    "think_time",
];

/// A workload ready to write: its records and what the header says.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// The records, by submit time, numbered from 1.
    pub records: Vec<[i64; 18]>,
    /// Epoch of the first submission (submit times are relative to it).
    pub start: u64,
    /// Epoch of the last end.
    pub end: u64,
    /// The numbered names: users, groups, programs, queues.
    pub users: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Programs.
    pub programs: Vec<String>,
    /// Queues.
    pub queues: Vec<String>,
    /// The cluster's name.
    pub computer: String,
    /// Where it came from (`gantry cm store …`, `Slurm accounting`).
    pub source: String,
    /// Nodes and processors of the cluster, if known.
    pub max_nodes: Option<u64>,
    /// Processors.
    pub max_procs: Option<u64>,
}

#[derive(Default)]
struct Numbering {
    ids: HashMap<String, i64>,
    names: Vec<String>,
}

impl Numbering {
    fn number(&mut self, name: &str) -> i64 {
        if name.is_empty() {
            return -1;
        }
        if let Some(&n) = self.ids.get(name) {
            return n;
        }
        self.names.push(name.to_string());
        let n = self.names.len() as i64;
        self.ids.insert(name.to_string(), n);
        n
    }
}

impl Workload {
    /// Numbers and orders `jobs` (by submission, then id).
    pub fn new(mut jobs: Vec<FinishedJob>, computer: &str, source: &str) -> Self {
        jobs.sort_unstable_by_key(|j| (j.submit, j.id));
        let start = jobs.first().map_or(0, |j| j.submit);
        let end = jobs.iter().map(|j| j.end).max().unwrap_or(start);
        let (mut users, mut groups, mut programs, mut queues) = (
            Numbering::default(),
            Numbering::default(),
            Numbering::default(),
            Numbering::default(),
        );
        let records = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| {
                let (wait, run) = match j.start {
                    Some(s) => (
                        s.saturating_sub(j.submit) as i64,
                        j.end.saturating_sub(s) as i64,
                    ),
                    None => (-1, 0),
                };
                let opt = |v: Option<u64>| v.map_or(-1, |v| v as i64);
                [
                    i as i64 + 1,
                    j.submit.saturating_sub(start) as i64,
                    wait,
                    run,
                    i64::from(j.procs),
                    -1,
                    -1,
                    i64::from(j.procs_req),
                    opt(j.time_req),
                    opt(j.mem_req_kb),
                    j.status.code(),
                    users.number(&j.user),
                    groups.number(&j.group),
                    programs.number(&j.program),
                    queues.number(&j.queue),
                    -1,
                    -1,
                    -1,
                ]
            })
            .collect();
        Self {
            records,
            start,
            end,
            users: users.names,
            groups: groups.names,
            programs: programs.names,
            queues: queues.names,
            computer: computer.to_string(),
            source: source.to_string(),
            max_nodes: None,
            max_procs: None,
        }
    }

    fn date(epoch: u64) -> String {
        chrono::DateTime::from_timestamp(epoch as i64, 0)
            .map(|d| d.format("%a %b %d %H:%M:%S UTC %Y").to_string())
            .unwrap_or_default()
    }

    /// Writes the SWF file: the header comments the archive writes, then a line per job.
    pub fn write_swf(&self, out: &mut impl Write) -> std::io::Result<()> {
        let n = self.records.len();
        let procs = self.max_procs.unwrap_or_else(|| {
            self.records
                .iter()
                .map(|r| r[4].max(r[7]))
                .max()
                .unwrap_or(0) as u64
        });
        writeln!(out, "; Version: 2.2")?;
        writeln!(out, "; Computer: {}", self.computer)?;
        writeln!(out, "; Installation: {}", self.source)?;
        writeln!(
            out,
            "; Acknowledge: the operators of {}; exported by Gantry",
            self.computer
        )?;
        writeln!(
            out,
            "; Information: https://www.cs.huji.ac.il/labs/parallel/workload/"
        )?;
        writeln!(
            out,
            "; Conversion: gantry export swf, {}",
            Self::date(crate::aggregator::now_epoch())
        )?;
        writeln!(out, "; MaxJobs: {n}")?;
        writeln!(out, "; MaxRecords: {n}")?;
        writeln!(out, "; Preemption: No")?;
        writeln!(out, "; UnixStartTime: {}", self.start)?;
        writeln!(out, "; TimeZoneString: UTC")?;
        writeln!(out, "; StartTime: {}", Self::date(self.start))?;
        writeln!(out, "; EndTime: {}", Self::date(self.end))?;
        if let Some(nodes) = self.max_nodes {
            writeln!(out, "; MaxNodes: {nodes}")?;
        }
        writeln!(out, "; MaxProcs: {procs}")?;
        writeln!(
            out,
            "; Note: users, groups, executables and queues are numbered from 1 in order of first appearance; -1 is unknown"
        )?;
        writeln!(
            out,
            "; Note: average CPU time, used memory, preceding job and think time are not recorded (-1)"
        )?;
        for (i, q) in self.queues.iter().enumerate() {
            writeln!(out, "; Queue: {} {}", i + 1, printable(q))?;
        }
        writeln!(out, ";")?;
        let mut line = String::with_capacity(128);
        for r in &self.records {
            line.clear();
            for (k, v) in r.iter().enumerate() {
                if k > 0 {
                    line.push(' ');
                }
                line.push_str(itoa::Buffer::new().format(*v));
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// Writes the records as CSV, a header row of the field names first.
    pub fn write_csv(&self, out: impl Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(FIELDS)?;
        let mut buf = itoa::Buffer::new();
        for r in &self.records {
            w.write_record(r.iter().map(|v| buf.format(*v).to_string()))?;
        }
        w.flush()
    }

    /// Writes the header and the records as one JSON document (streamed: a million jobs
    /// are never a million objects in memory).
    pub fn write_json(&self, out: &mut impl Write) -> std::io::Result<()> {
        let head = serde_json::json!({
            "version": "2.2",
            "computer": self.computer,
            "installation": self.source,
            "unix_start_time": self.start,
            "time_zone": "UTC",
            "end_time": self.end,
            "max_jobs": self.records.len(),
            "queues": self.queues,
        });
        let head = serde_json::to_string(&head).map_err(std::io::Error::other)?;
        // The header object, opened again for the jobs.
        out.write_all(&head.as_bytes()[..head.len() - 1])?;
        out.write_all(b",\"jobs\":[")?;
        let mut line = String::with_capacity(512);
        let mut buf = itoa::Buffer::new();
        for (i, r) in self.records.iter().enumerate() {
            line.clear();
            if i > 0 {
                line.push(',');
            }
            line.push('{');
            for (k, (name, v)) in FIELDS.iter().zip(r).enumerate() {
                if k > 0 {
                    line.push(',');
                }
                line.push('"');
                line.push_str(name);
                line.push_str("\":");
                line.push_str(buf.format(*v));
            }
            line.push('}');
            out.write_all(line.as_bytes())?;
        }
        out.write_all(b"]}")
    }
}

/// A name fit for a header comment: one line, printable.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64, submit: u64, user: &str, status: Status) -> FinishedJob {
        FinishedJob {
            id,
            submit,
            start: Some(submit + 10),
            end: submit + 70,
            procs: 4,
            procs_req: 4,
            time_req: Some(3600),
            mem_req_kb: None,
            status,
            user: user.into(),
            group: "staff".into(),
            program: "sim".into(),
            queue: "debug".into(),
        }
    }

    #[test]
    fn records_are_numbered_relative_and_anonymous() {
        let w = Workload::new(
            vec![
                job(9, 1_000_100, "bob", Status::Failed),
                job(7, 1_000_000, "alice", Status::Completed),
            ],
            "alpha",
            "test",
        );
        assert_eq!(
            w.records[0],
            [
                1, 0, 10, 60, 4, -1, -1, 4, 3600, -1, 1, 1, 1, 1, 1, -1, -1, -1
            ]
        );
        assert_eq!(w.records[1][..4], [2, 100, 10, 60]);
        assert_eq!((w.records[1][10], w.records[1][11]), (0, 2));
        let mut swf = Vec::new();
        w.write_swf(&mut swf).unwrap();
        let text = String::from_utf8(swf).unwrap();
        assert!(text.starts_with("; Version: 2.2\n"), "{text}");
        assert!(text.contains("; UnixStartTime: 1000000\n"), "{text}");
        assert!(text.contains("; Queue: 1 debug"), "{text}");
        let data: Vec<&str> = text.lines().filter(|l| !l.starts_with(';')).collect();
        assert_eq!(data.len(), 2);
        assert_eq!(data[0].split(' ').count(), 18);
        let mut csv = Vec::new();
        w.write_csv(&mut csv).unwrap();
        assert!(
            String::from_utf8(csv)
                .unwrap()
                .starts_with("job_number,submit_time,")
        );
    }
}
