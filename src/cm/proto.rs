//! The protocol's messages as types: every request and reply of docs/protocol.md, with
//! conversion to and from frames. Both the manager and its clients use these.

use super::codec::Frame;
use super::job::{JobSpec, Signal};

/// Protocol version spoken.
pub const VERSION: u32 = 1;

/// One process as `REQ` lists it (KCMS: pid, name, state 0 running / 1 terminated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyProc {
    /// Process id.
    pub pid: u32,
    /// Process name.
    pub name: String,
    /// Terminated (KCMS pstate 1) rather than running (0).
    pub terminated: bool,
}

/// A node's processes in a `REQ` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeProcs {
    /// Node name.
    pub node: String,
    /// Its processes.
    pub procs: Vec<LegacyProc>,
}

/// One process as `PS` and the agents report it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcInfo {
    /// Node it runs on (empty in an agent's own report).
    pub node: String,
    /// Process id.
    pub pid: u32,
    /// The kernel's state letter (R, S, D, I, T, Z…), or X gone.
    pub state: char,
    /// Command name.
    pub name: String,
    /// Owner's user name.
    pub user: String,
    /// CPU use in percent of one CPU.
    pub cpu_pct: f32,
    /// Resident memory in KiB.
    pub rss_kb: u64,
    /// The job it belongs to (empty: not started by the manager); task id in agent reports.
    pub job: String,
    /// When it started, in clock ticks since its node booted (0: unknown): with the pid, it
    /// names the process so that a reused pid is never signalled.
    pub start: u64,
}

/// One node as `NODES` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// Connected and heard from.
    pub up: bool,
    /// CPUs.
    pub cpus: u32,
    /// One-minute load average.
    pub load1: f32,
    /// Runnable tasks.
    pub runqueue: u32,
    /// Memory in KiB.
    pub mem_total_kb: u64,
    /// Free memory in KiB.
    pub mem_free_kb: u64,
    /// Processes.
    pub procs: u32,
}

/// One job as `JOBS` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// Job id.
    pub id: u64,
    /// Job name.
    pub name: String,
    /// Owner.
    pub user: String,
    /// queued, running, done, failed, killed, migrated, lost.
    pub state: String,
    /// Nodes, comma-separated.
    pub nodes: String,
    /// Epoch seconds.
    pub submitted: u64,
    /// Epoch seconds, when started.
    pub started: Option<u64>,
    /// Epoch seconds, when ended.
    pub ended: Option<u64>,
    /// Exit status, when ended.
    pub exit: Option<i32>,
    /// Why it ended as it did, when the status says too little (empty: nothing to add).
    pub reason: String,
}

/// Every request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// KCMS: list processes.
    Req {
        /// Whose.
        user: String,
    },
    /// KCMS: migrate a process.
    Mig {
        /// Process id.
        pid: u32,
        /// Source node.
        from: String,
        /// Target node.
        to: String,
    },
    /// KCMS: kill a process.
    Kil {
        /// Process id.
        pid: u32,
        /// Its node.
        node: String,
    },
    /// Version negotiation.
    Hello {
        /// Highest version the client speaks.
        version: u32,
        /// Client name.
        client: String,
    },
    /// Log in.
    Login {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// Continue a session.
    Resume {
        /// Session token.
        token: String,
    },
    /// End the session.
    Logout,
    /// Who this connection is logged in as (answered like RESUME).
    Whoami,
    /// Close the connection.
    Bye,
    /// Link check.
    Ping,
    /// Node list.
    Nodes,
    /// Process list with details.
    Ps {
        /// Whose (empty: one's own).
        user: String,
    },
    /// Send a signal.
    Sig {
        /// Process id.
        pid: u32,
        /// Its node.
        node: String,
        /// Which signal.
        signal: Signal,
    },
    /// Submit a job.
    Submit(JobSpec),
    /// Job list.
    Jobs {
        /// Whose (empty: one's own; `*`: everyone's).
        user: String,
    },
    /// One job.
    Job {
        /// Job id.
        id: u64,
    },
    /// Cancel a job: a queued one never starts, a running one is stopped.
    Cancel {
        /// Job id.
        id: u64,
    },
    /// Part of a job's output or error file.
    Tail {
        /// Job id.
        id: u64,
        /// `out` or `err`.
        stream: String,
        /// Byte offset.
        offset: u64,
        /// Most bytes wanted.
        max: u32,
    },
    /// Agent: register.
    Agent {
        /// Node name.
        name: String,
        /// Protocol version.
        version: u32,
        /// CPUs.
        cpus: u32,
        /// Memory in KiB.
        mem_total_kb: u64,
    },
    /// Agent: heartbeat.
    Heartbeat {
        /// Load average.
        load1: f32,
        /// Run queue.
        runqueue: u32,
        /// Free memory in KiB.
        mem_free_kb: u64,
        /// Process count.
        procs: u32,
    },
    /// Agent: its processes.
    Procs(Vec<ProcInfo>),
    /// Agent: tasks it runs (after reconnecting).
    Tasks(Vec<(String, u32)>),
    /// Agent: a task's process ended.
    Exited {
        /// Task id.
        task: String,
        /// Process id.
        pid: u32,
        /// Wait status: exit code, or 128 + signal.
        status: i32,
    },
    /// Manager → agent: start a task.
    Run {
        /// Task id.
        task: String,
        /// Job id.
        job: u64,
        /// The manager user who submitted the job.
        user: String,
        /// The Unix account the task runs as (the manager's mapping of `user`).
        account: String,
        /// The account may be root (the manager's `root_users` lists the user).
        root_ok: bool,
        /// What to run.
        spec: JobSpec,
        /// Checkpoint directory.
        checkpoint_dir: String,
    },
    /// Manager → agent: read part of a task's output or error file as the job's account.
    Read {
        /// Task id.
        task: String,
        /// `out` or `err`.
        stream: String,
        /// Byte offset.
        offset: u64,
        /// Most bytes wanted.
        max: u32,
        /// The account that reads.
        account: String,
        /// The account may be root (the job's user is in `root_users`).
        root_ok: bool,
        /// The job's base directory as submitted (relative paths are relative to it).
        dir: String,
        /// The file as the job named it; empty: the task's spool file.
        file: String,
    },
    /// Manager → agent: signal a process.
    Signal {
        /// Process id.
        pid: u32,
        /// Which.
        signal: Signal,
        /// Its start time as reported (0: not checked).
        start: u64,
        /// Whose it must be: empty for a task's main process, `task:ID` for another process
        /// of a task, `user:NAME` for any other process (its Unix owner).
        owner: String,
    },
    /// Manager → agent: stop a task (TERM, then KILL after the grace).
    Stop {
        /// Task id.
        task: String,
        /// Seconds between TERM and KILL.
        grace_secs: u32,
    },
    /// Active manager → agent: renew its lease (§9).
    Lease {
        /// The manager's epoch.
        epoch: u64,
        /// The last log position it acknowledged without its shadow (0: none).
        alone_seq: u64,
        /// How long the lease lasts, in milliseconds.
        ms: u64,
    },
    /// Candidate manager → agent: a vote for taking over at `epoch`.
    Vote {
        /// The epoch the candidate would take.
        epoch: u64,
        /// Its store's last entry: epoch…
        last_epoch: u64,
        /// …and sequence number.
        last_seq: u64,
    },
    /// Manager → agent: it is the active manager at `epoch`.
    Announce {
        /// Its epoch.
        epoch: u64,
    },
    /// Agent → manager: a newer epoch is active, so this manager is fenced.
    Fenced {
        /// The newest epoch the agent knows.
        epoch: u64,
    },
    /// Shadow → primary: stream the store after the shadow's last entry.
    Follow {
        /// The shadow's name (its address).
        name: String,
        /// Epoch of the shadow's last entry.
        last_epoch: u64,
        /// Its sequence number.
        last_seq: u64,
    },
    /// Which manager is active, at what epoch, and how its shadow is.
    Ha,
    /// The queue's pressure as the elastic rule judged it, and the provisioning and release
    /// commands run (any logged-in user: the totals name no one's jobs).
    Queue,
    /// Finished jobs with ids above `after`, a page at a time, for the workload export
    /// (administrators: everyone's; others: their own).
    History {
        /// The last id already read (0 for the first page).
        after: u64,
    },
    /// Administrator → a standby manager: take control back, in order (§9).
    Takeback,
    /// Standby → active manager, on the replication link: stop changing anything, let the
    /// standby catch up, and hand over.
    Handover,
}

