//! Client requests: sessions, KCMS's REQ/MIG/KIL, and the extensions (nodes, processes,
//! signals, submission, jobs, output tails). Every request is checked against the caller's
//! role before anything is done, and nothing is left half done on error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::state::{NodeMatch, Session, job_of_task};
use super::{Manager, now, random_token};
use crate::cm::job::{JobSpec, Signal};
use crate::cm::proto::{JobSummary, LegacyProc, NodeInfo, NodeProcs, ProcInfo, Reply, Request};
use crate::cm::store::{JobRecord, JobState, Write};
use crate::cm::users::Role;

/// One client connection's session state.
pub struct Client {
    peer: String,
    /// Logged-in user and role.
    pub user: Option<(String, Role)>,
    token: Option<String>,
    /// The hash a password login was checked against (none: logged in by the kernel's word).
    login_hash: Option<String>,
}

fn err(code: u16, msg: impl Into<String>) -> Reply {
    Reply::error(code, msg)
}

/// Bytes of JSON in a HISTORY page: half a reply line, so the codec's escaping always fits.
const HISTORY_PAGE: usize = crate::cm::codec::MAX_REPLY_LINE / 2;
const LOGIN_FAILED: &str = "invalid user name or password";

impl Client {
    /// A fresh connection from `peer`.
    pub fn new(peer: String) -> Self {
        Self {
            peer,
            user: None,
            token: None,
            login_hash: None,
        }
    }

    /// Answers one request.
    pub async fn handle(&mut self, m: &Arc<Manager>, req: Request) -> Reply {
        match req {
            Request::Hello { version, .. } => {
                if version < 1 {
                    return err(
                        400,
                        format!("protocol version {version} is not spoken here (1)"),
                    );
                }
                return Reply::Hello {
                    version: version.min(crate::cm::proto::VERSION),
                    server: format!("gantry-cm/{}", env!("CARGO_PKG_VERSION")),
                    features: ["login", "submit", "jobs", "tail", "nodes", "ps", "sig"]
                        .map(String::from)
                        .to_vec(),
                };
            }
            Request::Login { user, password } => return self.login(m, user, password).await,
            Request::Resume { token } => {
                let users = m.users();
                let mut st = m.st.lock();
                // A session ends with the password it was opened with.
                if st
                    .sessions
                    .get(&token)
                    .is_some_and(|s| !s.hash.is_empty() && users.hash_of(&s.user) != Some(&s.hash))
                {
                    st.sessions.remove(&token);
                }
                return match st.sessions.get_mut(&token) {
                    Some(s) => {
                        s.used = Instant::now();
                        self.user = Some((s.user.clone(), s.role));
                        self.login_hash = (!s.hash.is_empty()).then(|| s.hash.clone());
                        self.token = Some(token);
                        Reply::Resumed {
                            user: s.user.clone(),
                            role: s.role.as_str().into(),
                        }
                    }
                    None => err(401, "unknown or expired session; log in again"),
                };
            }
            Request::Logout => {
                if let Some(t) = self.token.take() {
                    m.st.lock().sessions.remove(&t);
                }
                self.user = None;
                return Reply::Done("LOGOUT".into());
            }
            Request::Bye => return Reply::Done("BYE".into()),
            Request::Whoami => {
                return match &self.user {
                    Some((user, role)) => Reply::Resumed {
                        user: user.clone(),
                        role: role.as_str().into(),
                    },
                    None => err(401, "not logged in"),
                };
            }
            Request::Ping => return Reply::Pong(now()),
            // Who is active is no secret: consoles ask before they log in.
            Request::Ha => return Reply::Ha(Box::new(m.ha_status())),
            _ => {}
        }
        let legacy = matches!(
            req,
            Request::Req { .. } | Request::Mig { .. } | Request::Kil { .. }
        );
        if let Err(e) = self.still_valid(m) {
            return e;
        }
        let me = match self.caller(m, legacy) {
            Ok(c) => c,
            Err(e) => return e,
        };
        match req {
            Request::Req { user } => me.req(m, &user),
            Request::Ps { user } => me.ps(m, &user),
            Request::Nodes => nodes(m),
            Request::Kil { pid, node } => match resolve_node(m, &node).await {
                Ok(node) => me
                    .signal(m, pid, &node, Signal::Kill)
                    .await
                    .map_or_else(|e| e, |(node, pid)| Reply::Killed { node, pid }),
                Err(e) => e,
            },
            Request::Sig { pid, node, signal } => match resolve_node(m, &node).await {
                Ok(node) => me
                    .signal(m, pid, &node, signal)
                    .await
                    .map_or_else(|e| e, |(node, pid)| Reply::Signalled { node, pid, signal }),
                Err(e) => e,
            },
            Request::Mig { pid, from, to } => {
                match (resolve_node(m, &from).await, resolve_node(m, &to).await) {
                    (Ok(from), Ok(to)) => me.migrate(m, pid, &from, &to).await,
                    (Err(e), _) | (_, Err(e)) => e,
                }
            }
            Request::Submit(spec) => me.submit(m, spec).await,
            Request::Jobs { user } => me.jobs(m, &user),
            Request::Queue => {
                let mut q = m.queue_report();
                // What the site's commands printed may name its cloud and its credentials'
                // troubles: administrators read it; others learn only that a run failed.
                if !me.admin() {
                    for a in &mut q.actions {
                        a.output.clear();
                        a.nodes.clear();
                        if a.error.is_some() {
                            a.error = Some(match a.exit {
                                Some(c) => format!("the command failed (exit {c})"),
                                None => "the command failed".into(),
                            });
                        }
                    }
                }
                Reply::Queue(Box::new(q))
            }
            Request::History { after } => me.history(m, after),
            Request::Job { id } => me.job(m, id),
            Request::Cancel { id } => me.cancel(m, id).await,
            Request::Tail {
                id,
                stream,
                offset,
                max,
            } => me.tail(m, id, &stream, offset, max).await,
            Request::Takeback if me.admin() => m.takeback().await,
            Request::Takeback => err(403, "taking control back is for administrators"),
            other => err(400, format!("{} is not a client request", other.verb())),
        }
    }

