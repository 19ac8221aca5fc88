//! Job control for the console: one link per central manager (connection, login, heartbeats,
//! reconnect with failover), commands from the UI and events back to it, and remembered
//! passwords in the OS keyring. The UI never waits on any of it.

pub mod link;
pub mod secrets;

use crate::cm::job::{JobSpec, Signal};
use crate::cm::proto::{JobSummary, NodeInfo, ProcInfo};

/// Where a cluster's central manager is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerConfig {
    /// The cluster it manages (`*`: every cluster).
    pub cluster: String,
    /// Addresses, primary first, then shadows: `host:port` or `unix:/path`.
    pub addresses: Vec<String>,
    /// User to log in as by default.
    pub user: Option<String>,
    /// No dangerous actions for this cluster.
    pub read_only: bool,
    /// A note for the login screen (the demo shows its account here).
    pub login_hint: Option<String>,
    /// What answers: a central manager, or Slurm.
    pub kind: BackendKind,
    /// TLS to a manager over TCP, trusting this (none: plain text, loopback only).
    pub trust: Option<crate::cm::tls::Trust>,
    /// The elastic rule the queue is judged by (Slurm; a `gantry cm` judges by its own).
    pub queue: crate::queue::Rule,
}

/// The job-control backend of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// A KCMS/Gantry central manager (`gantry cm`).
    #[default]
    CentralManager,
    /// A Slurm controller, through its commands.
    Slurm {
        /// Seconds between polls.
        poll_secs: u64,
        /// `SLURM_CONF` for the commands, if not the default.
        conf: Option<String>,
        /// Where the commands are, if not on PATH.
        bin_dir: Option<String>,
        /// slurmrestd as the transport (none: the commands only).
        rest: Option<crate::slurm::rest::RestConfig>,
    },
}

/// A process to act on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// Node.
    pub node: String,
    /// Pid.
    pub pid: u32,
    /// Name, for messages.
    pub name: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} ({}) on {}", self.pid, self.name, self.node)
    }
}

/// What the UI asks a link to do.
#[derive(Clone)]
pub enum JobCommand {
    /// Log in; `remember` keeps the password in the keyring.
    Login {
        /// User.
        user: String,
        /// Password (kept in memory only to log in again after a reconnect).
        password: String,
        /// Save it in the keyring.
        remember: bool,
    },
    /// Try the keyring for this user.
    LoginFromKeyring {
        /// User.
        user: String,
    },
    /// Fetch processes, nodes and jobs now.
    Refresh,
    /// Signal processes.
    Signal {
        /// Which.
        targets: Vec<Target>,
        /// Signal.
        signal: Signal,
    },
    /// Migrate a process.
    Migrate {
        /// Which.
        target: Target,
        /// To which node.
        to: String,
    },
    /// Submit a job.
    Submit(Box<JobSpec>),
    /// Read part of a job's output or error file.
    Tail {
        /// Job.
        id: u64,
        /// `out` or `err`.
        stream: String,
        /// From this byte.
        offset: u64,
    },
    /// Log out and forget nothing else.
    Logout,
    /// Act on Slurm jobs named as Slurm names them (Slurm only).
    Slurm(crate::slurm::act::SlurmCommand),
    /// Everything Slurm says about one job (Slurm only).
    SlurmDetail(String),
    /// Power nodes up or down through Slurm's power saving (Slurm only; Slurm's own
    /// permissions decide).
    SlurmPower {
        /// The nodes, as Slurm names them.
        nodes: Vec<String>,
        /// Up, down, or down once their jobs end.
        change: crate::slurm::act::PowerChange,
    },
}

// Written by hand so that a password (or a Slurm token given at login) never reaches a log.
impl std::fmt::Debug for JobCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobCommand::Login { user, remember, .. } => f
                .debug_struct("Login")
                .field("user", user)
                .field("password", &"(hidden)")
                .field("remember", remember)
                .finish(),
            JobCommand::LoginFromKeyring { user } => f
                .debug_struct("LoginFromKeyring")
                .field("user", user)
                .finish(),
            JobCommand::Refresh => write!(f, "Refresh"),
            JobCommand::Signal { targets, signal } => f
                .debug_struct("Signal")
                .field("targets", targets)
                .field("signal", signal)
                .finish(),
            JobCommand::Migrate { target, to } => f
                .debug_struct("Migrate")
                .field("target", target)
                .field("to", to)
                .finish(),
            JobCommand::Submit(spec) => f.debug_tuple("Submit").field(spec).finish(),
            JobCommand::Tail { id, stream, offset } => f
                .debug_struct("Tail")
                .field("id", id)
                .field("stream", stream)
                .field("offset", offset)
                .finish(),
            JobCommand::Logout => write!(f, "Logout"),
            JobCommand::Slurm(c) => f.debug_tuple("Slurm").field(c).finish(),
            JobCommand::SlurmDetail(l) => f.debug_tuple("SlurmDetail").field(l).finish(),
            JobCommand::SlurmPower { nodes, change } => f
                .debug_struct("SlurmPower")
                .field("nodes", nodes)
                .field("change", change)
                .finish(),
        }
    }
}

