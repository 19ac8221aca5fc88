//! What slurmrestd's openapi v0.0.38 (Slurm 22.05) says and is told, as pure functions: its
//! `errors` list in words, partitions from `/partitions` and `/nodes`, the submission form as a
//! job description, a time limit in minutes, and the state rows the action checks compare.
//! `/jobs` and `/nodes` answer in the layout of `squeue --json` and `sinfo --json` and are read
//! by [`super::jobs::squeue`] and [`super::parse::sinfo`].

use serde_json::{Map, Value, json};

use super::jobs::{Array, SlurmJob, task_indices};
use super::parse::{SlurmNode, number, text};
use super::view::Partition;
use crate::cm::job::{JobClass, JobSpec};

/// The API version spoken: the one 22.05 serves (`slurmrestd -s openapi/v0.0.38`).
pub const API: &str = "v0.0.38";

/// Every entry of an answer's `errors` list in words: `Unable to find JobId=999 (Invalid job
/// id specified)`. Empty when there are none.
pub fn errors(doc: &Value) -> Vec<String> {
    let Some(list) = doc.get("errors").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|e| {
            let desc = text(e.get("description"));
            let err = text(e.get("error"));
            match (desc.is_empty(), err.is_empty()) {
                (false, false) if desc != err => format!("{desc} ({err})"),
                (false, _) => desc,
                (true, false) => err,
                (true, true) => format!(
                    "error {}",
                    number(e.get("error_number").or_else(|| e.get("error_code")))
                        .or_else(|| number(e.get("errno")))
                        .unwrap_or(-1)
                ),
            }
        })
        .collect()
}

/// Partitions as `sinfo -s` counts them (nodes and CPUs allocated/idle/other/total), from
/// `/partitions` and the nodes just read.
pub fn partitions(doc: &Value, nodes: &[SlurmNode]) -> Vec<Partition> {
    let Some(list) = doc.get("partitions").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|p| {
            let name = text(p.get("name"));
            if name.is_empty() {
                return None;
            }
            let mut n = [0u32; 4];
            let mut c = [0u32; 4];
            for node in nodes.iter().filter(|x| x.partitions.contains(&name)) {
                let other = !node.usable();
                let slot = if other {
                    2
                } else if node.alloc_cpus > 0 {
                    0
                } else {
                    1
                };
                n[slot] += 1;
                n[3] += 1;
                if other {
                    c[2] += node.cpus;
                } else {
                    c[0] += node.alloc_cpus.min(node.cpus);
                    c[1] += node.cpus.saturating_sub(node.alloc_cpus);
                }
                c[3] += node.cpus;
            }
            Some(Partition {
                state: text(p.get("state")).to_lowercase(),
                time_limit: minutes_text(number(p.get("max_time_limit"))),
                nodes: n,
                cpus: c,
                name,
                ..Partition::default()
            })
        })
        .collect()
}

/// A limit in minutes as sinfo writes it: `infinite`, `30:00`, `1-00:00:00`.
fn minutes_text(m: Option<i64>) -> String {
    match m {
        // -1, absent, or Slurm's INFINITE (0xffffffff) and NO_VAL (0xfffffffe).
        None => "infinite".into(),
        Some(m) if !(0..0xffff_fffe).contains(&m) => "infinite".into(),
        Some(m) => {
            let (d, h, mi) = (m / 1440, m / 60 % 24, m % 60);
            if d > 0 {
                format!("{d}-{h:02}:{mi:02}:00")
            } else if h > 0 {
                format!("{h}:{mi:02}:00")
            } else {
                format!("{mi}:00")
            }
        }
    }
}

/// Environment variables never handed to a job: what looks like a secret of the console's.
fn secret_name(k: &str) -> bool {
    let k = k.to_ascii_uppercase();
    ["TOKEN", "JWT", "PASSWORD", "SECRET"]
        .iter()
        .any(|w| k.contains(w))
}

