//! Slurm's outputs, read defensively: `squeue --json` and `sinfo --json` (22.05's openapi
//! v0.0.38 layout, and the newer shapes where numbers became `{"set","number"}` objects and
//! states became lists), `scontrol -o show job`, `scontrol listpids` and `sacct -c -P` (sstat's
//! lines are read in usage.rs). Unknown fields are ignored; missing ones are reported by name;
//! nothing panics.

use serde_json::Value;

/// A node as sinfo reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SlurmNode {
    /// Name.
    pub name: String,
    /// State, lower case (idle, allocated, mixed, down, …).
    pub state: String,
    /// Flags (DRAIN, NOT_RESPONDING, …).
    pub flags: Vec<String>,
    /// CPUs.
    pub cpus: u32,
    /// Load average.
    pub load: f32,
    /// MB.
    pub real_memory: u64,
    /// MB.
    pub free_memory: u64,
    /// Why drained or down.
    pub reason: String,
    /// CPUs allocated to jobs.
    pub alloc_cpus: u32,
    /// MB allocated to jobs.
    pub alloc_memory: u64,
    /// Generic resources (`gpu:2`).
    pub gres: String,
    /// Features.
    pub features: String,
    /// Partitions it is in.
    pub partitions: Vec<String>,
}

impl SlurmNode {
    /// How an operator says it: `idle`, `mixed+drain`, `down+not_responding`.
    pub fn state_text(&self) -> String {
        let mut s = self.state.clone();
        for f in &self.flags {
            s.push('+');
            s.push_str(&f.to_lowercase());
        }
        s
    }

    /// Usable for new work.
    pub fn usable(&self) -> bool {
        self.state != "down"
            && !self
                .flags
                .iter()
                .any(|f| matches!(f.as_str(), "DRAIN" | "NOT_RESPONDING" | "DOWN" | "FAIL"))
    }
}

/// A number that may be plain or wrapped as `{"set": true, "number": N}`.
pub(crate) fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::Object(o) => {
            if o.get("set").and_then(Value::as_bool) == Some(false) {
                return None;
            }
            number(o.get("number"))
        }
        _ => None,
    }
}

pub(crate) fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

pub(crate) fn top<'a>(doc: &'a Value, key: &str, what: &str) -> Result<&'a Vec<Value>, String> {
    if let Some(errs) = doc.get("errors").and_then(Value::as_array)
        && let Some(e) = errs.first()
    {
        let msg = e
            .get("error")
            .or_else(|| e.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("error");
        return Err(format!("{what}: {msg}"));
    }
    doc.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{what}: no '{key}' list in its JSON"))
}

/// Reads `sinfo --json`.
pub fn sinfo(json: &str) -> Result<Vec<SlurmNode>, String> {
    let doc: Value = serde_json::from_str(json).map_err(|e| format!("sinfo --json: {e}"))?;
    let mut out: Vec<SlurmNode> = Vec::new();
    for n in top(&doc, "nodes", "sinfo --json")? {
        let name = text(n.get("name"));
        if name.is_empty() {
            return Err("sinfo --json: a node without name".into());
        }
        // Newer releases put every state word in one list.
        let (state, mut flags) = match n.get("state") {
            Some(Value::Array(a)) => {
                let words: Vec<String> = a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                let base = words.first().cloned().unwrap_or_default().to_lowercase();
                (base, words.into_iter().skip(1).collect())
            }
            other => (text(other).to_lowercase(), Vec::new()),
        };
        if let Some(Value::Array(a)) = n.get("state_flags") {
            flags.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
        }
        if out.iter().any(|o| o.name == name) {
            continue; // sinfo repeats a node once per partition
        }
        out.push(SlurmNode {
            name,
            state,
            flags,
            cpus: number(n.get("cpus")).unwrap_or(0) as u32,
            load: number(n.get("cpu_load")).unwrap_or(0) as f32 / 100.0,
            real_memory: number(n.get("real_memory")).unwrap_or(0).max(0) as u64,
            free_memory: number(n.get("free_memory")).unwrap_or(0).max(0) as u64,
            reason: text(n.get("reason")),
            alloc_cpus: number(n.get("alloc_cpus")).unwrap_or(0).max(0) as u32,
            alloc_memory: number(n.get("alloc_memory")).unwrap_or(0).max(0) as u64,
            gres: text(n.get("gres")),
            features: match text(n.get("active_features")) {
                a if a.is_empty() => text(n.get("features")),
                a => a,
            },
            partitions: match n.get("partitions") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            },
        });
    }
    Ok(out)
}

/// `Key=Value` pairs of one `scontrol -o show …` line (values may hold spaces only in the last
/// field Slurm prints, which we do not need).
pub fn scontrol_line(line: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in line.split_whitespace().filter_map(|w| w.split_once('=')) {
        // A user's job name or command can hold ` StdOut=/etc/shadow`: Slurm prints its own
        // field after those, so the last value of a key is Slurm's.
        match out.iter_mut().find(|(key, _)| key == k) {
            Some(kv) => kv.1 = v.to_string(),
            None => out.push((k.to_string(), v.to_string())),
        }
    }
    out
}

/// Pids of `scontrol listpids`: (pid, step, leads a task).
pub fn listpids(out: &str) -> Vec<(u32, String, bool)> {
    out.lines()
        .skip_while(|l| !l.starts_with("PID"))
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.first()?.parse().ok()?,
                f.get(2).unwrap_or(&"").to_string(),
                // A task's own process has a LOCALID; what it started shows "-".
                f.get(3).is_some_and(|id| id.parse::<u32>().is_ok()),
            ))
        })
        .collect()
}