    /// Ends a password session whose password changed or whose user was removed since.
    fn still_valid(&mut self, m: &Manager) -> Result<(), Reply> {
        let (Some(h), Some((user, _))) = (&self.login_hash, &self.user) else {
            return Ok(());
        };
        if m.users().hash_of(user) == Some(h.as_str()) {
            return Ok(());
        }
        if let Some(t) = self.token.take() {
            m.st.lock().sessions.remove(&t);
        }
        self.user = None;
        self.login_hash = None;
        Err(err(
            401,
            "the password was changed or the user removed since this login; log in again",
        ))
    }

    fn caller(&self, m: &Manager, legacy: bool) -> Result<Caller, Reply> {
        let (user, role, unauthenticated) =
            match (&self.user, legacy && m.settings.legacy_unauthenticated) {
                (Some((u, r)), _) => (u.clone(), *r, false),
                // KCMS had no logins: with the legacy option its requests see and control every
                // job the manager started — and nothing else on the nodes.
                (None, true) => ("root".to_string(), Role::Admin, true),
                (None, false) => {
                    return Err(err(401, "not logged in; send LOGIN|user|password first"));
                }
            };
        if let Some(t) = &self.token
            && let Some(s) = m.st.lock().sessions.get_mut(t)
        {
            s.used = Instant::now();
        }
        // Logged in by the kernel's word on the Unix socket: the Unix user itself, unmapped.
        let kernel_said = self.peer.strip_prefix("unix:") == Some(user.as_str());
        Ok(Caller {
            user,
            role,
            unauthenticated,
            kernel_said,
        })
    }

    /// REQ's answer as the line to send (REQ is answered without building a [`Reply`]).
    pub fn req_line(&mut self, m: &Manager, asked: &str, tag: Option<u64>) -> String {
        if let Err(e) = self.still_valid(m) {
            return crate::cm::link::reply_line(tag, &e);
        }
        let r = self
            .caller(m, true)
            .and_then(|me| me.req_line(m, asked, tag));
        match r {
            Ok(line) => line,
            Err(e) => crate::cm::link::reply_line(tag, &e),
        }
    }

    async fn login(&mut self, m: &Arc<Manager>, user: String, password: String) -> Reply {
        // Names are short; a long one would only cost the limiter memory.
        if user.is_empty() || user.len() > 256 {
            return err(400, "a user name is 1 to 256 bytes");
        }
        let ip = self
            .peer
            .rsplit_once(':')
            .map_or(self.peer.as_str(), |(h, _)| h);
        let source = crate::cm::users::source_key(ip);
        // Counted before the check: parallel guesses wait like sequential ones.
        let attempt = match m.limiter.begin(&user, &source) {
            Ok(a) => a,
            Err(wait) => {
                return err(
                    429,
                    format!("too many login attempts; try again in {wait} s"),
                );
            }
        };
        let users = m.users();
        let u = user.clone();
        // bcrypt is slow on purpose: off the I/O threads.
        let ok = tokio::task::spawn_blocking(move || users.check(&u, &password))
            .await
            .unwrap_or(false);
        if !ok {
            tracing::info!(
                "failed login for '{}' from {}",
                crate::cm::esc(&user),
                crate::cm::esc(&self.peer)
            );
            return err(401, LOGIN_FAILED);
        }
        m.limiter.succeeded(attempt);
        let users = m.users();
        let role = users.role(&user);
        let hash = users.hash_of(&user).unwrap_or_default().to_string();
        self.login_hash = Some(hash.clone());
        let token = random_token();
        m.st.lock().sessions.insert(
            token.clone(),
            Session {
                user: user.clone(),
                role,
                used: Instant::now(),
                hash: hash.clone(),
            },
        );
        tracing::info!(
            "{} logged in from {}",
            crate::cm::esc(&user),
            crate::cm::esc(&self.peer)
        );
        self.user = Some((user.clone(), role));
        self.token = Some(token.clone());
        Reply::LoggedIn {
            token,
            user,
            role: role.as_str().into(),
        }
    }
}

/// A process the caller may act on, as the agent must find it.
struct Checked {
    /// The task it leads, if it leads one.
    task: Option<String>,
    /// Whose the agent must find it to be (see `Request::Signal`).
    wire_owner: String,
    /// Its start time as reported.
    start: u64,
}

struct Caller {
    user: String,
    role: Role,
    /// A legacy request without a login: it reaches only jobs the manager started.
    unauthenticated: bool,
    /// The user is the Unix account the Unix socket's peer credentials named.
    kernel_said: bool,
}

