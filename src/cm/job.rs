//! A job as KCMS's submission form describes it.

use std::fmt;
use std::str::FromStr;

/// Job Classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum JobClass {
    /// One task.
    #[default]
    Single,
    /// Independent tasks spread over nodes.
    Batch,
    /// Cooperating tasks spread over nodes.
    Parallel,
}

/// Load Metric: what "least loaded" means when placing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum LoadMetric {
    /// One-minute load average.
    #[default]
    Load,
    /// CPU run-queue length.
    RunQueue,
    /// Load average plus memory pressure.
    LoadMem,
}

/// A signal the console may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Polite termination (the default choice).
    Term,
    /// Immediate kill.
    Kill,
    /// Interrupt.
    Int,
    /// Hang-up.
    Hup,
    /// Stop (pause).
    Stop,
    /// Continue after a stop.
    Cont,
    /// User-defined 1.
    Usr1,
    /// User-defined 2.
    Usr2,
}

macro_rules! text_enum {
    ($t:ty, $($v:path => $s:literal),+ $(,)?) => {
        impl $t {
            /// The protocol spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($v => $s),+ }
            }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.to_ascii_lowercase().as_str() {
                    $($s => Ok($v),)+
                    other => Err(format!("'{other}' is not one of: {}", [$($s),+].join(", "))),
                }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

text_enum!(JobClass, JobClass::Single => "single", JobClass::Batch => "batch", JobClass::Parallel => "parallel");
text_enum!(LoadMetric, LoadMetric::Load => "load", LoadMetric::RunQueue => "runqueue", LoadMetric::LoadMem => "loadmem");

impl Signal {
    /// Every signal, SIGTERM first (the chooser starts there).
    pub const ALL: [Signal; 8] = [
        Signal::Term,
        Signal::Kill,
        Signal::Int,
        Signal::Hup,
        Signal::Stop,
        Signal::Cont,
        Signal::Usr1,
        Signal::Usr2,
    ];

    /// The protocol spelling (`TERM`).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
            Signal::Int => "INT",
            Signal::Hup => "HUP",
            Signal::Stop => "STOP",
            Signal::Cont => "CONT",
            Signal::Usr1 => "USR1",
            Signal::Usr2 => "USR2",
        }
    }

    /// The signal number on Linux.
    pub fn number(self) -> i32 {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
            Signal::Int => libc::SIGINT,
            Signal::Hup => libc::SIGHUP,
            Signal::Stop => libc::SIGSTOP,
            Signal::Cont => libc::SIGCONT,
            Signal::Usr1 => libc::SIGUSR1,
            Signal::Usr2 => libc::SIGUSR2,
        }
    }
}

impl FromStr for Signal {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let up = s.to_ascii_uppercase();
        let name = up.strip_prefix("SIG").unwrap_or(&up);
        Signal::ALL
            .into_iter()
            .find(|x| x.as_str() == name)
            .ok_or_else(|| format!("'{s}' is not a signal Gantry sends (TERM, KILL, INT, HUP, STOP, CONT, USR1, USR2)"))
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIG{}", self.as_str())
    }
}

/// What a submission asks for: KCMS's job form, field by field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobSpec {
    /// Job Name.
    pub name: String,
    /// Executing File.
    pub exec: String,
    /// Arguments (No. of Arguments is their count).
    pub args: Vec<String>,
    /// Job Classification.
    pub class: JobClass,
    /// Input File (stdin).
    pub input: Option<String>,
    /// Output File (stdout).
    pub output: Option<String>,
    /// Error Log File (stderr).
    pub error: Option<String>,
    /// Base Directory.
    pub dir: Option<String>,
    /// Priority: higher runs first.
    pub priority: i32,
    /// Memory Size in bytes a node must have free.
    pub memory: u64,
    /// No. of Tasks per Node.
    pub tasks_per_node: u32,
    /// No. of Total Tasks.
    pub total_tasks: u32,
    /// RSS Limit in bytes (0: none).
    pub rss_limit: u64,
    /// Restart from Check Point.
    pub restart: bool,
    /// Load Metric.
    pub load_metric: LoadMetric,
}