/// Epoch seconds (`SLURM_TIME_FORMAT=%s`, what Gantry asks for), or `2026-11-22T13:28:13`
/// (Slurm's default, local time) treated as UTC; 0 for anything else (`Unknown`, `None`, a
/// date that does not exist).
pub fn parse_time(s: &str) -> u64 {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().unwrap_or(0);
    }
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S")
        .map_or(0, |t| u64::try_from(t.and_utc().timestamp()).unwrap_or(0))
}

/// A raw wait status as an exit code, or 128 + the signal that ended it.
pub fn exit_code(raw: i64) -> i32 {
    if raw & 0x7f == 0 {
        ((raw >> 8) & 0xff) as i32
    } else {
        128 + (raw & 0x7f) as i32
    }
}

/// Expands a Slurm host list: `c[1-3,5],gpu7` → c1 c2 c3 c5 gpu7.
pub fn expand_hosts(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    let bytes = list.as_bytes();
    let mut parts = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    for p in parts
        .into_iter()
        .filter(|p| !p.is_empty() && *p != "(null)")
    {
        match (p.find('['), p.rfind(']')) {
            (Some(a), Some(b)) if a < b => {
                let (prefix, suffix) = (&p[..a], &p[b + 1..]);
                for r in p[a + 1..b].split(',') {
                    match r.split_once('-') {
                        Some((lo, hi)) => {
                            let width = lo.len();
                            if let (Ok(lo), Ok(hi)) = (lo.parse::<u64>(), hi.parse::<u64>()) {
                                for n in lo..=hi.min(lo + 100_000) {
                                    out.push(format!("{prefix}{n:0width$}{suffix}"));
                                }
                            }
                        }
                        None => out.push(format!("{prefix}{r}{suffix}")),
                    }
                }
            }
            _ => out.push(p.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/slurm")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn real_sinfo() {
        assert_eq!(exit_code(15), 143);
        assert_eq!(exit_code(768), 3);
        let nodes = sinfo(&fixture("sinfo_multinode_drain_down.json")).unwrap();
        let c3 = nodes.iter().find(|n| n.name == "c3").unwrap();
        assert_eq!(c3.state_text(), "mixed+drain");
        assert!(!c3.usable());
        assert_eq!(c3.reason, "maintenance test");
        assert!(nodes.iter().find(|n| n.name == "c2").unwrap().usable());
        assert!(sinfo(&fixture("sinfo.json")).is_ok());
    }

    #[test]
    fn newer_layouts_and_damage_do_not_panic() {
        use crate::slurm::jobs::squeue;
        let newer = r#"{"jobs":[{"job_id":7,"name":"x","user_name":"al","job_state":["RUNNING"],
            "nodes":"c[1-2]","submit_time":{"set":true,"number":5},"start_time":{"set":true,"number":6},
            "end_time":{"set":false,"number":0},"exit_code":{"status":["EXITED"],"return_code":{"set":true,"number":3}},
            "brand_new_field":{"a":1}}]}"#;
        let j = &squeue(newer).unwrap()[0];
        assert_eq!((j.state.as_str(), j.submit, j.end), ("RUNNING", 5, 0));
        assert_eq!(j.exit, None, "a running job has not exited");
        assert_eq!(
            squeue(r#"{"jobs":[{"name":"x"}]}"#).unwrap_err(),
            "squeue --json: a job without job_id"
        );
        assert!(squeue("{").is_err());
        assert_eq!(
            squeue(r#"{"jobs":[{"job_id":9,"name":"x"}]}"#).unwrap_err(),
            "squeue --json: job 9 without job_state"
        );
        assert!(
            sinfo(r#"{"meta":{}}"#)
                .unwrap_err()
                .contains("no 'nodes' list")
        );
        let n = &sinfo(r#"{"nodes":[{"name":"c1","state":["IDLE","DRAIN"]}]}"#).unwrap()[0];
        assert_eq!(n.state_text(), "idle+drain");
    }

    #[test]
    fn scontrol_listpids_sacct_and_hostlists() {
        let spoof = scontrol_line(
            "JobId=9 JobName=x StdOut=/etc/shadow UserId=root(0) UserId=al(1000) StdOut=/home/al/o Power=",
        );
        assert!(spoof.contains(&("StdOut".into(), "/home/al/o".into())));
        assert!(spoof.contains(&("UserId".into(), "al(1000)".into())));
        let first = fixture("scontrol_show_job_oneliner.txt");
        let kv = scontrol_line(first.lines().next().unwrap_or(""));
        assert!(kv.iter().any(|(k, v)| k == "JobState" && v == "COMPLETED"));
        assert_eq!(
            listpids(&fixture("scontrol_listpids.txt")),
            vec![
                (23861, "batch".into(), true),
                (23862, "batch".into(), false)
            ]
        );
        assert_eq!(parse_time("1970-01-02T00:00:01"), 86_401);
        assert_eq!(parse_time("1796037058"), 1_796_037_058);
        assert_eq!(parse_time("Unknown"), 0);
        // From the fuzzer: a year with too many digits overflowed the day arithmetic.
        assert_eq!(parse_time("2000000000026-11-22T13:28:13"), 0);
        assert_eq!(parse_time("2026-13-45T99:00:00"), 0);
        assert_eq!(parse_time("2026-11-22T13:28:13"), 1_795_354_093);
        assert_eq!(
            expand_hosts("c[1-3,5],gpu7"),
            vec!["c1", "c2", "c3", "c5", "gpu7"]
        );
        assert_eq!(expand_hosts("n[08-10]"), vec!["n08", "n09", "n10"]);
        assert!(expand_hosts("").is_empty());
    }
}