/// Every reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `ERR|code|message`.
    Error {
        /// Code (docs/protocol.md §4).
        code: u16,
        /// In words.
        message: String,
    },
    /// KCMS's REQ answer.
    ProcessList(Vec<NodeProcs>),
    /// `OK|HELLO`.
    Hello {
        /// Agreed version.
        version: u32,
        /// Server name.
        server: String,
        /// Features.
        features: Vec<String>,
    },
    /// `OK|LOGIN`.
    LoggedIn {
        /// Session token.
        token: String,
        /// User.
        user: String,
        /// `admin` or `user`.
        role: String,
    },
    /// `OK|RESUME`.
    Resumed {
        /// User.
        user: String,
        /// Role.
        role: String,
    },
    /// `OK|VERB` with nothing more (LOGOUT, BYE, HB, PROCS, TASKS, EXITED, SIGNAL).
    Done(String),
    /// `OK|PONG`.
    Pong(u64),
    /// `OK|MIG`.
    Migrated {
        /// New node.
        node: String,
        /// New pid.
        pid: u32,
    },
    /// `OK|KIL`.
    Killed {
        /// Node.
        node: String,
        /// Pid.
        pid: u32,
    },
    /// `OK|SIG`.
    Signalled {
        /// Node.
        node: String,
        /// Pid.
        pid: u32,
        /// Signal.
        signal: Signal,
    },
    /// `OK|NODES`.
    Nodes(Vec<NodeInfo>),
    /// `OK|PS`.
    Ps(Vec<ProcInfo>),
    /// `OK|SUBMIT`.
    Submitted(u64),
    /// `OK|JOBS`.
    Jobs(Vec<JobSummary>),
    /// `OK|JOB`: every field as key/value.
    Job(Vec<(String, String)>),
    /// `OK|TAIL`.
    Tail {
        /// Offset after this chunk.
        next: u64,
        /// File size now.
        size: u64,
        /// The bytes, as text.
        data: String,
    },
    /// `OK|AGENT`.
    Welcome {
        /// Heartbeat interval.
        heartbeat_secs: u32,
        /// The manager's epoch (§9; 0 from a manager of an earlier version).
        epoch: u64,
        /// `active`, `standby` or `fenced` (empty from an earlier version: active).
        role: String,
    },
    /// `OK|RUN`.
    Started(u32),
    /// `OK|STOP`.
    Stopped(i32),
    /// `OK|VOTE|yes|…` or `OK|VOTE|no|why`.
    Voted {
        /// Whether the vote is given.
        granted: bool,
        /// Why not (or what was given).
        why: String,
    },
    /// `OK|HA|…`: who is active.
    Ha(Box<HaStatus>),
    /// `OK|QUEUE|JSON`: the queue report.
    Queue(Box<crate::queue::QueueReport>),
    /// `OK|HISTORY|more|JSON`: a page of finished jobs, oldest id first; `more` when another
    /// page follows (ask again after the last id).
    History {
        /// The jobs.
        jobs: Vec<crate::queue::workload::FinishedJob>,
        /// Another page follows.
        more: bool,
    },
    /// `OK|FOLLOW|epoch|mode`: the stream follows, from the log or as a whole snapshot.
    Following {
        /// The primary's epoch.
        epoch: u64,
        /// `log` or `snapshot`.
        mode: String,
    },
}

