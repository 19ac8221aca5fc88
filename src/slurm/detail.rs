//! One job in detail, as a Slurm user reads it: `scontrol show job`'s fields (the ones that
//! matter first), the expected start from `squeue --start`, and the priority factors from
//! `sprio`. Asked for when the operator opens a job, never in a poll.

use super::link::{CmdKind, Runner};
use super::parse::scontrol_line;

/// A job's fields in reading order (`name`, `value`), or why they could not be read.
pub type Detail = Result<Vec<(String, String)>, String>;

/// `scontrol show job` fields shown first, in this order, under these names.
const FIRST: [(&str, &str); 24] = [
    ("JobId", "Job id"),
    ("ArrayJobId", "Array"),
    ("ArrayTaskId", "Array task"),
    ("JobName", "Name"),
    ("UserId", "User"),
    ("JobState", "State"),
    ("Reason", "Reason"),
    ("Partition", "Partition"),
    ("QOS", "QOS"),
    ("Account", "Account"),
    ("Priority", "Priority"),
    ("TimeLimit", "Time limit"),
    ("RunTime", "Run time"),
    ("Dependency", "Dependencies"),
    ("SubmitTime", "Submitted"),
    ("StartTime", "Start"),
    ("EndTime", "End"),
    ("NodeList", "Nodes"),
    ("NumCPUs", "CPUs"),
    ("TRES", "Resources"),
    ("ExitCode", "Exit (status:signal)"),
    ("WorkDir", "Working directory"),
    ("StdOut", "Output"),
    ("StdErr", "Error"),
];

/// Everything Slurm says about `label` (`17`, `5_3`), in reading order.
pub async fn job_detail(r: &Runner, label: &str) -> Detail {
    let job = label.split("_[").next().unwrap_or(label).to_string();
    let out = r
        .run(
            CmdKind::Act,
            "scontrol",
            &["-o".into(), "show".into(), "job".into(), job.clone()],
        )
        .await?;
    if !out.ok {
        return Err(if out.stderr.is_empty() {
            format!("scontrol show job {job} failed")
        } else {
            out.stderr
        });
    }
    let kv = scontrol_line(out.stdout.lines().next().unwrap_or(""));
    let mut fields = order(&kv);
    let pending = kv.iter().any(|(k, v)| k == "JobState" && v == "PENDING");
    if pending {
        let start = r
            .run(
                CmdKind::Act,
                "squeue",
                &[
                    "--start".into(),
                    "-h".into(),
                    "-j".into(),
                    job.clone(),
                    "-o".into(),
                    "%S|%Y".into(),
                ],
            )
            .await;
        if let Ok(o) = start
            && let Some(at) = expected_start(&o.stdout)
        {
            fields.insert(1, ("Expected start".into(), at));
        }
    }
    let raw = kv
        .iter()
        .find(|(k, _)| k == "JobId")
        .map_or(job.clone(), |(_, v)| v.clone());
    match r
        .run(
            CmdKind::Act,
            "sprio",
            &[
                "-h".into(),
                "-j".into(),
                raw,
                "-o".into(),
                "%Y|%A|%F|%J|%P|%Q".into(),
            ],
        )
        .await
    {
        Ok(o) if o.ok && !o.stdout.trim().is_empty() => {
            fields.push(("Priority factors".into(), prio_factors(&o.stdout)));
        }
        Ok(o) if pending => fields.push((
            "Priority factors".into(),
            sprio_refusal(&o.stderr, &o.stdout),
        )),
        _ => {}
    }
    Ok(fields)
}

/// `squeue --start -o '%S|%Y'`: when the scheduler plans to start the job.
fn expected_start(out: &str) -> Option<String> {
    let line = out.lines().next()?;
    let (at, _) = line.split_once('|').unwrap_or((line, ""));
    Some(if at == "N/A" {
        "not yet planned".into()
    } else {
        at.to_string()
    })
}

/// Why sprio shows nothing: its message whole (22.05 writes it over two lines).
fn sprio_refusal(stderr: &str, stdout: &str) -> String {
    let words: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if words.is_empty() {
        "sprio has nothing for this job".into()
    } else {
        words.join(" ")
    }
}

/// The known fields first, renamed, then every other field as Slurm names it.
fn order(kv: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = FIRST
        .iter()
        .filter_map(|(key, name)| {
            kv.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| (name.to_string(), v.clone()))
        })
        .collect();
    for (k, v) in kv {
        if !FIRST.iter().any(|(key, _)| key == k) {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

/// `sprio -o '%Y|%A|%F|%J|%P|%Q'` as words.
fn prio_factors(out: &str) -> String {
    let f: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or("")
        .split('|')
        .map(str::trim)
        .collect();
    let names = ["total", "age", "fair-share", "job size", "partition", "QOS"];
    names
        .iter()
        .zip(f.iter())
        .map(|(n, v)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_fields_first_then_the_rest() {
        let kv = scontrol_line(
            "JobId=4 ArrayJobId=1 ArrayTaskId=2 JobName=job.sh UserId=root(0) JobState=RUNNING \
             Reason=None Partition=debug Requeue=1 TimeLimit=365-00:00:00",
        );
        let f = order(&kv);
        assert_eq!(f[0], ("Job id".into(), "4".into()));
        assert_eq!(f[1], ("Array".into(), "1".into()));
        assert!(
            f.iter().position(|(k, _)| k == "Time limit")
                < f.iter().position(|(k, _)| k == "Requeue")
        );
        let fx = |n: &str| {
            std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/slurm")
                    .join(n),
            )
            .unwrap()
        };
        assert_eq!(
            expected_start(&fx("squeue_start.txt")).as_deref(),
            Some("not yet planned")
        );
        assert_eq!(
            sprio_refusal(&fx("sprio_basic.txt"), ""),
            "You are not running a supported priority plugin (priority/basic). Only \
             'priority/multifactor' is supported."
        );
        assert_eq!(
            prio_factors("  1000|  10|  500|  0|  490|  0\n"),
            "total 1000, age 10, fair-share 500, job size 0, partition 490, QOS 0"
        );
    }
}