fn nodes(m: &Manager) -> Reply {
    let st = m.st.lock();
    Reply::Nodes(
        st.nodes
            .values()
            .map(|n| NodeInfo {
                name: n.name.clone(),
                up: n.up,
                cpus: n.cpus,
                load1: n.load1,
                runqueue: n.runqueue,
                mem_total_kb: n.mem_total_kb,
                mem_free_kb: n.mem_free_kb,
                procs: n.procs_count,
            })
            .collect(),
    )
}

impl Caller {
    fn admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whose processes a listing for `asked` shows: `None` for everyone's.
    fn scope(&self, asked: &str) -> Result<Option<String>, Reply> {
        match (self.admin(), asked) {
            (true, "" | "*" | "root") => Ok(None),
            (true, u) => Ok(Some(u.to_string())),
            (false, "") => Ok(Some(self.user.clone())),
            (false, u) if u == self.user => Ok(Some(self.user.clone())),
            (false, u) => Err(err(
                403,
                format!("{} may not list {u}'s processes", self.user),
            )),
        }
    }

    /// REQ's answer written straight into its line (the same bytes as encoding
    /// [`Reply::ProcessList`]), without building 100,000 records first.
    fn req_line(&self, m: &Manager, asked: &str, tag: Option<u64>) -> Result<String, Reply> {
        use crate::cm::codec::escape_into;
        use std::fmt::Write as _;
        let who = self.scope(asked)?;
        let st = m.st.lock();
        // Owners of managed processes, looked up once.
        let managed: std::collections::HashMap<(&str, u32), &str> = st
            .tasks
            .values()
            .filter(|t| t.state == "running")
            .filter_map(|t| Some(((t.node.as_str(), t.pid), st.jobs.get(&t.job)?.user.as_str())))
            .collect();
        let mut out = String::with_capacity(64 * 1024);
        if let Some(t) = tag {
            let _ = write!(out, "@{t}|");
        }
        // KCMS's `(node|(pid|pname|pstate&)*)*`: `&` ends each process; a node without
        // processes is `node|` followed directly by the next node.
        let mut wrote_any = false;
        let mut after_proc = false;
        let mut itoa = itoa::Buffer::new();
        for n in st.nodes.values() {
            let mut node_written = false;
            let mut record = |out: &mut String, pid: u32, name: &str, terminated: bool| {
                if after_proc {
                    out.push('&');
                }
                if !node_written {
                    escape_into(&n.name, out);
                    out.push('|');
                    node_written = true;
                }
                out.push_str(itoa.format(pid));
                out.push('|');
                escape_into(name, out);
                out.push_str(if terminated { "|1" } else { "|0" });
                after_proc = true;
            };
            for p in &n.procs {
                let job_owner = job_of_task(&p.job)
                    .and_then(|j| st.jobs.get(&j))
                    .map(|j| j.user.as_str())
                    .or_else(|| managed.get(&(n.name.as_str(), p.pid)).copied());
                // Without a login, only the manager's own jobs are listed.
                if self.unauthenticated && job_owner.is_none() {
                    continue;
                }
                let owner = job_owner.unwrap_or(p.user.as_str());
                if who.as_deref().is_none_or(|w| w == owner) {
                    record(&mut out, p.pid, &p.name, matches!(p.state, 'Z' | 'X'));
                }
            }
            for (node, pid, name, user, _) in &st.ended {
                if *node == n.name
                    && who.as_deref().is_none_or(|w| w == user)
                    && !n.procs.iter().any(|p| p.pid == *pid)
                {
                    record(&mut out, *pid, name, true);
                }
            }
            if !node_written {
                if after_proc {
                    out.push('&');
                }
                escape_into(&n.name, &mut out);
                out.push('|');
                after_proc = false;
            }
            wrote_any = true;
        }
        if !wrote_any {
            // An empty listing is an empty line.
            return Ok("\n".into());
        }
        if after_proc {
            out.push('&');
        }
        out.push('\n');
        Ok(out)
    }

    fn req(&self, m: &Manager, asked: &str) -> Reply {
        let who = match self.scope(asked) {
            Ok(w) => w,
            Err(e) => return e,
        };
        let st = m.st.lock();
        let mut out = Vec::new();
        for n in st.nodes.values() {
            let mut procs: Vec<LegacyProc> = n
                .procs
                .iter()
                .filter(|p| {
                    !self.unauthenticated
                        || !p.job.is_empty()
                        || st.task_by_pid(&n.name, p.pid).is_some()
                })
                .filter(|p| who.as_ref().is_none_or(|w| st.owner(&n.name, p) == *w))
                .map(|p| LegacyProc {
                    pid: p.pid,
                    name: p.name.clone(),
                    terminated: matches!(p.state, 'Z' | 'X'),
                })
                .collect();
            for (node, pid, name, user, _) in &st.ended {
                if *node == n.name
                    && who.as_ref().is_none_or(|w| w == user)
                    && !procs.iter().any(|p| p.pid == *pid)
                {
                    procs.push(LegacyProc {
                        pid: *pid,
                        name: name.clone(),
                        terminated: true,
                    });
                }
            }
            out.push(NodeProcs {
                node: n.name.clone(),
                procs,
            });
        }
        Reply::ProcessList(out)
    }