/// A manager's place in its pair (§9), as `HA` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HaStatus {
    /// `active`, `standby` or `fenced`.
    pub role: String,
    /// Its epoch.
    pub epoch: u64,
    /// Its name (the address it is reached at).
    pub name: String,
    /// The active manager as far as it knows (empty: unknown).
    pub active: String,
    /// Its shadow: `none`, `in sync`, `catching up`, `away since T`; on a standby, how it
    /// follows.
    pub shadow: String,
    /// Its store's last log entry.
    pub seq: u64,
    /// Why it is what it is, in words.
    pub why: String,
    /// Nodes that follow it now (their lease to it holds).
    pub following: u32,
    /// Nodes of the cluster.
    pub members: u32,
}

/// A request or reply that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadMessage(pub String);

fn s(v: &str) -> String {
    v.to_string()
}

fn opt(v: Option<u64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn num<T: std::str::FromStr>(what: &str, v: &str) -> Result<T, BadMessage> {
    v.parse()
        .map_err(|_| BadMessage(format!("{what} '{v}' is not a number")))
}

fn opt_num<T: std::str::FromStr>(what: &str, v: &str) -> Result<Option<T>, BadMessage> {
    if v.is_empty() {
        Ok(None)
    } else {
        num(what, v).map(Some)
    }
}

fn want(head: &[String], n: usize, usage: &str) -> Result<(), BadMessage> {
    if head.len() == n {
        Ok(())
    } else {
        Err(BadMessage(format!("expected {usage}")))
    }
}

fn list_frame(head: Vec<String>, records: Vec<Vec<String>>) -> Frame {
    // The first record shares the line with the head: `OK|PS|node|pid…&node|pid…&`.
    let mut records = records;
    let terminated = !records.is_empty();
    match records.first_mut() {
        Some(first) => {
            let mut h = head;
            h.append(first);
            *first = h;
        }
        None => records.push(head),
    }
    Frame {
        tag: None,
        records,
        terminated,
    }
}

/// The records of a list reply after its `head_len` head fields.
fn list_records(f: &Frame, head_len: usize) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = f.records.clone();
    if let Some(first) = out.first_mut() {
        first.drain(..head_len.min(first.len()));
        if first.is_empty() || first == &[String::new()] {
            out.remove(0);
        }
    }
    out
}