impl JobSpec {
    /// The `key=value` fields of SUBMIT, in the documented order.
    pub fn to_fields(&self) -> Vec<String> {
        let mut v = vec![format!("name={}", self.name), format!("exec={}", self.exec)];
        v.extend(self.args.iter().map(|a| format!("arg={a}")));
        v.push(format!("class={}", self.class));
        for (k, val) in [
            ("input", &self.input),
            ("output", &self.output),
            ("error", &self.error),
            ("dir", &self.dir),
        ] {
            if let Some(x) = val {
                v.push(format!("{k}={x}"));
            }
        }
        v.push(format!("priority={}", self.priority));
        v.push(format!("memory={}", self.memory));
        v.push(format!("tasks_per_node={}", self.tasks_per_node));
        v.push(format!("total_tasks={}", self.total_tasks));
        v.push(format!("rss_limit={}", self.rss_limit));
        v.push(format!(
            "restart={}",
            if self.restart { "yes" } else { "no" }
        ));
        v.push(format!("load_metric={}", self.load_metric));
        v
    }

    /// Reads `key=value` fields; unknown keys are errors that name the key.
    pub fn from_fields(fields: &[String]) -> Result<Self, String> {
        let mut j = JobSpec {
            tasks_per_node: 1,
            total_tasks: 1,
            ..JobSpec::default()
        };
        let num = |k: &str, v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{k}: '{v}' is not a whole number"))
        };
        for f in fields {
            let (k, v) = f
                .split_once('=')
                .ok_or_else(|| format!("'{f}' is not key=value"))?;
            match k {
                "name" => j.name = v.to_string(),
                "exec" => j.exec = v.to_string(),
                "arg" => j.args.push(v.to_string()),
                "class" => j.class = v.parse().map_err(|e| format!("class: {e}"))?,
                "input" => j.input = Some(v.to_string()),
                "output" => j.output = Some(v.to_string()),
                "error" => j.error = Some(v.to_string()),
                "dir" => j.dir = Some(v.to_string()),
                "priority" => {
                    j.priority = v
                        .parse()
                        .map_err(|_| format!("priority: '{v}' is not a whole number"))?
                }
                "memory" => j.memory = num(k, v)?,
                "tasks_per_node" => j.tasks_per_node = num(k, v)?.min(u64::from(u32::MAX)) as u32,
                "total_tasks" => j.total_tasks = num(k, v)?.min(u64::from(u32::MAX)) as u32,
                "rss_limit" => j.rss_limit = num(k, v)?,
                "restart" => {
                    j.restart = match v {
                        "yes" | "true" | "1" => true,
                        "no" | "false" | "0" => false,
                        _ => return Err(format!("restart: '{v}' is not yes or no")),
                    }
                }
                "load_metric" => {
                    j.load_metric = v.parse().map_err(|e| format!("load_metric: {e}"))?
                }
                other => return Err(format!("unknown job field '{other}'")),
            }
        }
        Ok(j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let j = JobSpec {
            name: "solve".into(),
            exec: "/shared/bin/solver".into(),
            args: vec!["--n".into(), "10".into(), "a=b".into()],
            class: JobClass::Parallel,
            input: Some("/shared/in.dat".into()),
            output: Some("/shared/out.txt".into()),
            error: None,
            dir: Some("/shared/run".into()),
            priority: -3,
            memory: 1 << 30,
            tasks_per_node: 2,
            total_tasks: 8,
            rss_limit: 1 << 31,
            restart: true,
            load_metric: LoadMetric::LoadMem,
        };
        assert_eq!(JobSpec::from_fields(&j.to_fields()), Ok(j));
        assert!(
            JobSpec::from_fields(&["colour=red".into()])
                .unwrap_err()
                .contains("unknown job field 'colour'")
        );
        assert!(
            JobSpec::from_fields(&["memory=lots".into()])
                .unwrap_err()
                .contains("memory: 'lots'")
        );
    }

    #[test]
    fn signals() {
        assert_eq!("sigterm".parse::<Signal>(), Ok(Signal::Term));
        assert_eq!("USR2".parse::<Signal>(), Ok(Signal::Usr2));
        assert!("SEGV".parse::<Signal>().is_err());
        assert_eq!(Signal::ALL[0], Signal::Term);
        assert_eq!(Signal::Kill.number(), 9);
    }
}