    fn ps(&self, m: &Manager, asked: &str) -> Reply {
        let who = match self.scope(asked) {
            Ok(w) => w,
            Err(e) => return e,
        };
        let st = m.st.lock();
        let mut out = Vec::new();
        for n in st.nodes.values() {
            for p in &n.procs {
                let owner = st.owner(&n.name, p);
                if who.as_ref().is_some_and(|w| *w != owner) {
                    continue;
                }
                let job = job_of_task(&p.job)
                    .or_else(|| st.task_by_pid(&n.name, p.pid).map(|t| t.job))
                    .map(|j| j.to_string())
                    .unwrap_or_default();
                out.push(ProcInfo {
                    node: n.name.clone(),
                    user: owner,
                    job,
                    ..p.clone()
                });
            }
        }
        Reply::Ps(out)
    }

    /// Checks that the caller may act on `pid` on `node`: the process as the agent must find
    /// it, and the managed task it leads (if it does).
    fn check_process(&self, m: &Manager, pid: u32, node: &str) -> Result<Checked, Reply> {
        let st = m.st.lock();
        let Some(n) = st.nodes.get(node) else {
            return Err(err(404, format!("no node '{node}'")));
        };
        if !n.up || n.agent.is_none() {
            return Err(err(503, format!("node {node} is down")));
        }
        let task = st.task_by_pid(node, pid).map(|t| t.id.clone());
        let reported = n.procs.iter().find(|p| p.pid == pid);
        let start = reported.map_or(0, |p| p.start);
        // The task a process belongs to: one it leads, or one it is part of.
        let part_of = task
            .clone()
            .or_else(|| reported.map(|p| p.job.clone()).filter(|j| !j.is_empty()));
        if let Some(t) = &part_of {
            // A job's process: its owner (and administrators) control it.
            let owner = job_of_task(t)
                .and_then(|j| st.jobs.get(&j))
                .map(|j| j.user.clone())
                .unwrap_or_default();
            if !self.admin() && owner != self.user {
                return Err(err(
                    403,
                    format!(
                        "process {pid} on {node} belongs to {owner}'s job, not {}'s",
                        self.user
                    ),
                ));
            }
            return Ok(Checked {
                wire_owner: if task.is_some() {
                    String::new()
                } else {
                    format!("task:{t}")
                },
                task,
                start,
            });
        }
        let Some(p) = reported else {
            return Err(err(404, format!("no process {pid} on {node}")));
        };
        // Any other process: only its own Unix account may signal it, as on the node itself
        // (or a user allowed to act as root).
        if self.unauthenticated {
            return Err(err(
                403,
                format!(
                    "process {pid} on {node} was not started by the manager; requests without a login reach only the manager's jobs"
                ),
            ));
        }
        let account = if self.kernel_said {
            self.user.as_str()
        } else {
            m.settings.accounts.account_of(&self.user)
        };
        let may_be_root = m.settings.accounts.may_be_root(&self.user);
        // root's processes only for users allowed to act as root, whatever the mapping.
        if (p.user != account || p.user == "root") && !may_be_root {
            return Err(err(
                403,
                format!(
                    "process {pid} on {node} belongs to the Unix user {}; {} acts as {account} and may signal only that account's processes",
                    p.user, self.user
                ),
            ));
        }
        Ok(Checked {
            wire_owner: format!("user:{}", p.user),
            task: None,
            start,
        })
    }

    async fn signal(
        &self,
        m: &Manager,
        pid: u32,
        node: &str,
        signal: Signal,
    ) -> Result<(String, u32), Reply> {
        read_only(m)?;
        let checked = self.check_process(m, pid, node)?;
        let task = checked.task.clone();
        let agent = m.st.lock().nodes.get(node).and_then(|n| n.agent.clone());
        let Some(agent) = agent else {
            return Err(err(503, format!("node {node} is down")));
        };
        let is_kill = matches!(
            signal,
            Signal::Kill | Signal::Term | Signal::Int | Signal::Hup
        );
        if is_kill && let Some(j) = task.as_deref().and_then(job_of_task) {
            m.st.lock().killing.insert(j);
        }
        match agent
            .call(
                &Request::Signal {
                    pid,
                    signal,
                    start: checked.start,
                    owner: checked.wire_owner,
                },
                Duration::from_secs(10),
            )
            .await
        {
            Ok(Reply::Done(_)) => {
                tracing::info!(
                    "{} sent {signal} to {pid} on {}",
                    crate::cm::esc(&self.user),
                    crate::cm::esc(node)
                );
                Ok((node.to_string(), pid))
            }
            Ok(Reply::Error { code, message }) => {
                if let Some(j) = task.as_deref().and_then(job_of_task) {
                    m.st.lock().killing.remove(&j);
                }
                Err(err(code, message))
            }
            Ok(other) => Err(err(
                500,
                format!("unexpected answer from {node}: {other:?}"),
            )),
            Err(e) => Err(err(503, format!("{node}: {e}"))),
        }
    }

