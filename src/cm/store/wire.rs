//! Store writes as protocol records, for the replication log and the link to a shadow: one
//! record per write, its first field saying which kind (`J` job, `T` task, `E` event, `N` node).
//! The same text is kept in the log table, so what a shadow receives is byte for byte what the
//! primary committed.

use super::{JobRecord, JobState, TaskRecord, Write, decode_spec, encode_spec, join, split};
use crate::cm::codec::{self, Frame};

/// A record that is not a write this version knows.
#[derive(Debug, thiserror::Error)]
#[error("replicated write: {0}")]
pub struct BadWrite(pub String);

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn num<T: std::str::FromStr>(what: &str, v: &str) -> Result<T, BadWrite> {
    v.parse()
        .map_err(|_| BadWrite(format!("{what} '{}' is not a number", crate::cm::esc(v))))
}

fn opt_num<T: std::str::FromStr>(what: &str, v: &str) -> Result<Option<T>, BadWrite> {
    if v.is_empty() {
        Ok(None)
    } else {
        num(what, v).map(Some)
    }
}

/// One write as a record.
pub fn record(w: &Write) -> Vec<String> {
    match w {
        Write::Job(j) => vec![
            "J".into(),
            j.id.to_string(),
            j.user.clone(),
            encode_spec(&j.spec),
            j.state.as_str().into(),
            j.submitted.to_string(),
            opt(j.started),
            opt(j.ended),
            join(&j.nodes),
            join(&j.pids),
            opt(j.exit),
            j.checkpoint_dir.clone(),
            j.account.clone(),
            j.reason.clone(),
        ],
        Write::Task(t) => vec![
            "T".into(),
            t.id.clone(),
            t.job.to_string(),
            t.node.clone(),
            t.pid.to_string(),
            t.state.clone(),
            opt(t.exit),
        ],
        Write::Event(job, t, what) => {
            vec!["E".into(), job.to_string(), t.to_string(), what.clone()]
        }
        Write::Node(name) => vec!["N".into(), name.clone()],
    }
}

/// Reads a record back.
pub fn from_record(r: &[String]) -> Result<Write, BadWrite> {
    let f = |i: usize| r.get(i).map_or("", String::as_str);
    let want = |n: usize| {
        if r.len() == n {
            Ok(())
        } else {
            Err(BadWrite(format!(
                "a '{}' record has {} fields, not {n}",
                crate::cm::esc(f(0)),
                r.len()
            )))
        }
    };
    Ok(match f(0) {
        "J" => {
            want(14)?;
            Write::Job(Box::new(JobRecord {
                id: num("job id", f(1))?,
                user: f(2).into(),
                spec: decode_spec(f(3)).map_err(BadWrite)?,
                state: JobState::parse(f(4))
                    .ok_or_else(|| BadWrite(format!("state '{}'", crate::cm::esc(f(4)))))?,
                submitted: num("submitted", f(5))?,
                started: opt_num("started", f(6))?,
                ended: opt_num("ended", f(7))?,
                nodes: split(f(8)),
                pids: split(f(9))
                    .iter()
                    .map(|p| num("pid", p))
                    .collect::<Result<_, _>>()?,
                exit: opt_num("exit", f(10))?,
                checkpoint_dir: f(11).into(),
                account: f(12).into(),
                reason: f(13).into(),
            }))
        }
        "T" => {
            want(7)?;
            Write::Task(TaskRecord {
                id: f(1).into(),
                job: num("job id", f(2))?,
                node: f(3).into(),
                pid: num("pid", f(4))?,
                state: f(5).into(),
                exit: opt_num("exit", f(6))?,
            })
        }
        "E" => {
            want(4)?;
            Write::Event(num("job id", f(1))?, num("time", f(2))?, f(3).into())
        }
        "N" => {
            want(2)?;
            Write::Node(f(1).into())
        }
        other => {
            return Err(BadWrite(format!(
                "unknown kind '{}'",
                crate::cm::esc(&other.chars().take(16).collect::<String>())
            )));
        }
    })
}

/// A batch as one line of text (no newline), as the log keeps it.
pub fn encode_batch(writes: &[Write]) -> String {
    codec::encode(&Frame {
        tag: None,
        records: writes.iter().map(record).collect(),
        terminated: false,
    })
}

/// Reads a batch's records.
pub fn decode_records(records: &[Vec<String>]) -> Result<Vec<Write>, BadWrite> {
    records
        .iter()
        .filter(|r| !(r.len() == 1 && r[0].is_empty()))
        .map(|r| from_record(r))
        .collect()
}

/// Reads a batch from its logged text.
pub fn decode_batch(text: &str) -> Result<Vec<Write>, BadWrite> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let f = codec::decode(text.as_bytes(), usize::MAX).map_err(|e| BadWrite(e.to_string()))?;
    decode_records(&f.records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cm::job::JobSpec;

    #[test]
    fn every_kind_of_write_survives_the_round_trip_with_awkward_text() {
        let job = JobRecord {
            id: 7,
            user: "al|ice".into(),
            spec: JobSpec {
                name: "a&b\nc".into(),
                exec: "/bin/echo".into(),
                args: vec!["x|y".into(), "\\".into()],
                ..JobSpec::default()
            },
            state: JobState::Running,
            submitted: 1,
            started: Some(2),
            ended: None,
            nodes: vec!["n1".into(), "n2".into()],
            pids: vec![3, 4],
            exit: Some(-1),
            checkpoint_dir: "/ck/7".into(),
            account: "alice".into(),
            reason: "why & how".into(),
        };
        let writes = vec![
            Write::Job(Box::new(job)),
            Write::Task(TaskRecord {
                id: "7.0".into(),
                job: 7,
                node: "n1".into(),
                pid: 3,
                state: "running".into(),
                exit: None,
            }),
            Write::Event(7, 9, "said |&\\ things".into()),
            Write::Node("n1".into()),
        ];
        let text = encode_batch(&writes);
        assert!(!text.contains('\n'));
        let back = decode_batch(&text).unwrap();
        assert_eq!(format!("{back:?}"), format!("{writes:?}"));
        assert!(decode_batch("").unwrap().is_empty());
        assert!(decode_batch("J|1").is_err());
        assert!(decode_batch("Z|1").is_err());
    }
}
