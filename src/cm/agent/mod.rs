//! `gantry agent`: a node agent. Keeps one connection to the central manager (reconnecting with
//! backoff 1 s → 30 s), sends heartbeats with the node's load and its process list, runs tasks
//! as real processes, signals and stops them on request, and remembers every task's exit until
//! the manager has acknowledged it — across reconnects and manager restarts.

mod dirs;
mod fence;
mod launch;
mod pidfd;
mod procs;
pub mod read_as;
mod tasks;
mod track;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

pub use procs::ProcScanner;
pub use tasks::UNKNOWN_EXIT;
use tasks::{Exit, Tasks};

use super::codec::{Item, MAX_FIELD, MAX_REPLY_LINE};
use super::link::{Incoming, LineReader, incoming, reply_line, request_line};
use super::proto::{Reply, Request, VERSION};

/// What the agent reports as its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// The whole machine: its load and every process (one agent per machine).
    Machine,
    /// Only its own tasks: load is their runnable processes (several agents on one machine).
    Tasks,
}

/// Options of `gantry agent`.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentArgs {
    /// Node name this agent registers as.
    #[arg(long)]
    pub name: String,
    /// The central manager: HOST:PORT (TLS, checked against the cluster CA), or
    /// unix:PATH (its local socket, for an agent running as root on the manager's machine).
    /// A pair of managers (a primary and its shadow) is given as two, comma-separated or
    /// repeated: the agent keeps a link to each and follows the active one.
    #[arg(long, value_name = "HOST:PORT", value_delimiter = ',', required = true)]
    pub cm: Vec<String>,
    /// The node's credentials: ca.crt, node.crt and node.key, as `gantry cm tls node NAME`
    /// writes them (default: tls in the agent's state directory).
    #[arg(long, value_name = "DIR")]
    pub tls_dir: Option<std::path::PathBuf>,
    /// What the node is: the whole machine, or only this agent's tasks.
    #[arg(long, value_enum, default_value = "machine")]
    pub scope: Scope,
    /// Where this agent keeps its spool (jobs' output sent to no file) and state (default:
    /// agent/NAME in the state directory).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    /// What becomes of running tasks when the agent is told to stop (SIGTERM): `keep` them
    /// running for the next start of the agent to take back, or `kill` them (TERM, then KILL
    /// after --stop-grace seconds).
    #[arg(long, value_enum, default_value = "keep")]
    pub on_stop: OnStop,
    /// Seconds between TERM and KILL for --on-stop kill.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub stop_grace: u64,
    /// Say nothing on stderr (an agent inside the console must not write over its screen).
    #[arg(skip)]
    pub quiet: bool,
}

/// What a stopping agent does with its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnStop {
    /// Leave them running; the agent's next start takes them back.
    Keep,
    /// End them.
    Kill,
}

/// An exit and the link and tag it was last sent with.
type Unacked = (Exit, Option<(usize, u64)>);

struct Shared {
    tasks: Tasks,
    /// Exits not yet acknowledged by the active manager.
    outbox: Mutex<Vec<Unacked>>,
    /// Bumped when an exit is added to the outbox.
    exits: tokio::sync::watch::Sender<u64>,
    /// Which manager is followed (protocol §9).
    fence: Mutex<fence::Fence>,
    /// Tasks whose RUN arrived and which are being started: reported as running (pid 0), so
    /// a manager that never heard the answer does not place them again.
    starting: Mutex<std::collections::HashSet<String>>,
    /// The next tag of a message to a manager.
    tags: std::sync::atomic::AtomicU64,
    scanner: Mutex<ProcScanner>,
    scope: Scope,
    load: Mutex<f32>,
    spool_root: std::path::PathBuf,
}

/// How an agent reaches its manager.
#[derive(Clone)]
pub enum Upstream {
    /// TLS over TCP: the node's certificate proves the node, the cluster CA the manager.
    Tls {
        /// HOST:PORT.
        addr: String,
        /// The node's client configuration.
        config: Arc<rustls::ClientConfig>,
    },
    /// The manager's Unix socket on this machine (the kernel vouches for the agent's user).
    Unix(std::path::PathBuf),
    /// A manager in this process.
    Local(Arc<crate::cm::manager::Manager>),
}