    async fn migrate(&self, m: &Manager, pid: u32, from: &str, to: &str) -> Reply {
        if let Err(e) = read_only(m) {
            return e;
        }
        let task = match self.check_process(m, pid, from) {
            Ok(x) => x.task,
            Err(e) => return e,
        };
        let Some(task) = task else {
            let part_of = {
                let st = m.st.lock();
                st.nodes.get(from).and_then(|n| {
                    let p = n.procs.iter().find(|p| p.pid == pid)?;
                    let job = job_of_task(&p.job)?;
                    let root = st.tasks.values().find(|t| t.job == job && t.node == from)?;
                    Some((job, root.pid))
                })
            };
            if let Some((job, root)) = part_of {
                return err(
                    409,
                    format!(
                        "process {pid} on {from} belongs to job {job} but is not its main process; migrate pid {root}"
                    ),
                );
            }
            return err(
                409,
                format!(
                    "process {pid} on {from} was not started by the manager; only managed jobs can be migrated"
                ),
            );
        };
        if from == to {
            return err(409, format!("process {pid} is already on {to}"));
        }
        let (src, dst, job) = {
            let st = m.st.lock();
            let dst = match st.nodes.get(to) {
                Some(n) if n.up && n.agent.is_some() => n.agent.clone(),
                Some(_) => return err(503, format!("node {to} is down")),
                None => return err(404, format!("no node '{to}'")),
            };
            let src = st.nodes.get(from).and_then(|n| n.agent.clone());
            let job = job_of_task(&task).and_then(|j| st.jobs.get(&j).cloned());
            (src, dst, job)
        };
        let (Some(src), Some(dst), Some(mut job)) = (src, dst, job) else {
            return err(503, "a node needed for the migration is not connected");
        };
        let t = now();
        job.state = JobState::Migrated;
        if let Err(e) = m
            .commit(vec![
                Write::Job(Box::new(job.clone())),
                Write::Event(
                    job.id,
                    t,
                    format!("migrating task {task} from {from} to {to}"),
                ),
            ])
            .await
        {
            return err(500, format!("job store: {e}; nothing was changed"));
        }
        m.st.lock().jobs.insert(job.id, job.clone());
        let grace = m.settings.stop_grace_secs;
        let stop = src
            .call(
                &Request::Stop {
                    task: task.clone(),
                    grace_secs: grace,
                },
                Duration::from_secs(u64::from(grace) + 20),
            )
            .await;
        if !matches!(stop, Ok(Reply::Stopped(_))) {
            // Still running where it was: undo the state change.
            job.state = JobState::Running;
            m.st.lock().jobs.insert(job.id, job.clone());
            m.store.write(vec![Write::Job(Box::new(job))]);
            return err(
                503,
                format!("could not stop process {pid} on {from}: {stop:?}; it keeps running there"),
            );
        }
        let mut spec: JobSpec = job.spec.clone();
        spec.restart = true;
        let run_req = Request::Run {
            task: task.clone(),
            job: job.id,
            user: job.user.clone(),
            account: job.account.clone(),
            root_ok: m.settings.accounts.may_be_root(&job.user),
            spec: spec.clone(),
            checkpoint_dir: job.checkpoint_dir.clone(),
        };
        let (node, started) = match dst.call(&run_req, Duration::from_secs(30)).await {
            Ok(Reply::Started(p)) => (to.to_string(), Ok(p)),
            first => {
                // Put it back where it was rather than leave it nowhere.
                match src.call(&run_req, Duration::from_secs(30)).await {
                    Ok(Reply::Started(p)) => (from.to_string(), Err((p, format!("{first:?}")))),
                    second => {
                        let mut st = m.st.lock();
                        if let Some(rec) = st.tasks.get_mut(&task) {
                            rec.state = "lost".into();
                            m.store.write(vec![Write::Task(rec.clone())]);
                        }
                        let w = super::agents::settle_jobs(&mut st, t);
                        m.store.write(w);
                        return err(
                            500,
                            format!(
                                "job {} could not be restarted on {to} ({first:?}) nor on {from} ({second:?}); it is lost",
                                job.id
                            ),
                        );
                    }
                }
            }
        };
        let new_pid = match &started {
            Ok(p) | Err((p, _)) => *p,
        };
        let mut writes = Vec::new();
        {
            let mut st = m.st.lock();
            if let Some(rec) = st.tasks.get_mut(&task) {
                rec.node = node.clone();
                rec.pid = new_pid;
                rec.state = "running".into();
                writes.push(Write::Task(rec.clone()));
            }
            let pids: Vec<(String, u32)> = st
                .tasks
                .values()
                .filter(|x| x.job == job.id && x.state == "running")
                .map(|x| (x.node.clone(), x.pid))
                .collect();
            if let Some(j) = st.jobs.get_mut(&job.id) {
                j.state = JobState::Running;
                j.nodes = pids.iter().map(|p| p.0.clone()).collect();
                j.nodes.dedup();
                j.pids = pids.iter().map(|p| p.1).collect();
                j.spec.restart = true;
                writes.push(Write::Job(Box::new(j.clone())));
            }
            writes.push(Write::Event(
                job.id,
                now(),
                format!("task {task} now on {node} as pid {new_pid}"),
            ));
        }
        let _ = m.commit(writes).await;
        match started {
            Ok(p) => {
                tracing::info!(
                    "{} migrated {pid} from {} to {} (pid {p})",
                    crate::cm::esc(&self.user),
                    crate::cm::esc(from),
                    crate::cm::esc(to)
                );
                Reply::Migrated { node, pid: p }
            }
            Err((p, why)) => err(
                503,
                format!("{to} could not start it ({why}); restarted on {from} as pid {p}"),
            ),
        }
    }