/// The submission form as `/job/submit`'s body: what sbatch would be given (sbatch.rs), with
/// the console's environment as sbatch exports it (less anything named like a secret) and the
/// working directory `cwd` when the form names none (slurmrestd has no directory of its own).
pub fn submission(spec: &JobSpec, env: &[(String, String)], cwd: &str) -> Value {
    let mut job = Map::new();
    if !spec.name.is_empty() {
        job.insert("name".into(), json!(spec.name));
    }
    job.insert(
        "current_working_directory".into(),
        json!(spec.dir.clone().unwrap_or_else(|| cwd.to_string())),
    );
    for (k, v) in [
        ("standard_input", &spec.input),
        ("standard_output", &spec.output),
        ("standard_error", &spec.error),
    ] {
        if let Some(p) = v {
            job.insert(k.into(), json!(p));
        }
    }
    let mem = if spec.memory > 0 {
        spec.memory
    } else {
        spec.rss_limit
    };
    if mem > 0 {
        job.insert("memory_per_node".into(), json!(mem.div_ceil(1 << 20)));
    }
    if spec.class != JobClass::Single {
        job.insert("tasks".into(), json!(spec.total_tasks.max(1)));
        job.insert("tasks_per_node".into(), json!(spec.tasks_per_node.max(1)));
    }
    if spec.priority != 0 {
        // Higher KCMS priority runs first; Slurm's nice works the other way round.
        job.insert("nice".into(), json!(-spec.priority));
    }
    if spec.restart {
        job.insert("requeue".into(), json!(true));
    }
    let environment: Map<String, Value> = env
        .iter()
        .filter(|(k, _)| !secret_name(k))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    job.insert("environment".into(), Value::Object(environment));
    let mut cmd: Vec<String> = Vec::new();
    if spec.class != JobClass::Single {
        cmd.push("srun".into());
    }
    cmd.push(super::sbatch::shell_quote(&spec.exec));
    cmd.extend(spec.args.iter().map(|x| super::sbatch::shell_quote(x)));
    json!({
        "script": format!("#!/bin/sh\n# Submitted by gantry through slurmrestd.\n{}\n", cmd.join(" ")),
        "job": Value::Object(job),
    })
}

/// The job id `/job/submit` answered with, or why there is none.
pub fn submitted(doc: &Value) -> Result<u64, String> {
    match number(doc.get("job_id")) {
        Some(id) if id > 0 => Ok(id as u64),
        _ => {
            let errs = errors(doc);
            Err(if errs.is_empty() {
                "slurmrestd accepted the submission but named no job".into()
            } else {
                errs.join("\n")
            })
        }
    }
}

/// An absolute time limit in minutes, as the API takes it: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`,
/// `D-HH:MM`, `D-HH:MM:SS` (seconds round up). `UNLIMITED` and relative `+MM`/`-MM` are left to
/// scontrol, which knows them.
pub fn limit_minutes(t: &str) -> Option<u64> {
    let t = t.trim();
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '-')
    {
        return None;
    }
    let nums = |s: &str| -> Option<Vec<u64>> { s.split(':').map(|x| x.parse().ok()).collect() };
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, Some(r)),
        None => (0, None),
    };
    let (h, m, s) = match rest {
        Some(r) => match nums(r)?.as_slice() {
            [h] => (*h, 0, 0),
            [h, m] => (*h, *m, 0),
            [h, m, s] => (*h, *m, *s),
            _ => return None,
        },
        None => match nums(t)?.as_slice() {
            [m] => (0, *m, 0),
            [m, s] => (0, *m, *s),
            [h, m, s] => (*h, *m, *s),
            _ => return None,
        },
    };
    // Checked: a limit of many digits is refused, not an overflow.
    days.checked_mul(1440)?
        .checked_add(h.checked_mul(60)?)?
        .checked_add(m)?
        .checked_add(s.div_ceil(60))
}