impl Upstream {
    /// Where, for messages.
    fn describe(&self) -> String {
        match self {
            Upstream::Tls { addr, .. } => addr.clone(),
            Upstream::Unix(p) => format!("unix:{}", p.display()),
            Upstream::Local(_) => "the manager in this process".into(),
        }
    }

    async fn connect(&self) -> anyhow::Result<(BoxRead, BoxWrite)> {
        let split = |io: Box<dyn Io>| {
            let (r, w) = tokio::io::split(io);
            (Box::new(r) as BoxRead, Box::new(w) as BoxWrite)
        };
        let io: Box<dyn Io> = match self {
            Upstream::Tls { addr, config } => {
                let tcp = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
                    .await
                    .map_err(|_| anyhow::anyhow!("connecting to {addr} timed out"))??;
                let _ = tcp.set_nodelay(true);
                let name = crate::cm::tls::server_name(addr)?;
                let tls = tokio_rustls::TlsConnector::from(config.clone());
                // The manager proves itself here, before anything it says is acted on.
                let s = tokio::time::timeout(Duration::from_secs(10), tls.connect(name, tcp))
                    .await
                    .map_err(|_| anyhow::anyhow!("TLS with {addr} timed out"))?
                    .map_err(|e| anyhow::anyhow!("TLS with {addr}: {e}"))?;
                Box::new(s)
            }
            Upstream::Unix(p) => {
                // The manager is whoever owns the socket: root or this agent's own user only.
                use std::os::unix::fs::MetadataExt;
                let owner = std::fs::metadata(p)?.uid();
                let me = crate::cm::account::euid();
                if owner != 0 && owner != me {
                    anyhow::bail!(
                        "{} belongs to uid {owner}, not to root or this agent: not a manager to trust",
                        p.display()
                    );
                }
                Box::new(tokio::net::UnixStream::connect(p).await?)
            }
            Upstream::Local(m) => Box::new(
                m.attach_local()
                    .ok_or_else(|| anyhow::anyhow!("the manager takes no more connections"))?,
            ),
        };
        Ok(split(io))
    }
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}
type BoxRead = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
type BoxWrite = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;

/// The upstreams `gantry agent --cm` names: Unix sockets, or TLS with the node's files.
pub fn upstreams(args: &AgentArgs, tls_dir: &std::path::Path) -> anyhow::Result<Vec<Upstream>> {
    let mut out = Vec::new();
    for cm in &args.cm {
        out.push(match cm.strip_prefix("unix:") {
            Some(p) => Upstream::Unix(p.into()),
            None => Upstream::Tls {
                addr: cm.clone(),
                config: crate::cm::tls::agent_config(tls_dir).map_err(|e| {
                    anyhow::anyhow!(
                        "{e}\n(this node's credentials come from `gantry cm tls node {}` on the manager)",
                        args.name
                    )
                })?,
            },
        });
    }
    Ok(out)
}