    async fn submit(&self, m: &Manager, spec: JobSpec) -> Reply {
        if let Err(e) = read_only(m) {
            return e;
        }
        if spec.exec.trim().is_empty() {
            return err(400, "exec (Executing File) is required");
        }
        if spec.total_tasks == 0 || spec.tasks_per_node == 0 {
            return err(400, "total_tasks and tasks_per_node must be at least 1");
        }
        let s = &m.settings;
        let (total, per_node) = match spec.class {
            crate::cm::job::JobClass::Single => (1, 1),
            _ => (spec.total_tasks, spec.tasks_per_node.min(spec.total_tasks)),
        };
        if total > s.max_tasks_per_job {
            return err(
                413,
                format!(
                    "{total} tasks is more than this manager allows for one job ({}, [cm] max_tasks_per_job)",
                    s.max_tasks_per_job
                ),
            );
        }
        if per_node > s.max_tasks_per_node {
            return err(
                413,
                format!(
                    "{per_node} tasks per node is more than this manager allows on one node ({}, [cm] max_tasks_per_node)",
                    s.max_tasks_per_node
                ),
            );
        }
        // Like a nice value: anyone may lower their jobs' priority, only administrators raise it.
        if spec.priority > 0 && !self.admin() {
            return err(
                403,
                format!(
                    "a priority above 0 is for administrators ({} asked for {})",
                    self.user, spec.priority
                ),
            );
        }
        let queued =
            m.st.lock()
                .jobs
                .values()
                .filter(|j| j.user == self.user && !j.state.is_final())
                .count();
        if queued >= s.max_jobs_per_user as usize {
            return err(
                429,
                format!(
                    "{} has {queued} jobs queued or running, the most this manager takes from one user ([cm] max_jobs_per_user)",
                    self.user
                ),
            );
        }
        let account = match self.account(m).await {
            Ok(a) => a,
            Err(e) => return e,
        };
        let t = now();
        let job = {
            let mut st = m.st.lock();
            let id = st.next_job;
            st.next_job += 1;
            JobRecord {
                id,
                user: self.user.clone(),
                checkpoint_dir: m
                    .settings
                    .checkpoint_root
                    .join(id.to_string())
                    .display()
                    .to_string(),
                spec,
                state: JobState::Queued,
                submitted: t,
                started: None,
                ended: None,
                nodes: Vec::new(),
                pids: Vec::new(),
                exit: None,
                account,
                reason: String::new(),
            }
        };
        let id = job.id;
        // Acknowledged only once committed.
        if let Err(e) = m
            .commit(vec![
                Write::Job(Box::new(job.clone())),
                Write::Event(id, t, format!("submitted by {}", self.user)),
            ])
            .await
        {
            return err(500, format!("job store: {e}; the job was not accepted"));
        }
        m.st.lock().jobs.insert(id, job);
        m.wake.notify_one();
        Reply::Submitted(id)
    }

    /// The Unix account this user's jobs run as, checked through NSS: a user without one may
    /// log in and watch, not run anything; root only for users the configuration allows.
    async fn account(&self, m: &Manager) -> Result<String, Reply> {
        use crate::cm::account::{AccountError, lookup};
        let name = if self.kernel_said {
            self.user.clone()
        } else {
            m.settings.accounts.account_of(&self.user).to_string()
        };
        let n = name.clone();
        let found = tokio::task::spawn_blocking(move || lookup(&n))
            .await
            .map_err(|_| err(500, "the account lookup failed"))?;
        match found {
            Ok(a) if a.uid == 0 && !m.settings.accounts.may_be_root(&self.user) => Err(err(
                403,
                format!(
                    "{}'s jobs would run as root ('{name}' is uid 0), which this manager does not allow ([cm] root_users)",
                    self.user
                ),
            )),
            Ok(_) => Ok(name),
            Err(AccountError::Missing(_) | AccountError::BadName(_)) => Err(err(
                403,
                format!(
                    "{} has no Unix account here (no account '{name}' through NSS), so may watch but not run jobs; an administrator can map manager users to accounts in [cm] accounts",
                    self.user
                ),
            )),
            Err(e) => Err(err(503, format!("{e}; nothing was submitted"))),
        }
    }

    /// Cancels a job: a queued one ends before it starts; a running one's tasks are stopped
    /// (TERM, then KILL after the grace) and it ends `killed`.
    async fn cancel(&self, m: &Manager, id: u64) -> Reply {
        if let Err(e) = read_only(m) {
            return e;
        }
        let t = now();
        let (job, stops) = {
            let mut st = m.st.lock();
            let Some(j) = st.jobs.get(&id).cloned() else {
                return err(404, format!("no job {id}"));
            };
            if !self.admin() && j.user != self.user {
                return err(403, format!("job {id} belongs to {}", j.user));
            }
            match j.state {
                JobState::Queued => {
                    let mut j = j;
                    j.state = JobState::Killed;
                    j.ended = Some(t);
                    j.reason = format!("cancelled by {} before it started", self.user);
                    st.jobs.insert(id, j.clone());
                    (j, Vec::new())
                }
                s if s.is_final() => {
                    return err(409, format!("job {id} has ended already ({})", s.as_str()));
                }
                _ => {
                    let stops: Vec<_> = st
                        .tasks
                        .values()
                        .filter(|x| x.job == id && x.state == "running")
                        .filter_map(|x| {
                            let a = st.nodes.get(&x.node)?.agent.clone()?;
                            Some((x.id.clone(), x.node.clone(), a))
                        })
                        .collect();
                    st.killing.insert(id);
                    if let Some(j) = st.jobs.get_mut(&id) {
                        j.reason = format!("cancelled by {}", self.user);
                    }
                    (j, stops)
                }
            }
        };
        if stops.is_empty() {
            if let Err(e) = m
                .store
                .commit(vec![
                    Write::Job(Box::new(job)),
                    Write::Event(id, t, format!("cancelled by {}", self.user)),
                ])
                .await
            {
                return err(500, format!("job store: {e}"));
            }
            return Reply::Done("CANCEL".into());
        }
        let grace = m.settings.stop_grace_secs;
        let mut failed = Vec::new();
        for (task, node, agent) in stops {
            let r = agent
                .call(
                    &Request::Stop {
                        task: task.clone(),
                        grace_secs: grace,
                    },
                    Duration::from_secs(u64::from(grace) + 20),
                )
                .await;
            if !matches!(r, Ok(Reply::Stopped(_))) {
                failed.push(format!("{task} on {node}"));
            }
        }
        if failed.is_empty() {
            Reply::Done("CANCEL".into())
        } else {
            err(
                503,
                format!("job {id}: could not stop {}", failed.join(", ")),
            )
        }
    }

