//! The submission form as an `sbatch` command line.

use crate::cm::job::{JobClass, JobSpec};

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+%@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// sbatch's arguments for a job (without the program name). Single jobs run the executable
/// once; Batch and Parallel jobs run it as `srun` tasks. Restart from Check Point becomes
/// `--requeue`. The Load Metric has no sbatch counterpart and is not sent.
pub fn sbatch_args(spec: &JobSpec) -> Vec<String> {
    let mut a = Vec::new();
    if !spec.name.is_empty() {
        a.push(format!("--job-name={}", spec.name));
    }
    if let Some(d) = &spec.dir {
        a.push(format!("--chdir={d}"));
    }
    if let Some(p) = &spec.input {
        a.push(format!("--input={p}"));
    }
    if let Some(p) = &spec.output {
        a.push(format!("--output={p}"));
    }
    if let Some(p) = &spec.error {
        a.push(format!("--error={p}"));
    }
    let mem = if spec.memory > 0 {
        spec.memory
    } else {
        spec.rss_limit
    };
    if mem > 0 {
        a.push(format!("--mem={}M", mem.div_ceil(1 << 20)));
    }
    match spec.class {
        JobClass::Single => {}
        JobClass::Batch | JobClass::Parallel => {
            a.push(format!("--ntasks={}", spec.total_tasks.max(1)));
            a.push(format!("--ntasks-per-node={}", spec.tasks_per_node.max(1)));
        }
    }
    if spec.priority != 0 {
        // Higher KCMS priority runs first; Slurm's nice works the other way round.
        a.push(format!("--nice={}", -spec.priority));
    }
    if spec.restart {
        a.push("--requeue".into());
    }
    let mut cmd: Vec<String> = Vec::new();
    if spec.class != JobClass::Single {
        cmd.push("srun".into());
    }
    cmd.push(shell_quote(&spec.exec));
    cmd.extend(spec.args.iter().map(|x| shell_quote(x)));
    a.push(format!("--wrap={}", cmd.join(" ")));
    a
}

/// The exact command, as the preview shows it.
pub fn sbatch_command(spec: &JobSpec) -> String {
    std::iter::once("sbatch".to_string())
        .chain(sbatch_args(spec).iter().map(|a| shell_quote(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The job id in `Submitted batch job N`.
pub fn submitted_id(out: &str) -> Option<u64> {
    out.split_whitespace().last()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_become_sbatch_options() {
        let spec = JobSpec {
            name: "run 1".into(),
            exec: "/bin/solver".into(),
            args: vec!["-n".into(), "a b".into()],
            class: JobClass::Parallel,
            output: Some("/tmp/o-%j.txt".into()),
            dir: Some("/scratch".into()),
            memory: 3 << 29,
            tasks_per_node: 2,
            total_tasks: 8,
            priority: 5,
            restart: true,
            ..JobSpec::default()
        };
        assert_eq!(
            sbatch_command(&spec),
            "sbatch '--job-name=run 1' --chdir=/scratch --output=/tmp/o-%j.txt --mem=1536M --ntasks=8 --ntasks-per-node=2 --nice=-5 --requeue '--wrap=srun /bin/solver -n '\\''a b'\\'''"
        );
        assert_eq!(submitted_id("Submitted batch job 42\n"), Some(42));
    }
}