/// Runs the agent until `stop` resolves; `state_dir` is where it keeps its spool.
pub async fn run(
    args: AgentArgs,
    ups: Vec<Upstream>,
    state_dir: std::path::PathBuf,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    crate::durable::create_dir_all(&state_dir, 0o711)
        .map_err(|e| anyhow::anyhow!("{}: {e}", state_dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        // Jobs pass through to their spool directories; nothing else here is theirs.
        let _ = std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o711));
    }
    let spool_root = state_dir.join("spool");
    dirs::private_parent(&spool_root).map_err(|e| anyhow::anyhow!("spool: {e}"))?;
    let shared = Arc::new(Shared {
        tasks: Tasks::new(track::Tracker::new(&state_dir, &args.name)),
        outbox: Mutex::new(Vec::new()),
        exits: tokio::sync::watch::Sender::new(0),
        fence: Mutex::new(fence::Fence::load(state_dir.join("epoch"))),
        starting: Mutex::default(),
        tags: std::sync::atomic::AtomicU64::new(2),
        scanner: Mutex::new(ProcScanner::default()),
        scope: args.scope,
        load: Mutex::new(0.0),
        spool_root,
    });
    let (exit_tx, mut exit_rx) = mpsc::unbounded_channel::<Exit>();
    // What a previous run left running is ours again; what ended meanwhile is reported.
    shared.tasks.adopt(&exit_tx);
    let (on_stop, grace) = (args.on_stop, Duration::from_secs(args.stop_grace));
    // Exits wait in the outbox until the active manager acknowledges them.
    let sh = shared.clone();
    let collect = tokio::spawn(async move {
        while let Some(exit) = exit_rx.recv().await {
            sh.outbox.lock().push((exit, None));
            sh.exits.send_modify(|n| *n += 1);
        }
    });
    let mut links = Vec::new();
    for (id, up) in ups.into_iter().enumerate() {
        let (sh, args, exit_tx) = (shared.clone(), args.clone(), exit_tx.clone());
        links.push(tokio::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                let linked = link(&args, (id, &up), &sh, &exit_tx, &mut backoff).await;
                sh.fence.lock().gone(id);
                // Exits sent on the connection that ended will never be answered there: they
                // go again to whichever manager is followed next (the same one on its next
                // connection).
                for (_, sent) in sh.outbox.lock().iter_mut() {
                    if sent.is_some_and(|(link, _)| link == id) {
                        *sent = None;
                    }
                }
                // Drawn after the link: a link that worked for a while reset the backoff.
                let wait = crate::jitter::spread(backoff);
                if let Err(e) = linked {
                    tracing::warn!("agent {}: {e}; reconnecting in {wait:?}", args.name);
                    if !args.quiet {
                        eprintln!(
                            "gantry agent {}: {e}; reconnecting in {:.1} s",
                            args.name,
                            wait.as_secs_f64()
                        );
                    }
                }
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }));
    }
    stop.await;
    if on_stop == OnStop::Kill {
        tracing::info!("stopping: ending every task");
        shared.tasks.stop_all(grace).await;
        // Give the link a moment to tell the manager how they ended.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while !shared.outbox.lock().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    } else {
        tracing::info!("stopping: tasks keep running and are taken back at the next start");
    }
    for l in links {
        l.abort();
    }
    collect.abort();
    Ok(())
}

fn node_load(shared: &Shared, procs: &[super::proto::ProcInfo]) -> (f32, u32, u64, u64) {
    let (load, rq, free, total) = procs::machine_load();
    match shared.scope {
        Scope::Machine => (load, rq, free, total),
        Scope::Tasks => {
            // An exponentially damped count of runnable task processes, like the kernel's.
            let running = procs.iter().filter(|p| p.state == 'R').count() as u32;
            let mut l = shared.load.lock();
            *l = *l * 0.6 + running as f32 * 0.4;
            if running == 0 && *l < 0.05 {
                *l = 0.0;
            }
            (*l, running, free, total)
        }
    }
}