    fn visible(&self, j: &JobRecord) -> bool {
        self.admin() || j.user == self.user
    }

    fn jobs(&self, m: &Manager, asked: &str) -> Reply {
        let filter: Option<String> = match (self.admin(), asked) {
            (true, "*") => None,
            (_, "") => Some(self.user.clone()),
            (false, "*") => return err(403, "only administrators may list everyone's jobs"),
            (true, u) => Some(u.to_string()),
            (false, u) if u == self.user => Some(u.to_string()),
            (false, u) => return err(403, format!("{} may not list {u}'s jobs", self.user)),
        };
        let st = m.st.lock();
        Reply::Jobs(
            st.jobs
                .values()
                .filter(|j| filter.as_ref().is_none_or(|u| j.user == *u))
                .map(|j| (j, st.shown(j)))
                .map(|(j, (state, reason))| JobSummary {
                    id: j.id,
                    name: j.spec.name.clone(),
                    user: j.user.clone(),
                    state,
                    nodes: j.nodes.join(","),
                    submitted: j.submitted,
                    started: j.started,
                    ended: j.ended,
                    exit: j.exit,
                    reason,
                })
                .collect(),
        )
    }

    /// A page of finished jobs after `after` (administrators: everyone's; others: their own),
    /// at most [`HISTORY_PAGE`] bytes of them so a page always fits a reply line.
    fn history(&self, m: &Manager, after: u64) -> Reply {
        let st = m.st.lock();
        let mut jobs = Vec::new();
        let mut bytes = 0;
        let mut more = false;
        let mine = st
            .jobs
            .range(after.saturating_add(1)..)
            .map(|(_, j)| j)
            .filter(|j| self.admin() || j.user == self.user);
        for j in mine {
            let Some(f) = crate::queue::finished::from_cm_record(j) else {
                continue;
            };
            let size = serde_json::to_string(&f).map_or(0, |t| t.len() + 1);
            if bytes + size > HISTORY_PAGE && !jobs.is_empty() {
                more = true;
                break;
            }
            bytes += size;
            jobs.push(f);
        }
        Reply::History { jobs, more }
    }

