//! `gantry agent`: a node agent. Keeps one connection to the central manager (reconnecting with
//! backoff 1 s → 30 s), sends heartbeats with the node's load and its process list, runs tasks
//! as real processes, signals and stops them on request, and remembers every task's exit until
//! the manager has acknowledged it — across reconnects and manager restarts.

mod dirs;
mod launch;
mod procs;
mod read_as;
mod tasks;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

pub use procs::ProcScanner;
use tasks::{Exit, Tasks, signal_group};

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
    /// The central manager, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub cm: String,
    /// File holding the shared agent secret (default: $GANTRY_CM_SECRET, else cm.secret in the
    /// state directory).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<std::path::PathBuf>,
    /// What the node is: the whole machine, or only this agent's tasks.
    #[arg(long, value_enum, default_value = "machine")]
    pub scope: Scope,
    /// Where this agent keeps its spool (jobs' output sent to no file) and state (default:
    /// agent/NAME in the state directory).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    /// Say nothing on stderr (an agent inside the console must not write over its screen).
    #[arg(skip)]
    pub quiet: bool,
}

struct Shared {
    tasks: Tasks,
    /// Exits not yet acknowledged by the manager, by the tag they were last sent with.
    outbox: Mutex<Vec<(Exit, Option<u64>)>>,
    scanner: Mutex<ProcScanner>,
    scope: Scope,
    load: Mutex<f32>,
    spool_root: std::path::PathBuf,
}