impl Request {
    /// The verb, for logs and errors.
    pub fn verb(&self) -> &'static str {
        match self {
            Request::Req { .. } => "REQ",
            Request::Mig { .. } => "MIG",
            Request::Kil { .. } => "KIL",
            Request::Hello { .. } => "HELLO",
            Request::Login { .. } => "LOGIN",
            Request::Resume { .. } => "RESUME",
            Request::Logout => "LOGOUT",
            Request::Whoami => "WHOAMI",
            Request::Bye => "BYE",
            Request::Ping => "PING",
            Request::Nodes => "NODES",
            Request::Ps { .. } => "PS",
            Request::Sig { .. } => "SIG",
            Request::Submit(_) => "SUBMIT",
            Request::Jobs { .. } => "JOBS",
            Request::Job { .. } => "JOB",
            Request::Cancel { .. } => "CANCEL",
            Request::Tail { .. } => "TAIL",
            Request::Agent { .. } => "AGENT",
            Request::Heartbeat { .. } => "HB",
            Request::Procs(_) => "PROCS",
            Request::Tasks(_) => "TASKS",
            Request::Exited { .. } => "EXITED",
            Request::Run { .. } => "RUN",
            Request::Read { .. } => "READ",
            Request::Signal { .. } => "SIGNAL",
            Request::Stop { .. } => "STOP",
            Request::Lease { .. } => "LEASE",
            Request::Vote { .. } => "VOTE",
            Request::Announce { .. } => "EPOCH",
            Request::Fenced { .. } => "FENCED",
            Request::Follow { .. } => "FOLLOW",
            Request::Ha => "HA",
            Request::Queue => "QUEUE",
            Request::History { .. } => "HISTORY",
            Request::Takeback => "TAKEBACK",
            Request::Handover => "HANDOVER",
        }
    }

    /// The frame to send (without a tag).
    pub fn to_frame(&self) -> Frame {
        let v = |x: &[String]| Frame::new(x.to_vec());
        match self {
            Request::Req { user } => v(&[s("REQ"), user.clone()]),
            Request::Mig { pid, from, to } => {
                v(&[s("MIG"), pid.to_string(), from.clone(), to.clone()])
            }
            Request::Kil { pid, node } => v(&[s("KIL"), pid.to_string(), node.clone()]),
            Request::Hello { version, client } => {
                v(&[s("HELLO"), s("gantry"), version.to_string(), client.clone()])
            }
            Request::Login { user, password } => v(&[s("LOGIN"), user.clone(), password.clone()]),
            Request::Resume { token } => v(&[s("RESUME"), token.clone()]),
            Request::Logout => v(&[s("LOGOUT")]),
            Request::Whoami => v(&[s("WHOAMI")]),
            Request::Bye => v(&[s("BYE")]),
            Request::Ping => v(&[s("PING")]),
            Request::Nodes => v(&[s("NODES")]),
            Request::Ps { user } => v(&[s("PS"), user.clone()]),
            Request::Sig { pid, node, signal } => {
                v(&[s("SIG"), pid.to_string(), node.clone(), s(signal.as_str())])
            }
            Request::Submit(spec) => {
                let mut f = vec![s("SUBMIT")];
                f.extend(spec.to_fields());
                Frame::new(f)
            }
            Request::Jobs { user } => v(&[s("JOBS"), user.clone()]),
            Request::Job { id } => v(&[s("JOB"), id.to_string()]),
            Request::Cancel { id } => v(&[s("CANCEL"), id.to_string()]),
            Request::Tail {
                id,
                stream,
                offset,
                max,
            } => v(&[
                s("TAIL"),
                id.to_string(),
                stream.clone(),
                offset.to_string(),
                max.to_string(),
            ]),
            Request::Agent {
                name,
                version,
                cpus,
                mem_total_kb,
            } => v(&[
                s("AGENT"),
                name.clone(),
                version.to_string(),
                cpus.to_string(),
                mem_total_kb.to_string(),
            ]),
            Request::Heartbeat {
                load1,
                runqueue,
                mem_free_kb,
                procs,
            } => v(&[
                s("HB"),
                load1.to_string(),
                runqueue.to_string(),
                mem_free_kb.to_string(),
                procs.to_string(),
            ]),
            Request::Procs(list) => list_frame(
                vec![s("PROCS")],
                list.iter()
                    .map(|p| {
                        vec![
                            p.pid.to_string(),
                            p.state.to_string(),
                            p.name.clone(),
                            p.user.clone(),
                            p.cpu_pct.to_string(),
                            p.rss_kb.to_string(),
                            p.job.clone(),
                            p.start.to_string(),
                        ]
                    })
                    .collect(),
            ),
            Request::Tasks(list) => list_frame(
                vec![s("TASKS")],
                list.iter()
                    .map(|(t, p)| vec![t.clone(), p.to_string()])
                    .collect(),
            ),
            Request::Exited { task, pid, status } => v(&[
                s("EXITED"),
                task.clone(),
                pid.to_string(),
                status.to_string(),
            ]),
            Request::Run {
                task,
                job,
                user,
                account,
                root_ok,
                spec,
                checkpoint_dir,
            } => {
                let mut f = vec![s("RUN"), task.clone(), job.to_string()];
                f.extend(spec.to_fields());
                f.push(format!("checkpoint_dir={checkpoint_dir}"));
                f.push(format!("user={user}"));
                f.push(format!("account={account}"));
                f.push(format!("root_ok={}", if *root_ok { "yes" } else { "no" }));
                Frame::new(f)
            }
            Request::Read {
                task,
                stream,
                offset,
                max,
                account,
                root_ok,
                dir,
                file,
            } => v(&[
                s("READ"),
                task.clone(),
                stream.clone(),
                offset.to_string(),
                max.to_string(),
                account.clone(),
                s(if *root_ok { "yes" } else { "no" }),
                dir.clone(),
                file.clone(),
            ]),
            Request::Signal {
                pid,
                signal,
                start,
                owner,
            } => v(&[
                s("SIGNAL"),
                pid.to_string(),
                s(signal.as_str()),
                start.to_string(),
                owner.clone(),
            ]),
            Request::Stop { task, grace_secs } => {
                v(&[s("STOP"), task.clone(), grace_secs.to_string()])
            }
            Request::Lease {
                epoch,
                alone_seq,
                ms,
            } => v(&[
                s("LEASE"),
                epoch.to_string(),
                alone_seq.to_string(),
                ms.to_string(),
            ]),
            Request::Vote {
                epoch,
                last_epoch,
                last_seq,
            } => v(&[
                s("VOTE"),
                epoch.to_string(),
                last_epoch.to_string(),
                last_seq.to_string(),
            ]),
            Request::Announce { epoch } => v(&[s("EPOCH"), epoch.to_string()]),
            Request::Fenced { epoch } => v(&[s("FENCED"), epoch.to_string()]),
            Request::Follow {
                name,
                last_epoch,
                last_seq,
            } => v(&[
                s("FOLLOW"),
                name.clone(),
                last_epoch.to_string(),
                last_seq.to_string(),
            ]),
            Request::Ha => v(&[s("HA")]),
            Request::Queue => v(&[s("QUEUE")]),
            Request::History { after } => v(&[s("HISTORY"), after.to_string()]),
            Request::Takeback => v(&[s("TAKEBACK")]),
            Request::Handover => v(&[s("HANDOVER")]),
        }
    }

    /// Reads a request from a frame.
    pub fn from_frame(f: &Frame) -> Result<Self, BadMessage> {
        // Only the agents' lists carry records after the first; anywhere else an unescaped `&`
        // would silently cut the request short (a password, a job's arguments).
        if !matches!(f.verb(), "PROCS" | "TASKS")
            && f.records
                .iter()
                .skip(1)
                .any(|r| r.iter().any(|x| !x.is_empty()))
        {
            return Err(BadMessage(
                "unexpected record separator: an ampersand inside a field must be escaped".into(),
            ));
        }
        let h = f.head();
        let field = |i: usize| h.get(i).map_or("", String::as_str);
        let sig = |x: &str| x.parse::<Signal>().map_err(BadMessage);
        Ok(match f.verb() {
            "REQ" => {
                want(h, 2, "REQ|user")?;
                Request::Req { user: s(field(1)) }
            }
            "MIG" => {
                want(h, 4, "MIG|pid|from|to")?;
                Request::Mig {
                    pid: num("pid", field(1))?,
                    from: s(field(2)),
                    to: s(field(3)),
                }
            }
            "KIL" => {
                want(h, 3, "KIL|pid|node")?;
                Request::Kil {
                    pid: num("pid", field(1))?,
                    node: s(field(2)),
                }
            }
            "HELLO" => {
                want(h, 4, "HELLO|gantry|version|client")?;
                if field(1) != "gantry" {
                    return Err(BadMessage(format!("unknown protocol '{}'", field(1))));
                }
                Request::Hello {
                    version: num("version", field(2))?,
                    client: s(field(3)),
                }
            }
            "LOGIN" => {
                want(h, 3, "LOGIN|user|password")?;
                Request::Login {
                    user: s(field(1)),
                    password: s(field(2)),
                }
            }
            "RESUME" => {
                want(h, 2, "RESUME|token")?;
                Request::Resume { token: s(field(1)) }
            }
            "LOGOUT" => Request::Logout,
            "WHOAMI" => Request::Whoami,
            "BYE" => Request::Bye,
            "PING" => Request::Ping,
            "NODES" => Request::Nodes,
            "PS" => Request::Ps { user: s(field(1)) },
            "SIG" => {
                want(h, 4, "SIG|pid|node|signal")?;
                Request::Sig {
                    pid: num("pid", field(1))?,
                    node: s(field(2)),
                    signal: sig(field(3))?,
                }
            }
            "SUBMIT" => Request::Submit(JobSpec::from_fields(&h[1..]).map_err(BadMessage)?),
            "JOBS" => Request::Jobs { user: s(field(1)) },
            "JOB" => {
                want(h, 2, "JOB|id")?;
                Request::Job {
                    id: num("job id", field(1))?,
                }
            }
            "CANCEL" => {
                want(h, 2, "CANCEL|id")?;
                Request::Cancel {
                    id: num("job id", field(1))?,
                }
            }
            "TAIL" => {
                want(h, 5, "TAIL|id|stream|offset|max")?;
                if !matches!(field(2), "out" | "err") {
                    return Err(BadMessage(format!(
                        "stream '{}' is not out or err",
                        field(2)
                    )));
                }
                Request::Tail {
                    id: num("job id", field(1))?,
                    stream: s(field(2)),
                    offset: num("offset", field(3))?,
                    max: num("max", field(4))?,
                }
            }
            "AGENT" => {
                if h.len() == 6 {
                    return Err(BadMessage(
                        "agents no longer send a shared secret: enroll the node (gantry cm tls node NAME) and connect with its certificate".into(),
                    ));
                }
                want(h, 5, "AGENT|name|version|cpus|mem_total_kb")?;
                Request::Agent {
                    name: s(field(1)),
                    version: num("version", field(2))?,
                    cpus: num("cpus", field(3))?,
                    mem_total_kb: num("mem_total_kb", field(4))?,
                }
            }
            "HB" => {
                want(h, 5, "HB|load1|runqueue|mem_free_kb|procs")?;
                Request::Heartbeat {
                    load1: num("load1", field(1))?,
                    runqueue: num("runqueue", field(2))?,
                    mem_free_kb: num("mem_free_kb", field(3))?,
                    procs: num("procs", field(4))?,
                }
            }
            "PROCS" => {
                let mut out = Vec::new();
                for r in list_records(f, 1) {
                    if !(7..=8).contains(&r.len()) {
                        return Err(BadMessage(
                            "a PROCS record is pid|state|name|user|cpu|rss|task|start".into(),
                        ));
                    }
                    out.push(ProcInfo {
                        node: String::new(),
                        pid: num("pid", &r[0])?,
                        state: r[1].chars().next().unwrap_or('?'),
                        name: r[2].clone(),
                        user: r[3].clone(),
                        cpu_pct: num("cpu", &r[4])?,
                        rss_kb: num("rss", &r[5])?,
                        job: r[6].clone(),
                        start: r.get(7).map_or(Ok(0), |v| num("start", v))?,
                    });
                }
                Request::Procs(out)
            }
            "TASKS" => {
                let mut out = Vec::new();
                for r in list_records(f, 1) {
                    if r.len() != 2 {
                        return Err(BadMessage("a TASKS record is task|pid".into()));
                    }
                    out.push((r[0].clone(), num("pid", &r[1])?));
                }
                Request::Tasks(out)
            }
            "EXITED" => {
                want(h, 4, "EXITED|task|pid|status")?;
                Request::Exited {
                    task: s(field(1)),
                    pid: num("pid", field(2))?,
                    status: num("status", field(3))?,
                }
            }
            "RUN" => {
                if h.len() < 3 {
                    return Err(BadMessage("expected RUN|task|job|key=value…".into()));
                }
                // The manager's own keys; the rest are the job's fields.
                let own = |key: &str| -> Option<String> {
                    let at = h[3..]
                        .iter()
                        .position(|x| x.strip_prefix(key).is_some_and(|r| r.starts_with('=')))?;
                    Some(s(&h[3 + at][key.len() + 1..]))
                };
                let checkpoint_dir = own("checkpoint_dir").unwrap_or_default();
                let user = own("user").unwrap_or_default();
                let account = own("account").unwrap_or_default();
                let root_ok = own("root_ok").as_deref() == Some("yes");
                let rest: Vec<String> = h[3..]
                    .iter()
                    .filter(|x| {
                        !["checkpoint_dir=", "user=", "account=", "root_ok="]
                            .iter()
                            .any(|k| x.starts_with(k))
                    })
                    .cloned()
                    .collect();
                Request::Run {
                    task: s(field(1)),
                    job: num("job id", field(2))?,
                    user,
                    account,
                    root_ok,
                    spec: JobSpec::from_fields(&rest).map_err(BadMessage)?,
                    checkpoint_dir,
                }
            }
            "READ" => {
                want(h, 9, "READ|task|stream|offset|max|account|root_ok|dir|file")?;
                if !matches!(field(2), "out" | "err") {
                    return Err(BadMessage(format!(
                        "stream '{}' is not out or err",
                        field(2)
                    )));
                }
                Request::Read {
                    task: s(field(1)),
                    stream: s(field(2)),
                    offset: num("offset", field(3))?,
                    max: num("max", field(4))?,
                    account: s(field(5)),
                    root_ok: field(6) == "yes",
                    dir: s(field(7)),
                    file: s(field(8)),
                }
            }
            "SIGNAL" => {
                want(h, 5, "SIGNAL|pid|signal|start|owner")?;
                Request::Signal {
                    pid: num("pid", field(1))?,
                    signal: sig(field(2))?,
                    start: num("start", field(3))?,
                    owner: s(field(4)),
                }
            }
            "STOP" => {
                want(h, 3, "STOP|task|grace")?;
                Request::Stop {
                    task: s(field(1)),
                    grace_secs: num("grace", field(2))?,
                }
            }
            "LEASE" => {
                want(h, 4, "LEASE|epoch|alone_seq|ms")?;
                Request::Lease {
                    epoch: num("epoch", field(1))?,
                    alone_seq: num("alone_seq", field(2))?,
                    ms: num("ms", field(3))?,
                }
            }
            "VOTE" => {
                want(h, 4, "VOTE|epoch|last_epoch|last_seq")?;
                Request::Vote {
                    epoch: num("epoch", field(1))?,
                    last_epoch: num("last_epoch", field(2))?,
                    last_seq: num("last_seq", field(3))?,
                }
            }
            "EPOCH" => {
                want(h, 2, "EPOCH|epoch")?;
                Request::Announce {
                    epoch: num("epoch", field(1))?,
                }
            }
            "FENCED" => {
                want(h, 2, "FENCED|epoch")?;
                Request::Fenced {
                    epoch: num("epoch", field(1))?,
                }
            }
            "FOLLOW" => {
                want(h, 4, "FOLLOW|name|last_epoch|last_seq")?;
                Request::Follow {
                    name: s(field(1)),
                    last_epoch: num("last_epoch", field(2))?,
                    last_seq: num("last_seq", field(3))?,
                }
            }
            "HA" => Request::Ha,
            "QUEUE" => Request::Queue,
            "HISTORY" => {
                want(h, 2, "HISTORY|after")?;
                Request::History {
                    after: num("after", field(1))?,
                }
            }
            "TAKEBACK" => Request::Takeback,
            "HANDOVER" => Request::Handover,
            "" => return Err(BadMessage("empty request".into())),
            other => {
                return Err(BadMessage(format!(
                    "unknown request '{}'",
                    other.chars().take(32).collect::<String>()
                )));
            }
        })
    }
}