async fn link(
    args: &AgentArgs,
    (id, up): (usize, &Upstream),
    shared: &Arc<Shared>,
    exit_tx: &mpsc::UnboundedSender<Exit>,
    backoff: &mut Duration,
) -> anyhow::Result<()> {
    let where_ = up.describe();
    let (r, mut w) = up
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the manager at {where_}: {e}"))?;
    let mut reader = LineReader::new(r, MAX_REPLY_LINE);
    let (_, _, _, mem_total) = procs::machine_load();
    // SAFETY: sysconf only reads configuration.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as u32;
    let hello = Request::Agent {
        name: args.name.clone(),
        version: VERSION,
        cpus,
        mem_total_kb: mem_total,
    };
    w.write_all(request_line(None, &hello).as_bytes()).await?;
    w.flush().await?;
    let (heartbeat, epoch, role) = match reader.next().await? {
        Some(Item::Line(l)) => match Reply::decode_line(&l, false) {
            Ok((
                _,
                Reply::Welcome {
                    heartbeat_secs,
                    epoch,
                    role,
                },
            )) => (heartbeat_secs.max(1), epoch, role),
            Ok((_, Reply::Error { code, message })) => {
                anyhow::bail!("the manager refused this agent: {code} {message}")
            }
            other => anyhow::bail!("unexpected answer to AGENT: {other:?}"),
        },
        _ => anyhow::bail!("the manager closed the connection"),
    };
    *backoff = Duration::from_secs(1);
    tracing::info!(
        "agent {} registered with {where_} ({} at epoch {epoch})",
        args.name,
        if role.is_empty() { "active" } else { &role }
    );
    if !args.quiet {
        eprintln!("gantry agent {}: registered with {where_}", args.name);
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            // Flushed: over TLS, written bytes may wait in the session's buffer.
            if w.write_all(line.as_bytes()).await.is_err() || w.flush().await.is_err() {
                break;
            }
        }
    });
    // Tags are unique across links and reconnects: an exit is matched to the answer to the
    // very message that carried it, never to a later one that reused its number.
    let sh = shared.clone();
    let mut tag = move || sh.tags.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let standing = shared.fence.lock().welcome(id, epoch, &role);
    match standing {
        fence::Standing::Leader => report(shared, id, &tx, &mut tag),
        fence::Standing::Stale(newer) => {
            // A manager that missed a takeover learns it here, and steps down.
            let _ = tx.send(request_line(Some(tag()), &Request::Fenced { epoch: newer }));
        }
        fence::Standing::Other => {}
    }
    let mut exits = shared.exits.subscribe();
    let mut beat = tokio::time::interval(Duration::from_secs(u64::from(heartbeat)));
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A manager that says nothing for this long is hung, or cut off: the link is dropped
    // rather than written to without end.
    let silence = Duration::from_secs(u64::from(heartbeat) * 3).max(Duration::from_secs(3));
    let mut heard = tokio::time::Instant::now();
    // The last heartbeat's figures, sent again while /proc cannot be read: the node is alive,
    // and neither idle nor empty for that.
    let mut last_beat = (0.0f32, 0u32, 0u64, 0u32);
    let result = loop {
        tokio::select! {
            item = reader.next() => {
                heard = tokio::time::Instant::now();
                let line = match item {
                    Ok(Some(Item::Line(l))) => l,
                    Ok(Some(Item::TooLong)) => {
                        let _ = tx.send(reply_line(None, &Reply::error(413, "line too long")));
                        continue;
                    }
                    Ok(None) => break Err(anyhow::anyhow!("the manager closed the connection")),
                    Err(e) => break Err(anyhow::anyhow!("connection to the manager failed: {e}")),
                };
                match incoming(&line, MAX_FIELD) {
                    Ok(Incoming::Reply(Some(t), r)) => {
                        let mut out = shared.outbox.lock();
                        if matches!(r, Reply::Error { .. }) {
                            // Not taken (a manager that is not active): kept for the one that is.
                            for (_, sent) in out.iter_mut() {
                                if *sent == Some((id, t)) {
                                    *sent = None;
                                }
                            }
                        } else {
                            out.retain(|(_, sent)| *sent != Some((id, t)));
                        }
                    }
                    Ok(Incoming::Reply(None, _)) => {}
                    Ok(Incoming::Request(t, req)) => {
                        let req = *req;
                        if let Some(reply) = fencing(shared, id, &req) {
                            let lead = matches!(req, Request::Announce { .. })
                                && matches!(reply, Reply::Done(_))
                                && shared.fence.lock().is_leader(id);
                            let _ = tx.send(reply_line(t, &reply));
                            if lead {
                                report(shared, id, &tx, &mut tag);
                            }
                            continue;
                        }
                        if let Err(why) = shared.fence.lock().may_command(id) {
                            let _ = tx.send(reply_line(t, &Reply::error(409, why)));
                            continue;
                        }
                        let (shared, tx, exits) = (shared.clone(), tx.clone(), exit_tx.clone());
                        tokio::spawn(async move {
                            let reply = handle(&shared, req, exits).await;
                            let _ = tx.send(reply_line(t, &reply));
                        });
                    }
                    Err((t, e)) => {
                        let _ = tx.send(reply_line(t, &Reply::error(400, e.0)));
                    }
                }
            }
            _ = beat.tick() => {
                if heard.elapsed() > silence {
                    break Err(anyhow::anyhow!("the manager said nothing for {silence:?}"));
                }
                let sh = shared.clone();
                let roots = shared.tasks.roots();
                let scanned = tokio::task::spawn_blocking(move || {
                    let only = (sh.scope == Scope::Tasks).then_some(&roots);
                    let procs = sh.scanner.lock().scan(only).map(|mut procs| {
                        if sh.scope == Scope::Machine {
                            for p in &mut procs {
                                if let Some(t) = roots.get(&p.pid) {
                                    p.job = t.clone();
                                }
                            }
                        }
                        procs
                    });
                    let load = procs.as_ref().ok().map(|p| node_load(&sh, p));
                    (procs, load)
                }).await;
                if let Ok((procs, load)) = scanned {
                    if let (Ok(p), Some((load1, runqueue, mem_free_kb, _))) = (&procs, load) {
                        last_beat = (load1, runqueue, mem_free_kb, p.len() as u32);
                    }
                    let (load1, runqueue, mem_free_kb, n) = last_beat;
                    let hb = Request::Heartbeat { load1, runqueue, mem_free_kb, procs: n };
                    let _ = tx.send(request_line(Some(tag()), &hb));
                    match procs {
                        Ok(procs) => {
                            let _ = tx.send(request_line(Some(tag()), &Request::Procs(procs)));
                        }
                        // The heartbeat goes on; the last list stands until /proc reads again.
                        Err(e) => tracing::warn!("cannot read /proc: {e}; no process report sent"),
                    }
                }
            }
            Ok(()) = exits.changed() => {
                if shared.fence.lock().is_leader(id) {
                    send_exits(shared, id, &tx, &mut tag, false);
                }
            }
        }
    };
    writer.abort();
    result
}