/// Runs the agent until SIGINT/SIGTERM; `state_dir` is where it keeps its spool.
pub async fn run(
    args: AgentArgs,
    secret: String,
    state_dir: std::path::PathBuf,
) -> anyhow::Result<()> {
    let spool_root = state_dir.join("spool");
    dirs::private_parent(&spool_root).map_err(|e| anyhow::anyhow!("spool: {e}"))?;
    let shared = Arc::new(Shared {
        tasks: Tasks::default(),
        outbox: Mutex::new(Vec::new()),
        scanner: Mutex::new(ProcScanner::default()),
        scope: args.scope,
        load: Mutex::new(0.0),
        spool_root,
    });
    let (exit_tx, mut exit_rx) = mpsc::unbounded_channel::<Exit>();
    let mut backoff = Duration::from_secs(1);
    let stop = crate::cli::aggregator::wait_for_termination();
    tokio::pin!(stop);
    loop {
        let session = link(
            &args,
            &secret,
            &shared,
            &exit_tx,
            &mut exit_rx,
            &mut backoff,
        );
        tokio::select! {
            r = session => {
                if let Err(e) = r {
                    tracing::warn!("agent {}: {e}; reconnecting in {backoff:?}", args.name);
                    if !args.quiet {
                        eprintln!("gantry agent {}: {e}; reconnecting in {} s", args.name, backoff.as_secs());
                    }
                }
            }
            _ = &mut stop => return Ok(()),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = &mut stop => return Ok(()),
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
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
    secret: &str,
    shared: &Arc<Shared>,
    exit_tx: &mpsc::UnboundedSender<Exit>,
    exit_rx: &mut mpsc::UnboundedReceiver<Exit>,
    backoff: &mut Duration,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect(&args.cm)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the manager at {}: {e}", args.cm))?;
    let _ = stream.set_nodelay(true);
    let (r, mut w) = stream.into_split();
    let mut reader = LineReader::new(r, MAX_REPLY_LINE);
    let (_, _, _, mem_total) = procs::machine_load();
    // SAFETY: sysconf only reads configuration.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as u32;
    let hello = Request::Agent {
        name: args.name.clone(),
        version: VERSION,
        cpus,
        mem_total_kb: mem_total,
        secret: secret.to_string(),
    };
    w.write_all(request_line(None, &hello).as_bytes()).await?;
    let heartbeat = match reader.next().await? {
        Some(Item::Line(l)) => match Reply::decode_line(&l, false) {
            Ok((_, Reply::Welcome { heartbeat_secs })) => heartbeat_secs.max(1),
            Ok((_, Reply::Error { code, message })) => {
                anyhow::bail!("the manager refused this agent: {code} {message}")
            }
            other => anyhow::bail!("unexpected answer to AGENT: {other:?}"),
        },
        _ => anyhow::bail!("the manager closed the connection"),
    };
    *backoff = Duration::from_secs(1);
    tracing::info!("agent {} registered with {}", args.name, args.cm);
    if !args.quiet {
        eprintln!("gantry agent {}: registered with {}", args.name, args.cm);
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if w.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let mut next_tag: u64 = 1;
    let mut tag = || {
        next_tag += 1;
        next_tag
    };
    // What runs here, then every exit the manager has not acknowledged.
    let _ = tx.send(request_line(
        Some(tag()),
        &Request::Tasks(shared.tasks.list()),
    ));
    for (exit, sent) in shared.outbox.lock().iter_mut() {
        let t = tag();
        *sent = Some(t);
        let _ = tx.send(exit_line(t, exit));
    }
    let mut beat = tokio::time::interval(Duration::from_secs(u64::from(heartbeat)));
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        tokio::select! {
            item = reader.next() => {
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
                    Ok(Incoming::Reply(Some(t), _)) => {
                        shared.outbox.lock().retain(|(_, sent)| *sent != Some(t));
                    }
                    Ok(Incoming::Reply(None, _)) => {}
                    Ok(Incoming::Request(t, req)) => {
                        let (shared, tx, exits) = (shared.clone(), tx.clone(), exit_tx.clone());
                        tokio::spawn(async move {
                            let reply = handle(&shared, *req, exits).await;
                            let _ = tx.send(reply_line(t, &reply));
                        });
                    }
                    Err((t, e)) => {
                        let _ = tx.send(reply_line(t, &Reply::error(400, e.0)));
                    }
                }
            }
            _ = beat.tick() => {
                let sh = shared.clone();
                let roots = shared.tasks.roots();
                let scanned = tokio::task::spawn_blocking(move || {
                    let only = (sh.scope == Scope::Tasks).then_some(&roots);
                    let mut procs = sh.scanner.lock().scan(only);
                    if sh.scope == Scope::Machine {
                        for p in &mut procs {
                            if let Some(t) = roots.get(&p.pid) {
                                p.job = t.clone();
                            }
                        }
                    }
                    let load = node_load(&sh, &procs);
                    (procs, load)
                }).await;
                if let Ok((procs, (load1, runqueue, mem_free_kb, _))) = scanned {
                    let hb = Request::Heartbeat { load1, runqueue, mem_free_kb, procs: procs.len() as u32 };
                    let _ = tx.send(request_line(Some(tag()), &hb));
                    let _ = tx.send(request_line(Some(tag()), &Request::Procs(procs)));
                }
            }
            Some(exit) = exit_rx.recv() => {
                let t = tag();
                let _ = tx.send(exit_line(t, &exit));
                shared.outbox.lock().push((exit, Some(t)));
            }
        }
    };
    writer.abort();
    result
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
                    },
                    exits,
                )
            })
            .await;
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
            dir,
            file,
        } => {
            let sh = shared.clone();
            let read = tokio::task::spawn_blocking(move || -> Result<(u64, Vec<u8>), String> {
                // Read as the account: root only for jobs that ran as root.
                let acct = tasks::account_for(&account, true)?;
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
        Request::Signal { pid, signal } => {
            let is_task = shared.tasks.roots().contains_key(&pid);
            let ok = if is_task {
                signal_group(pid, signal.number())
            } else {
                i32::try_from(pid).is_ok_and(|p| unsafe { libc::kill(p, signal.number()) } == 0)
            };
            if ok {
                Reply::Done("SIGNAL".into())
            } else {
                Reply::error(
                    404,
                    format!(
                        "cannot signal pid {pid}: {}",
                        std::io::Error::last_os_error()
                    ),
                )
            }
        }
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

/// The processes of the whole machine, as `PS` reports them (for tests and tools).
pub fn scan_all() -> Vec<super::proto::ProcInfo> {
    ProcScanner::default().scan(None)
}