    fn job(&self, m: &Manager, id: u64) -> Reply {
        let st = m.st.lock();
        let Some(j) = st.jobs.get(&id) else {
            return err(404, format!("no job {id}"));
        };
        if !self.visible(j) {
            return err(403, format!("job {id} belongs to {}", j.user));
        }
        let (state, reason) = st.shown(j);
        let mut kv: Vec<(String, String)> = vec![
            ("id".into(), j.id.to_string()),
            ("user".into(), j.user.clone()),
            ("state".into(), state),
            ("submitted".into(), j.submitted.to_string()),
            (
                "started".into(),
                j.started.map(|v| v.to_string()).unwrap_or_default(),
            ),
            (
                "ended".into(),
                j.ended.map(|v| v.to_string()).unwrap_or_default(),
            ),
            ("nodes".into(), j.nodes.join(",")),
            (
                "pids".into(),
                j.pids
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            (
                "exit".into(),
                j.exit.map(|v| v.to_string()).unwrap_or_default(),
            ),
            ("checkpoint_dir".into(), j.checkpoint_dir.clone()),
            ("account".into(), j.account.clone()),
            ("reason".into(), reason),
        ];
        for f in j.spec.to_fields() {
            if let Some((k, v)) = f.split_once('=') {
                kv.push((k.to_string(), v.to_string()));
            }
        }
        Reply::Job(kv)
    }

    /// Part of a job's output, read on the node that ran its first task, as the job's account:
    /// only the files the job named (or its spool), only what that account may read.
    async fn tail(&self, m: &Manager, id: u64, stream: &str, offset: u64, max: u32) -> Reply {
        let (req, node, agent) = {
            let st = m.st.lock();
            let Some(j) = st.jobs.get(&id) else {
                return err(404, format!("no job {id}"));
            };
            if !self.visible(j) {
                return err(403, format!("job {id} belongs to {}", j.user));
            }
            let file = match stream {
                "out" => j.spec.output.clone(),
                "err" => j.spec.error.clone(),
                other => return err(400, format!("stream '{other}' is not out or err")),
            };
            if j.account.is_empty() {
                return err(
                    404,
                    format!(
                        "job {id} was submitted before jobs had accounts; its output cannot be read through the manager"
                    ),
                );
            }
            let first = format!("{id}.0");
            let Some(node) = st
                .tasks
                .get(&first)
                .map(|t| t.node.clone())
                .or_else(|| j.nodes.first().cloned())
            else {
                return err(
                    404,
                    format!("job {id} has not started, so it has no {stream} yet"),
                );
            };
            let agent = st
                .nodes
                .get(&node)
                .filter(|n| n.up)
                .and_then(|n| n.agent.clone());
            let req = Request::Read {
                task: first,
                stream: stream.to_string(),
                offset,
                max: max.min(1 << 20),
                account: j.account.clone(),
                root_ok: m.settings.accounts.may_be_root(&j.user),
                dir: j.spec.dir.clone().unwrap_or_default(),
                file: file.unwrap_or_default(),
            };
            (req, node, agent)
        };
        let Some(agent) = agent else {
            return err(
                503,
                format!(
                    "node {node}, where job {id} ran, is down; its output can be read when it is back"
                ),
            );
        };
        match agent.call(&req, Duration::from_secs(15)).await {
            Ok(r @ (Reply::Tail { .. } | Reply::Error { .. })) => r,
            Ok(other) => err(500, format!("unexpected answer from {node}: {other:?}")),
            Err(e) => err(503, format!("{node}: {e}")),
        }
    }
}

fn read_only(m: &Manager) -> Result<(), Reply> {
    m.may_change()
}

/// The node a request names: KCMS sent node names or addresses, so besides the agent's name
/// this takes its short name (`node07` for `node07.example.org`), the IP address its agent
/// connects from, or a host name that resolves to that address. Several nodes behind one
/// address (agents on one machine) cannot be told apart by it: that is refused, naming them.
async fn resolve_node(m: &Manager, given: &str) -> Result<String, Reply> {
    match m.st.lock().node_for(given) {
        NodeMatch::One(n) => return Ok(n),
        NodeMatch::Several(names) => return Err(ambiguous(given, &names)),
        NodeMatch::None => {}
    }
    if given.is_empty() || given.parse::<std::net::IpAddr>().is_ok() {
        return Err(err(404, format!("no node '{given}'")));
    }
    let lookup = tokio::net::lookup_host((given, 0));
    let addrs: Vec<std::net::IpAddr> =
        match tokio::time::timeout(Duration::from_secs(2), lookup).await {
            Ok(Ok(a)) => a.map(|a| a.ip()).collect(),
            _ => Vec::new(),
        };
    let st = m.st.lock();
    let mut names: Vec<String> = st
        .nodes
        .values()
        .filter(|n| n.addr.is_some_and(|a| addrs.contains(&a)))
        .map(|n| n.name.clone())
        .collect();
    names.sort();
    match names.len() {
        0 => Err(err(404, format!("no node '{given}'"))),
        1 => Ok(names.remove(0)),
        _ => Err(ambiguous(given, &names)),
    }
}

fn ambiguous(given: &str, names: &[String]) -> Reply {
    err(
        409,
        format!(
            "'{given}' is the address of several nodes ({}): name one",
            names.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cm::manager::CmSettings;
    use crate::cm::manager::state::Node;
    use crate::cm::users::Users;

    fn manager(dir: &std::path::Path) -> Arc<Manager> {
        Manager::open(CmSettings {
            listen: "127.0.0.1:0".into(),
            state_dir: dir.to_path_buf(),
            users: Users::default(),
            legacy_unauthenticated: true,
            heartbeat_secs: 1,
            stop_grace_secs: 1,
            ..CmSettings::default()
        })
        .unwrap()
    }

    fn proc(pid: u32, name: &str, user: &str) -> ProcInfo {
        ProcInfo {
            node: String::new(),
            pid,
            state: 'S',
            name: name.into(),
            user: user.into(),
            cpu_pct: 0.0,
            rss_kb: 1,
            job: String::new(),
            start: 0,
        }
    }

    #[test]
    fn the_fast_req_line_is_byte_for_byte_the_encoded_reply() {
        let dir = tempfile::tempdir().unwrap();
        let m = manager(dir.path());
        {
            let mut st = m.st.lock();
            for (name, procs) in [
                ("n1", vec![proc(1, "a|b&c", "alice"), proc(2, "x", "bob")]),
                ("n2", vec![]),
                ("n3", vec![proc(7, "y\\z", "alice")]),
            ] {
                st.nodes.insert(
                    name.into(),
                    Node {
                        up: true,
                        procs,
                        ..Node::new(name, 1, 1)
                    },
                );
            }
        }
        let me = Caller {
            user: "root".into(),
            role: Role::Admin,
            unauthenticated: false,
            kernel_said: false,
        };
        for (asked, tag) in [("root", None), ("alice", Some(9)), ("nobody", None)] {
            let fast = me.req_line(&m, asked, tag).unwrap();
            let slow = match me.req(&m, asked) {
                Reply::ProcessList(v) if v.iter().all(|n| n.procs.is_empty()) && v.is_empty() => {
                    "\n".to_string()
                }
                r => crate::cm::link::reply_line(tag, &r),
            };
            assert_eq!(fast, slow, "{asked}");
        }
    }
}