/// The fencing requests (§9), answered at once; None for any other request.
fn fencing(shared: &Shared, id: usize, req: &Request) -> Option<Reply> {
    let mut f = shared.fence.lock();
    Some(match *req {
        Request::Lease {
            epoch,
            alone_seq,
            ms,
        } => match f.lease(id, epoch, alone_seq, ms) {
            Ok(()) => Reply::Done("LEASE".into()),
            Err(why) => Reply::error(409, why),
        },
        Request::Vote {
            epoch,
            last_epoch,
            last_seq,
        } => match f.vote(id, epoch, (last_epoch, last_seq)) {
            Ok(()) => {
                tracing::warn!("voted for a takeover at epoch {epoch}");
                Reply::Voted {
                    granted: true,
                    why: format!("epoch {epoch}"),
                }
            }
            Err(why) => Reply::Voted {
                granted: false,
                why,
            },
        },
        Request::Announce { epoch } => match f.announce(id, epoch) {
            Ok(_) => {
                tracing::warn!("following the manager active at epoch {epoch}");
                Reply::Done("EPOCH".into())
            }
            Err(why) => Reply::error(409, why),
        },
        _ => return None,
    })
}

/// Tells a manager that became the one followed how what ended ended, then what runs here —
/// in that order, so when it reads the list, a task missing from it has no exit on the way:
/// it never started here.
fn report(
    shared: &Shared,
    id: usize,
    tx: &mpsc::UnboundedSender<String>,
    tag: &mut impl FnMut() -> u64,
) {
    send_exits(shared, id, tx, tag, true);
    let mut list = shared.tasks.list();
    for t in shared.starting.lock().iter() {
        if !list.iter().any(|(x, _)| x == t) {
            list.push((t.clone(), 0));
        }
    }
    let _ = tx.send(request_line(Some(tag()), &Request::Tasks(list)));
}

/// Sends the exits not yet sent on link `id` (with `all`, also those sent on another link).
fn send_exits(
    shared: &Shared,
    id: usize,
    tx: &mpsc::UnboundedSender<String>,
    tag: &mut impl FnMut() -> u64,
    all: bool,
) {
    for (exit, sent) in shared.outbox.lock().iter_mut() {
        let resend = match sent {
            None => true,
            Some((link, _)) => all && *link != id,
        };
        if resend {
            let t = tag();
            *sent = Some((id, t));
            let _ = tx.send(exit_line(t, exit));
        }
    }
}

fn exit_line(tag: u64, (task, pid, status): &Exit) -> String {
    request_line(
        Some(tag),
        &Request::Exited {
            task: task.clone(),
            pid: *pid,
            status: *status,
        },
    )
}