/// `(id, state, reason)` rows as `squeue -t all -o '%i|%A|%T|%r'` prints them for named jobs:
/// an array task as `5_3`, a pending array record once per task.
pub fn state_rows(jobs: &[SlurmJob]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for j in jobs {
        match &j.array {
            Array::Pending { job, tasks } => out.extend(
                task_indices(tasks)
                    .into_iter()
                    .take(10_000)
                    .map(|t| (format!("{job}_{t}"), j.state.clone(), j.reason.clone())),
            ),
            _ => out.push((j.label(), j.state.clone(), j.reason.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_words() {
        // Real answers of 22.05's slurmrestd (an unknown job; slurmctld stopped; a bad signal).
        let doc: Value = serde_json::from_str(
            r#"{"errors":[{"description":"Unable to find JobId=999","error_number":2017,
            "error":"Invalid job id specified","source":"slurm_load_job"}],"jobs":[]}"#,
        )
        .unwrap();
        assert_eq!(
            errors(&doc),
            ["Unable to find JobId=999 (Invalid job id specified)"]
        );
        let doc: Value =
            serde_json::from_str(r#"{"errors":[{"error":"Unspecified error","errno":-1}]}"#)
                .unwrap();
        assert_eq!(errors(&doc), ["Unspecified error"]);
        assert!(errors(&json!({"errors": []})).is_empty());
        assert!(errors(&json!({})).is_empty());
    }

    #[test]
    fn limits_in_minutes() {
        assert_eq!(limit_minutes("30"), Some(30));
        assert_eq!(limit_minutes("1:30"), Some(2));
        assert_eq!(limit_minutes("2:00:00"), Some(120));
        assert_eq!(limit_minutes("1-02"), Some(1440 + 120));
        assert_eq!(limit_minutes("1-00:30"), Some(1470));
        assert_eq!(limit_minutes("1-00:00:01"), Some(1441));
        // The last: found by fuzzing, once an overflow (a panic in a debug build).
        for t in [
            "UNLIMITED",
            "+10",
            "-5",
            "",
            "1:2:3:4",
            "x",
            "0-2033333333333333333:242",
            "99999999999999999-00",
        ] {
            assert_eq!(limit_minutes(t), None, "{t}");
        }
        assert_eq!(minutes_text(None), "infinite");
        assert_eq!(minutes_text(Some(-1)), "infinite");
        assert_eq!(minutes_text(Some(30)), "30:00");
        assert_eq!(minutes_text(Some(1500)), "1-01:00:00");
    }

    #[test]
    fn submission_body() {
        let spec = JobSpec {
            name: "sim".into(),
            exec: "/bin/echo".into(),
            args: vec!["a b".into()],
            class: JobClass::Batch,
            total_tasks: 4,
            tasks_per_node: 2,
            memory: 3 << 20,
            priority: -5,
            restart: true,
            output: Some("out-%j.txt".into()),
            ..JobSpec::default()
        };
        let env = vec![
            ("PATH".to_string(), "/bin".to_string()),
            ("SLURM_JWT".to_string(), "x".to_string()),
            ("GITHUB_TOKEN".to_string(), "y".to_string()),
        ];
        let b = submission(&spec, &env, "/home/a");
        let j = &b["job"];
        assert_eq!(j["name"], "sim");
        assert_eq!(j["current_working_directory"], "/home/a");
        assert_eq!(j["standard_output"], "out-%j.txt");
        assert_eq!(j["memory_per_node"], 3);
        assert_eq!(j["tasks"], 4);
        assert_eq!(j["tasks_per_node"], 2);
        assert_eq!(j["nice"], 5);
        assert_eq!(j["requeue"], true);
        assert_eq!(j["environment"], json!({"PATH": "/bin"}));
        assert!(
            b["script"]
                .as_str()
                .unwrap()
                .ends_with("\nsrun /bin/echo 'a b'\n")
        );
        assert_eq!(submitted(&json!({"job_id": 7, "errors": []})), Ok(7));
        assert!(
            submitted(&json!({"errors": [{"error": "Invalid partition name specified"}]}))
                .unwrap_err()
                .contains("partition")
        );
    }

    #[test]
    fn a_real_answer_reads_as_squeue_and_sinfo_do() {
        let jobs = crate::slurm::jobs::squeue(include_str!(
            "../../tests/fixtures/slurm/rest_v0.0.38_jobs.json"
        ))
        .unwrap();
        let labels: Vec<(String, &str)> =
            jobs.iter().map(|j| (j.label(), j.state.as_str())).collect();
        assert!(labels.contains(&("1_2".into(), "CANCELLED")), "{labels:?}");
        assert!(labels.contains(&("1_1".into(), "RUNNING")));
        assert!(labels.contains(&("6".into(), "PENDING")));
        let rows = state_rows(&jobs);
        assert!(rows.contains(&("6".into(), "PENDING".into(), "JobHeldUser".into())));
        let nodes = crate::slurm::parse::sinfo(include_str!(
            "../../tests/fixtures/slurm/rest_v0.0.38_nodes.json"
        ))
        .unwrap();
        assert_eq!(nodes.len(), 2);
        let doc: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/slurm/rest_v0.0.38_partitions.json"
        ))
        .unwrap();
        let p = partitions(&doc, &nodes);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name, "debug");
        assert_eq!(p[0].state, "up");
        assert_eq!(p[0].time_limit, "infinite");
        assert_eq!(p[0].nodes[3], 2);
        assert_eq!(p[0].cpus[3], 4);
    }

    #[test]
    fn a_pending_array_is_one_row_per_task() {
        let j = SlurmJob {
            id: 9,
            array: Array::Pending {
                job: 9,
                tasks: "1-3".into(),
            },
            state: "PENDING".into(),
            reason: "Resources".into(),
            ..SlurmJob::default()
        };
        let rows = state_rows(&[j]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].0, "9_3");
    }
}