impl Reply {
    /// An error reply.
    pub fn error(code: u16, message: impl Into<String>) -> Self {
        Reply::Error {
            code,
            message: message.into(),
        }
    }

    /// The frame to send (without a tag).
    pub fn to_frame(&self) -> Frame {
        let ok = |x: &[String]| {
            let mut v = vec![s("OK")];
            v.extend_from_slice(x);
            Frame::new(v)
        };
        match self {
            Reply::Error { code, message } => {
                Frame::new(vec![s("ERR"), code.to_string(), message.clone()])
            }
            Reply::ProcessList(nodes) => {
                // KCMS: node|pid|pname|pstate&pid|pname|pstate&node2|…
                // A node without processes is `node|` followed directly by the next node.
                let mut records: Vec<Vec<String>> = Vec::new();
                let mut empty_nodes: Vec<String> = Vec::new();
                for n in nodes {
                    if n.procs.is_empty() {
                        empty_nodes.push(n.node.clone());
                    }
                    for (i, p) in n.procs.iter().enumerate() {
                        let mut r = Vec::with_capacity(4);
                        if i == 0 {
                            r.append(&mut empty_nodes);
                            r.push(n.node.clone());
                        }
                        r.extend([
                            p.pid.to_string(),
                            p.name.clone(),
                            if p.terminated { s("1") } else { s("0") },
                        ]);
                        records.push(r);
                    }
                }
                let mut terminated = !records.is_empty();
                if !empty_nodes.is_empty() {
                    // Trailing empty nodes end the line: `…&node|`.
                    empty_nodes.push(String::new());
                    records.push(empty_nodes);
                    terminated = false;
                }
                if records.is_empty() {
                    records.push(vec![String::new()]);
                }
                Frame {
                    tag: None,
                    records,
                    terminated,
                }
            }
            Reply::Hello {
                version,
                server,
                features,
            } => ok(&[
                s("HELLO"),
                version.to_string(),
                server.clone(),
                features.join(","),
            ]),
            Reply::LoggedIn { token, user, role } => {
                ok(&[s("LOGIN"), token.clone(), user.clone(), role.clone()])
            }
            Reply::Resumed { user, role } => ok(&[s("RESUME"), user.clone(), role.clone()]),
            Reply::Done(verb) => ok(std::slice::from_ref(verb)),
            Reply::Pong(t) => ok(&[s("PONG"), t.to_string()]),
            Reply::Migrated { node, pid } => ok(&[s("MIG"), node.clone(), pid.to_string()]),
            Reply::Killed { node, pid } => ok(&[s("KIL"), node.clone(), pid.to_string()]),
            Reply::Signalled { node, pid, signal } => {
                ok(&[s("SIG"), node.clone(), pid.to_string(), s(signal.as_str())])
            }
            Reply::Nodes(list) => list_frame(
                vec![s("OK"), s("NODES")],
                list.iter()
                    .map(|n| {
                        vec![
                            n.name.clone(),
                            s(if n.up { "up" } else { "down" }),
                            n.cpus.to_string(),
                            n.load1.to_string(),
                            n.runqueue.to_string(),
                            n.mem_total_kb.to_string(),
                            n.mem_free_kb.to_string(),
                            n.procs.to_string(),
                        ]
                    })
                    .collect(),
            ),
            Reply::Ps(list) => list_frame(
                vec![s("OK"), s("PS")],
                list.iter()
                    .map(|p| {
                        vec![
                            p.node.clone(),
                            p.pid.to_string(),
                            p.state.to_string(),
                            p.name.clone(),
                            p.user.clone(),
                            p.cpu_pct.to_string(),
                            p.rss_kb.to_string(),
                            p.job.clone(),
                            p.start.to_string(),
                        ]
                    })
                    .collect(),
            ),
            Reply::Submitted(id) => ok(&[s("SUBMIT"), id.to_string()]),
            Reply::Jobs(list) => list_frame(
                vec![s("OK"), s("JOBS")],
                list.iter()
                    .map(|j| {
                        vec![
                            j.id.to_string(),
                            j.name.clone(),
                            j.user.clone(),
                            j.state.clone(),
                            j.nodes.clone(),
                            j.submitted.to_string(),
                            opt(j.started),
                            opt(j.ended),
                            j.exit.map(|e| e.to_string()).unwrap_or_default(),
                            j.reason.clone(),
                        ]
                    })
                    .collect(),
            ),
            Reply::Job(kv) => {
                let mut v = vec![s("JOB")];
                v.extend(kv.iter().map(|(k, x)| format!("{k}={x}")));
                ok(&v)
            }
            Reply::Tail { next, size, data } => {
                ok(&[s("TAIL"), next.to_string(), size.to_string(), data.clone()])
            }
            Reply::Welcome {
                heartbeat_secs,
                epoch,
                role,
            } => ok(&[
                s("AGENT"),
                heartbeat_secs.to_string(),
                epoch.to_string(),
                role.clone(),
            ]),
            Reply::Voted { granted, why } => ok(&[
                s("VOTE"),
                s(if *granted { "yes" } else { "no" }),
                why.clone(),
            ]),
            Reply::Ha(h) => ok(&[
                s("HA"),
                h.role.clone(),
                h.epoch.to_string(),
                h.name.clone(),
                h.active.clone(),
                h.shadow.clone(),
                h.seq.to_string(),
                h.why.clone(),
                h.following.to_string(),
                h.members.to_string(),
            ]),
            Reply::Queue(q) => ok(&[
                s("QUEUE"),
                serde_json::to_string(q).unwrap_or_else(|_| "{}".into()),
            ]),
            Reply::History { jobs, more } => ok(&[
                s("HISTORY"),
                u8::from(*more).to_string(),
                serde_json::to_string(jobs).unwrap_or_else(|_| "[]".into()),
            ]),
            Reply::Following { epoch, mode } => ok(&[s("FOLLOW"), epoch.to_string(), mode.clone()]),
            Reply::Started(pid) => ok(&[s("RUN"), pid.to_string()]),
            Reply::Stopped(status) => ok(&[s("STOP"), status.to_string()]),
        }
    }