async fn handle(shared: &Arc<Shared>, req: Request, exits: mpsc::UnboundedSender<Exit>) -> Reply {
    match req {
        Request::Run {
            task,
            job,
            user,
            account,
            root_ok,
            spec,
            checkpoint_dir,
        } => {
            // NSS lookups and directory work may block: off the I/O threads.
            let sh = shared.clone();
            let id = task.clone();
            shared.starting.lock().insert(id.clone());
            let epoch = shared.fence.lock().epoch_followed();
            let started = tokio::task::spawn_blocking(move || {
                sh.tasks.start(
                    &tasks::RunTask {
                        task: &task,
                        job,
                        user: &user,
                        account: &account,
                        root_ok,
                        spec: &spec,
                        checkpoint_dir: &checkpoint_dir,
                        spool_root: &sh.spool_root,
                        epoch,
                    },
                    exits,
                )
            })
            .await;
            shared.starting.lock().remove(&id);
            match started {
                Ok(Ok(pid)) => Reply::Started(pid),
                Ok(Err(e)) => Reply::error(500, e),
                Err(_) => Reply::error(500, "starting the task failed"),
            }
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
        } => {
            let sh = shared.clone();
            let read = tokio::task::spawn_blocking(move || -> Result<(u64, Vec<u8>), String> {
                // Read as the account: root only where the manager allows the job root.
                let acct = tasks::account_for(&account, root_ok)?;
                let job = task.split('.').next().unwrap_or_default();
                let spool = sh.spool_root.join(job);
                let spec = crate::cm::job::JobSpec {
                    dir: (!dir.is_empty()).then_some(dir),
                    output: (stream == "out" && !file.is_empty()).then(|| file.clone()),
                    error: (stream == "err" && !file.is_empty()).then(|| file.clone()),
                    ..Default::default()
                };
                let f = launch::files(&spec, &acct.home, &spool, &task);
                let path = if stream == "out" { f.out } else { f.err };
                read_as::read_as(&acct, &path, offset, u64::from(max.min(1 << 20)))
                    .map_err(|e| e.to_string())
            })
            .await;
            match read {
                Ok(Ok((size, data))) => {
                    let start = offset.min(size);
                    let at_end = start + data.len() as u64 >= size;
                    let (text, used) = crate::cm::text_chunk(&data, at_end);
                    Reply::Tail {
                        next: start + used as u64,
                        size,
                        data: text,
                    }
                }
                Ok(Err(e)) => Reply::error(404, e),
                Err(_) => Reply::error(500, "reading the file failed"),
            }
        }
        Request::Signal {
            pid,
            signal,
            start,
            owner,
        } => match signal_one(shared, pid, signal.number(), start, &owner) {
            Ok(()) => Reply::Done("SIGNAL".into()),
            Err((code, why)) => Reply::error(code, format!("pid {pid}: {why}")),
        },
        Request::Stop { task, grace_secs } => {
            match shared
                .tasks
                .stop(&task, Duration::from_secs(u64::from(grace_secs)))
                .await
            {
                Ok(status) => Reply::Stopped(status),
                Err(e) => Reply::error(404, e),
            }
        }
        Request::Ping => Reply::Pong(crate::aggregator::now_epoch()),
        other => Reply::error(400, format!("an agent does not answer {}", other.verb())),
    }
}

/// Signals one process as the manager asked: a task's main process (the whole task), another
/// process of a task, or a process of a given Unix user — each only if it is still exactly the
/// process that was reported (its start time), held by a pidfd while checked and signalled.
fn signal_one(
    shared: &Shared,
    pid: u32,
    sig: i32,
    start: u64,
    owner: &str,
) -> Result<(), (u16, String)> {
    use pidfd::{Expect, Pidfd};
    let io = |e: std::io::Error| match e.raw_os_error() {
        Some(libc::ESRCH) => (
            404,
            "no such process (it ended, or the pid is another's now)".to_string(),
        ),
        Some(libc::EPERM) => (403, "it belongs to another user".to_string()),
        _ => (500, e.to_string()),
    };
    if owner.is_empty()
        && let Some(r) = shared.tasks.signal_task(pid, sig)
    {
        return r.map_err(io);
    }
    let want = if let Some(task) = owner.strip_prefix("task:") {
        if !shared.tasks.owns(task, pid) {
            return Err((403, format!("not a process of task {task}")));
        }
        Expect { start, uid: None }
    } else if let Some(user) = owner.strip_prefix("user:") {
        let uid = match user.parse::<u32>() {
            Ok(u) => u,
            Err(_) => {
                crate::cm::account::lookup(user)
                    .map_err(|e| (404, e.to_string()))?
                    .uid
            }
        };
        Expect {
            start,
            uid: Some(uid),
        }
    } else {
        return Err((404, "not a task of this agent".into()));
    };
    Pidfd::open_checked(pid, want)
        .and_then(|p| p.signal(sig))
        .map_err(io)
}

/// The processes of the whole machine, as `PS` reports them (for tests and tools).
pub fn scan_all() -> Vec<super::proto::ProcInfo> {
    ProcScanner::default().scan(None).unwrap_or_default()
}