impl JobCommand {
    /// The event that ends whatever waits on this command (a dialog's pending state) when it
    /// failed before it could say how (`why`); none for commands nothing waits on.
    pub fn failed(&self, why: &str) -> Option<JobEvent> {
        let why = why.to_string();
        Some(match self {
            JobCommand::Login { .. } | JobCommand::LoginFromKeyring { .. } => {
                JobEvent::LoginFailed(why)
            }
            JobCommand::Signal { targets, .. } => JobEvent::Signalled(
                targets
                    .iter()
                    .map(|t| (t.clone(), Err(why.clone())))
                    .collect(),
            ),
            JobCommand::Migrate { target, .. } => JobEvent::Migrated(target.clone(), Err(why)),
            JobCommand::Submit(_) => JobEvent::Submitted(Err(why)),
            JobCommand::Tail { .. } => JobEvent::TailFailed(why),
            JobCommand::Slurm(c) => JobEvent::SlurmDone {
                act: c.act.to_string(),
                outcomes: c
                    .jobs
                    .iter()
                    .map(|j| (j.clone(), Err(why.clone())))
                    .collect(),
            },
            JobCommand::SlurmPower { nodes, change } => JobEvent::SlurmDone {
                act: change.to_string(),
                outcomes: nodes
                    .iter()
                    .map(|n| (n.clone(), Err(why.clone())))
                    .collect(),
            },
            JobCommand::SlurmDetail(label) => JobEvent::SlurmDetail {
                label: label.clone(),
                fields: Err(why),
            },
            JobCommand::Refresh | JobCommand::Logout => return None,
        })
    }
}

/// The link's state, for the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Trying to connect (attempt, address).
    Connecting(String),
    /// Connected, not logged in (address).
    Connected(String),
    /// Logged in (address, user, role).
    LoggedIn(String, String, String),
    /// Every address failed; retrying after a pause (the error).
    Down(String),
}

/// What a link tells the UI.
#[derive(Debug, Clone)]
pub enum JobEvent {
    /// The link's state changed.
    State(LinkState),
    /// Which manager of a pair is active, and how its shadow is (protocol §9).
    Ha(crate::cm::proto::HaStatus),
    /// A login failed (the manager's words).
    LoginFailed(String),
    /// Fresh lists.
    Lists {
        /// Processes.
        procs: Vec<ProcInfo>,
        /// Nodes.
        nodes: Vec<NodeInfo>,
        /// Jobs.
        jobs: Vec<JobSummary>,
    },
    /// The outcome of a signal per target.
    Signalled(Vec<(Target, Result<(), String>)>),
    /// The outcome of a migration: new node and pid, or the error.
    Migrated(Target, Result<(String, u32), String>),
    /// The outcome of a submission.
    Submitted(Result<u64, String>),
    /// Part of a file.
    Tail {
        /// Job.
        id: u64,
        /// Stream.
        stream: String,
        /// Offset of `data`.
        offset: u64,
        /// Next offset.
        next: u64,
        /// File size.
        size: u64,
        /// Bytes.
        data: String,
    },
    /// A tail failed.
    TailFailed(String),
    /// Something the keyring said, worth showing.
    Note(String),
    /// Scheduler node states (Slurm): name, state words, reason.
    NodeStates(Vec<(String, String, String)>),
    /// Everything a Slurm poll saw (jobs with their array identity, nodes, partitions, the
    /// controller's health).
    Slurm(std::sync::Arc<crate::slurm::view::SlurmView>),
    /// What Slurm did to each job an action named.
    SlurmDone {
        /// The action, in words.
        act: String,
        /// Per job: its state now, or Slurm's message.
        outcomes: Vec<crate::slurm::act::Outcome>,
    },
    /// The queue's pressure, judged by the elastic rule (every few polls).
    Queue(std::sync::Arc<crate::queue::QueueReport>),
    /// One job in detail.
    SlurmDetail {
        /// The job.
        label: String,
        /// Sections of `field: value` pairs, or why they could not be read.
        fields: crate::slurm::detail::Detail,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_ends_what_waits_on_it() {
        let t = Target {
            node: "n1".into(),
            pid: 7,
            name: "x".into(),
        };
        let sig = JobCommand::Signal {
            targets: vec![t.clone(), t.clone()],
            signal: Signal::Term,
        };
        let Some(JobEvent::Signalled(out)) = sig.failed("bug") else {
            panic!("a kill is answered");
        };
        assert!(out.len() == 2 && out.iter().all(|(_, r)| r.is_err()));
        let slurm = JobCommand::Slurm(crate::slurm::act::SlurmCommand {
            jobs: vec!["12_3".into()],
            act: crate::slurm::act::SlurmAct::Cancel,
        });
        assert!(matches!(
            slurm.failed("bug"),
            Some(JobEvent::SlurmDone { outcomes, .. }) if outcomes[0] == ("12_3".into(), Err("bug".into()))
        ));
        assert!(matches!(
            JobCommand::Migrate {
                target: t,
                to: "n2".into()
            }
            .failed("bug"),
            Some(JobEvent::Migrated(_, Err(_)))
        ));
        assert!(matches!(
            JobCommand::SlurmDetail("12".into()).failed("bug"),
            Some(JobEvent::SlurmDetail { fields: Err(_), .. })
        ));
        assert!(JobCommand::Refresh.failed("bug").is_none());
    }

    #[test]
    fn a_login_password_is_never_printed() {
        let c = JobCommand::Login {
            user: "al".into(),
            password: "s3cret-token".into(),
            remember: false,
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("al") && !shown.contains("s3cret"), "{shown}");
    }
}