    /// Reads a reply. `legacy_list` says the request was `REQ`, whose answer has no verb.
    pub fn from_frame(f: &Frame, legacy_list: bool) -> Result<Self, BadMessage> {
        let h = f.head();
        let field = |i: usize| h.get(i).map_or("", String::as_str);
        if field(0) == "ERR" {
            return Ok(Reply::Error {
                code: num("error code", field(1))?,
                message: s(field(2)),
            });
        }
        if legacy_list {
            let mut nodes: Vec<NodeProcs> = Vec::new();
            let empty = |name: &str| NodeProcs {
                node: name.to_string(),
                procs: Vec::new(),
            };
            for r in &f.records {
                // `(node|(pid|pname|pstate&)*)*`: a record is nodes without processes, then
                // either a node and its first process, or nothing; or a further process.
                let mut r: &[String] = r;
                if r.len() > 1 && r.last().is_some_and(String::is_empty) {
                    r = &r[..r.len() - 1]; // the `|` after a trailing empty node
                }
                let is_proc = |t: &[String]| {
                    t.len() == 3
                        && t[0].parse::<u32>().is_ok()
                        && matches!(t[2].as_str(), "0" | "1")
                };
                if is_proc(r) {
                    match nodes.last_mut() {
                        Some(n) => n.procs.push(legacy_proc(r)?),
                        None => return Err(BadMessage("REQ answer starts without a node".into())),
                    }
                } else if r.len() >= 4 && is_proc(&r[r.len() - 3..]) {
                    let (lead, first) = r.split_at(r.len() - 4);
                    nodes.extend(lead.iter().map(|n| empty(n)));
                    nodes.push(NodeProcs {
                        node: first[0].clone(),
                        procs: vec![legacy_proc(&first[1..])?],
                    });
                } else if r.iter().all(|n| !n.contains(char::is_whitespace)) {
                    nodes.extend(r.iter().filter(|n| !n.is_empty()).map(|n| empty(n)));
                } else {
                    return Err(BadMessage(
                        "REQ answer record is not node|pid|pname|pstate".into(),
                    ));
                }
            }
            return Ok(Reply::ProcessList(nodes));
        }
        if field(0) != "OK" {
            return Err(BadMessage(format!(
                "reply starts with '{}', not OK or ERR",
                field(0).chars().take(16).collect::<String>()
            )));
        }
        Ok(match field(1) {
            "HELLO" => Reply::Hello {
                version: num("version", field(2))?,
                server: s(field(3)),
                features: field(4)
                    .split(',')
                    .filter(|x| !x.is_empty())
                    .map(s)
                    .collect(),
            },
            "LOGIN" => Reply::LoggedIn {
                token: s(field(2)),
                user: s(field(3)),
                role: s(field(4)),
            },
            "RESUME" => Reply::Resumed {
                user: s(field(2)),
                role: s(field(3)),
            },
            "PONG" => Reply::Pong(num("time", field(2))?),
            "MIG" => Reply::Migrated {
                node: s(field(2)),
                pid: num("pid", field(3))?,
            },
            "KIL" => Reply::Killed {
                node: s(field(2)),
                pid: num("pid", field(3))?,
            },
            "SIG" => Reply::Signalled {
                node: s(field(2)),
                pid: num("pid", field(3))?,
                signal: field(4).parse().map_err(BadMessage)?,
            },
            "NODES" => {
                let mut out = Vec::new();
                for r in list_records(f, 2) {
                    if r.len() != 8 {
                        return Err(BadMessage("a NODES record has 8 fields".into()));
                    }
                    out.push(NodeInfo {
                        name: r[0].clone(),
                        up: r[1] == "up",
                        cpus: num("cpus", &r[2])?,
                        load1: num("load", &r[3])?,
                        runqueue: num("runqueue", &r[4])?,
                        mem_total_kb: num("mem", &r[5])?,
                        mem_free_kb: num("mem", &r[6])?,
                        procs: num("procs", &r[7])?,
                    });
                }
                Reply::Nodes(out)
            }
            "PS" => {
                let mut out = Vec::new();
                for r in list_records(f, 2) {
                    // A ninth field, the start time, came with pid-safe signals.
                    if !(8..=9).contains(&r.len()) {
                        return Err(BadMessage("a PS record has 8 or 9 fields".into()));
                    }
                    out.push(ProcInfo {
                        node: r[0].clone(),
                        pid: num("pid", &r[1])?,
                        state: r[2].chars().next().unwrap_or('?'),
                        name: r[3].clone(),
                        user: r[4].clone(),
                        cpu_pct: num("cpu", &r[5])?,
                        rss_kb: num("rss", &r[6])?,
                        job: r[7].clone(),
                        start: r.get(8).map_or(Ok(0), |v| num("start", v))?,
                    });
                }
                Reply::Ps(out)
            }
            "SUBMIT" => Reply::Submitted(num("job id", field(2))?),
            "JOBS" => {
                let mut out = Vec::new();
                for r in list_records(f, 2) {
                    // A tenth field, the reason, came with accounts; older managers send nine.
                    if !(9..=10).contains(&r.len()) {
                        return Err(BadMessage("a JOBS record has 9 or 10 fields".into()));
                    }
                    out.push(JobSummary {
                        id: num("job id", &r[0])?,
                        name: r[1].clone(),
                        user: r[2].clone(),
                        state: r[3].clone(),
                        nodes: r[4].clone(),
                        submitted: num("submitted", &r[5])?,
                        started: opt_num("started", &r[6])?,
                        ended: opt_num("ended", &r[7])?,
                        exit: opt_num("exit", &r[8])?,
                        reason: r.get(9).cloned().unwrap_or_default(),
                    });
                }
                Reply::Jobs(out)
            }
            "JOB" => Reply::Job(
                h[2..]
                    .iter()
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => (s(k), s(v)),
                        None => (kv.clone(), String::new()),
                    })
                    .collect(),
            ),
            "TAIL" => Reply::Tail {
                next: num("offset", field(2))?,
                size: num("size", field(3))?,
                data: s(field(4)),
            },
            "AGENT" => Reply::Welcome {
                heartbeat_secs: num("heartbeat", field(2))?,
                epoch: opt_num("epoch", field(3))?.unwrap_or(0),
                role: s(field(4)),
            },
            "VOTE" => Reply::Voted {
                granted: field(2) == "yes",
                why: s(field(3)),
            },
            "HA" => Reply::Ha(Box::new(HaStatus {
                role: s(field(2)),
                epoch: num("epoch", field(3))?,
                name: s(field(4)),
                active: s(field(5)),
                shadow: s(field(6)),
                seq: num("seq", field(7))?,
                why: s(field(8)),
                following: opt_num("following", field(9))?.unwrap_or(0),
                members: opt_num("members", field(10))?.unwrap_or(0),
            })),
            "QUEUE" => Reply::Queue(Box::new(
                serde_json::from_str(field(2))
                    .map_err(|e| BadMessage(format!("a QUEUE report: {e}")))?,
            )),
            "HISTORY" => Reply::History {
                more: field(2) == "1",
                jobs: serde_json::from_str(field(3))
                    .map_err(|e| BadMessage(format!("a HISTORY page: {e}")))?,
            },
            "FOLLOW" => Reply::Following {
                epoch: num("epoch", field(2))?,
                mode: s(field(3)),
            },
            "RUN" => Reply::Started(num("pid", field(2))?),
            "STOP" => Reply::Stopped(num("status", field(2))?),
            "" => return Err(BadMessage("OK without a verb".into())),
            other => Reply::Done(s(other)),
        })
    }
}

impl Reply {
    /// Reads a reply line (without its newline). An empty line is the empty answer to `REQ`.
    pub fn decode_line(line: &[u8], legacy_list: bool) -> Result<(Option<u64>, Reply), BadMessage> {
        if legacy_list && line.iter().all(|b| *b == b'\r') {
            return Ok((None, Reply::ProcessList(Vec::new())));
        }
        let f = super::codec::decode(line, super::codec::MAX_REPLY_LINE)
            .map_err(|e| BadMessage(e.to_string()))?;
        Ok((f.tag, Reply::from_frame(&f, legacy_list)?))
    }
}

fn legacy_proc(r: &[String]) -> Result<LegacyProc, BadMessage> {
    Ok(LegacyProc {
        pid: num("pid", &r[0])?,
        name: r[1].clone(),
        terminated: match r[2].as_str() {
            "0" => false,
            "1" => true,
            other => return Err(BadMessage(format!("pstate '{other}' is not 0 or 1"))),
        },
    })
}
