//! Slurm's plain-text outputs, the fallback where a release's JSON is not understood: the
//! `sinfo -N -h -o` format below has kept its meaning across releases, while `sinfo --json`
//! changed shape more than once.

use super::parse::SlurmNode;

/// Arguments for one line per node: name, long state, CPUs, load, memory, free memory, reason.
pub const SINFO_ARGS: [&str; 4] = ["-N", "-h", "-o", "%N|%T|%c|%O|%m|%e|%E"];

/// Reads `sinfo -N -h -o "%N|%T|%c|%O|%m|%e|%E"`; lines it cannot read are skipped, a node
/// listed once per partition is kept once.
pub fn sinfo_nodes(out: &str) -> Vec<SlurmNode> {
    let mut nodes: Vec<SlurmNode> = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.trim().splitn(7, '|').collect();
        let [name, state, cpus, load, mem, free, reason] = f[..] else {
            continue;
        };
        if name.is_empty() || nodes.iter().any(|n| n.name == name) {
            continue;
        }
        let (state, flags) = long_state(state);
        let num = |v: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        nodes.push(SlurmNode {
            name: name.to_string(),
            state,
            flags,
            cpus: num(cpus).unwrap_or(0.0) as u32,
            load: num(load).unwrap_or(0.0) as f32,
            real_memory: num(mem).unwrap_or(0.0) as u64,
            free_memory: num(free).unwrap_or(0.0) as u64,
            reason: if reason == "none" {
                String::new()
            } else {
                reason.to_string()
            },
            ..SlurmNode::default()
        });
    }
    nodes
}

/// `%T`'s long state as base state and flags: `drained` is idle and draining done, `draining`
/// still runs work, a trailing `*` means not responding (other marks are power states).
fn long_state(v: &str) -> (String, Vec<String>) {
    let mut flags = Vec::new();
    let word = v.trim_end_matches(['*', '~', '#', '!', '%', '$', '@', '^', '-']);
    let marks = &v[word.len()..];
    for (mark, flag) in [
        ('*', "NOT_RESPONDING"),
        ('~', "POWERED_DOWN"),
        ('#', "POWERING_UP"),
        ('%', "POWERING_DOWN"),
        ('!', "POWER_DOWN"),
    ] {
        if marks.contains(mark) {
            flags.push(flag.to_string());
        }
    }
    let state = match word {
        "drained" => {
            flags.push("DRAIN".into());
            "idle"
        }
        "draining" => {
            flags.push("DRAIN".into());
            "allocated"
        }
        other => other,
    };
    (state.to_lowercase(), flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_format_and_its_state_marks() {
        let out = "c1|idle|2|0.01|1000|812|none\nc2|drained|2|N/A|1000|N/A|maintenance\n\
                   c3|down*|4|0.00|2000|1500|Not responding\nc1|idle|2|0.01|1000|812|none\nbad line\n";
        let n = sinfo_nodes(out);
        assert_eq!(n.len(), 3);
        assert_eq!(
            (n[0].state_text(), n[0].cpus, n[0].free_memory),
            ("idle".into(), 2, 812)
        );
        assert!(n[0].usable() && n[0].reason.is_empty());
        assert_eq!(n[1].state_text(), "idle+drain");
        assert!(!n[1].usable());
        assert_eq!(n[1].reason, "maintenance");
        assert_eq!(n[2].state_text(), "down+not_responding");
        assert_eq!(n[2].real_memory, 2000);
    }
}
