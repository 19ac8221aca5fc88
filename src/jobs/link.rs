//! One central manager, as the console sees it: a task holding one connection (TCP or a Unix
//! socket), logging in again after a reconnect, trying the primary address and then its
//! shadows with backoff, answering the UI's commands with events, and refreshing the process,
//! node and job lists every two seconds. Every request has a timeout.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{JobCommand, JobEvent, LinkState, ManagerConfig, secrets};
use crate::cm::codec::{Item, MAX_REPLY_LINE};
use crate::cm::link::{LineReader, request_line};
use crate::cm::proto::{HaStatus, Reply, Request, VERSION};

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Sends commands to a link.
#[derive(Debug, Clone)]
pub struct LinkHandle {
    tx: mpsc::UnboundedSender<JobCommand>,
}

impl LinkHandle {
    /// A handle over a command channel (for other backends).
    pub fn new(tx: mpsc::UnboundedSender<JobCommand>) -> Self {
        Self { tx }
    }

    /// Queues a command; the answer comes back as an event.
    pub fn send(&self, c: JobCommand) {
        let _ = self.tx.send(c);
    }
}

/// Events carry the cluster they are about.
pub type Events = mpsc::UnboundedSender<(String, JobEvent)>;

/// Starts a link for `cfg`.
pub fn spawn(cfg: ManagerConfig, events: Events) -> LinkHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(cfg, rx, events));
    LinkHandle { tx }
}

struct Conn {
    reader: LineReader<tokio::io::ReadHalf<Box<dyn Io>>>,
    writer: tokio::io::WriteHalf<Box<dyn Io>>,
    /// The tag of the last request. Every request is tagged, so the late answer to one that
    /// timed out is known for what it is and passed over, not taken for the next one's.
    tag: u64,
}

const TIMEOUT: Duration = Duration::from_secs(10);
/// A manager answers HELLO at once; one that does not is passed over for the next address.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

impl Conn {
    async fn open(
        addr: &str,
        tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    ) -> Result<Self, String> {
        let io: Box<dyn Io> = match addr.strip_prefix("unix:") {
            Some(path) => Box::new(
                tokio::time::timeout(TIMEOUT, tokio::net::UnixStream::connect(path))
                    .await
                    .map_err(|_| "connect timed out".to_string())?
                    .map_err(|e| e.to_string())?,
            ),
            None => {
                let s = tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(addr))
                    .await
                    .map_err(|_| "connect timed out".to_string())?
                    .map_err(|e| e.to_string())?;
                let _ = s.set_nodelay(true);
                match tls {
                    None => Box::new(s),
                    Some(cfg) => {
                        let name = crate::cm::tls::server_name(addr).map_err(|e| e.to_string())?;
                        let c = tokio_rustls::TlsConnector::from(cfg.clone());
                        Box::new(
                            // Like HELLO: a manager answers at once, or the next address is tried.
                            tokio::time::timeout(
                                HELLO_TIMEOUT,
                                c.connect(name, crate::cm::tls::client_socket(s)),
                            )
                            .await
                            .map_err(|_| "TLS handshake timed out".to_string())?
                            .map_err(|e| format!("TLS: {e}"))?,
                        )
                    }
                }
            }
        };
        let (r, w) = tokio::io::split(io);
        Ok(Self {
            reader: LineReader::new(r, MAX_REPLY_LINE),
            writer: w,
            tag: 0,
        })
    }

    /// A request and its reply; `Err` only when the link itself failed.
    async fn call(&mut self, req: &Request, timeout: Duration) -> Result<Reply, String> {
        self.tag += 1;
        let tag = self.tag;
        let line = request_line(Some(tag), req);
        let exchange = async {
            self.writer
                .write_all(line.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            // Over TLS, written bytes may wait in the session's buffer until flushed.
            self.writer.flush().await.map_err(|e| e.to_string())?;
            loop {
                match self.reader.next().await.map_err(|e| e.to_string())? {
                    Some(Item::Line(l)) => {
                        let is_req = matches!(req, Request::Req { .. });
                        let decoded = crate::guard::caught("the manager's reply", || {
                            Reply::decode_line(&l, is_req)
                        })
                        .map_err(|e| e.to_string())?;
                        match decoded {
                            // An earlier request's answer, come after it was given up on.
                            Ok((Some(t), _)) if t != tag => {
                                tracing::debug!("passed over a late answer (tag {t})");
                            }
                            // Ours, or untagged: the manager's own word (a closing error).
                            Ok((_, r)) => return Ok(r),
                            Err(e) => return Err(format!("bad reply: {e}")),
                        }
                    }
                    Some(Item::TooLong) => return Err("reply too long".into()),
                    None => return Err("the manager closed the connection".into()),
                }
            }
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| {
            format!(
                "{} got no answer within {} s",
                req.verb(),
                timeout.as_secs()
            )
        })?
    }
}

fn refused(r: Reply) -> String {
    match r {
        Reply::Error { code, message } => format!("{message} ({code})"),
        other => format!("unexpected answer: {other:?}"),
    }
}

/// Waits out a pause while no manager answers; commands meanwhile get a plain answer instead of
/// waiting. False when the console has gone.
async fn wait_down(
    pause: Duration,
    cmds: &mut mpsc::UnboundedReceiver<JobCommand>,
    session: &mut Session,
    (why, key): (&str, &str),
    emit: &impl Fn(JobEvent),
) -> bool {
    let pause = tokio::time::sleep(pause);
    tokio::pin!(pause);
    loop {
        tokio::select! {
            _ = &mut pause => return true,
            cmd = cmds.recv() => match cmd {
                None => return false,
                Some(JobCommand::Login { user, password, .. }) => {
                    session.creds = Some((user, password));
                    emit(JobEvent::LoginFailed(format!("not connected: {why}; will log in when it answers")));
                }
                // Read the keyring now; the login happens once a manager answers.
                Some(JobCommand::LoginFromKeyring { user }) => {
                    let (k, u) = (key.to_string(), user.clone());
                    if let Ok(Ok(Some(password))) =
                        tokio::task::spawn_blocking(move || secrets::load(&k, &u)).await
                    {
                        session.creds = Some((user, password));
                    }
                }
                Some(cmd) => emit(not_sent(cmd, why)),
            }
        }
    }
}

/// The answer to a command that could not be sent (no manager answers): the dialog that
/// waits for it hears that nothing was done, and why.
fn not_sent(cmd: JobCommand, why: &str) -> JobEvent {
    let said = format!("central manager unreachable ({why}): nothing was sent");
    match cmd {
        JobCommand::Submit(_) => JobEvent::Submitted(Err(said)),
        JobCommand::Signal { targets, .. } => JobEvent::Signalled(
            targets
                .into_iter()
                .map(|t| (t, Err(said.clone())))
                .collect(),
        ),
        JobCommand::Migrate { target, .. } => JobEvent::Migrated(target, Err(said)),
        JobCommand::Tail { .. } => JobEvent::TailFailed(said),
        _ => JobEvent::Note(format!("central manager unreachable: {why}")),
    }
}

/// Why a request's answer is unknown: the link broke after it was sent, so the manager may or
/// may not have carried it out.
fn unknown(e: &str, what: &str) -> String {
    format!("the link broke before the manager answered ({e}): {what}; look again once it is back")
}

/// What the addresses said when none could be used: why, and whether a manager answered that
/// is only waiting to take over (then the next try comes soon, not after the backoff).
struct NoActive {
    why: String,
    standby: bool,
}

/// The active manager (protocol §9) among the addresses: each is asked `HA` after `HELLO`, and
/// the one active at the highest epoch — never one below `highest`, which a newer manager
/// replaced — is used. An address that accepts but never answers, or closes at once, counts as
/// failed like one that refuses. A manager of an earlier version, which has no `HA`, counts as
/// active at epoch 0.
async fn connect_any(
    cfg: &ManagerConfig,
    preferred: usize,
    highest: u64,
    emit: &impl Fn(JobEvent),
) -> Result<(usize, Conn, HaStatus), NoActive> {
    // The last good address first, then the list in order.
    let mut order: Vec<usize> = (0..cfg.addresses.len()).collect();
    order.sort_by_key(|i| *i != preferred);
    let mut errors = Vec::new();
    let mut standby = false;
    let hello = Request::Hello {
        version: VERSION,
        client: "gantry-console".into(),
    };
    let tls = match &cfg.trust {
        Some(t) => Some(crate::cm::tls::client_config(t).map_err(|e| NoActive {
            why: e.to_string(),
            standby: false,
        })?),
        None => None,
    };
    let mut best: Option<(usize, Conn, HaStatus)> = None;
    for i in order {
        let addr = &cfg.addresses[i];
        emit(JobEvent::State(LinkState::Connecting(addr.clone())));
        let mut c = match Conn::open(addr, tls.as_ref()).await {
            Ok(c) => c,
            Err(e) => {
                errors.push(format!("{addr}: {e}"));
                continue;
            }
        };
        match c.call(&hello, HELLO_TIMEOUT).await {
            Ok(Reply::Hello { .. }) => {}
            Ok(r) => {
                errors.push(format!("{addr}: HELLO refused: {}", refused(r)));
                continue;
            }
            Err(e) => {
                errors.push(format!("{addr}: no answer to HELLO: {e}"));
                continue;
            }
        }
        let status = match c.call(&Request::Ha, HELLO_TIMEOUT).await {
            Ok(Reply::Ha(s)) => *s,
            Ok(Reply::Error { code: 400, .. }) => HaStatus {
                role: "active".into(),
                name: addr.clone(),
                ..HaStatus::default()
            },
            Ok(r) => {
                errors.push(format!("{addr}: HA refused: {}", refused(r)));
                continue;
            }
            Err(e) => {
                errors.push(format!("{addr}: no answer to HA: {e}"));
                continue;
            }
        };
        if status.role != "active" || status.epoch < highest {
            standby |= status.role != "active";
            errors.push(format!(
                "{addr}: {} at epoch {}{}",
                status.role,
                status.epoch,
                if status.why.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", status.why)
                }
            ));
            continue;
        }
        if best.as_ref().is_none_or(|b| status.epoch > b.2.epoch) {
            best = Some((i, c, status));
        }
    }
    best.ok_or_else(|| NoActive {
        why: if errors.is_empty() {
            "no address configured".into()
        } else {
            format!("no active manager: {}", errors.join("; "))
        },
        standby,
    })
}

/// What every address of a central manager says of itself (`HA`, protocol §9), for
/// `gantry status`: one answer or error per address, in the configured order.
pub async fn probe(cfg: &ManagerConfig) -> Vec<(String, Result<HaStatus, String>)> {
    let tls = match &cfg.trust {
        Some(t) => match crate::cm::tls::client_config(t) {
            Ok(c) => Some(c),
            Err(e) => {
                return cfg
                    .addresses
                    .iter()
                    .map(|a| (a.clone(), Err(e.to_string())))
                    .collect();
            }
        },
        None => None,
    };
    let hello = Request::Hello {
        version: VERSION,
        client: "gantry-status".into(),
    };
    let mut out = Vec::new();
    for addr in &cfg.addresses {
        let r = async {
            let mut c = Conn::open(addr, tls.as_ref()).await?;
            match c.call(&hello, HELLO_TIMEOUT).await? {
                Reply::Hello { .. } => {}
                r => return Err(format!("HELLO refused: {}", refused(r))),
            }
            match c.call(&Request::Ha, HELLO_TIMEOUT).await? {
                Reply::Ha(s) => Ok(*s),
                Reply::Error { code: 400, .. } => Ok(HaStatus {
                    role: "active".into(),
                    name: addr.clone(),
                    shadow: "none (a manager without HA)".into(),
                    ..HaStatus::default()
                }),
                r => Err(format!("HA refused: {}", refused(r))),
            }
        }
        .await;
        out.push((addr.clone(), r));
    }
    out
}

/// A session shorter than this does not reset the reconnect backoff, so a manager that
/// accepts and then drops every connection is not hammered.
const STEADY: Duration = Duration::from_secs(10);

async fn run(cfg: ManagerConfig, mut cmds: mpsc::UnboundedReceiver<JobCommand>, events: Events) {
    let emit = |e: JobEvent| {
        let _ = events.send((cfg.cluster.clone(), e));
    };
    let mut session = Session::default();
    let mut preferred = 0usize;
    let mut backoff = Duration::from_secs(1);
    let key = cfg.addresses.first().cloned().unwrap_or_default();
    loop {
        let (i, mut c, status) = match connect_any(&cfg, preferred, session.highest, &emit).await {
            Ok(found) => found,
            Err(NoActive { why, standby }) => {
                emit(JobEvent::State(LinkState::Down(why.clone())));
                // A standby that answers takes over within a few heartbeats: look again soon.
                let pause = if standby {
                    Duration::from_millis(500)
                } else {
                    crate::jitter::spread(backoff)
                };
                if !wait_down(pause, &mut cmds, &mut session, (&why, &key), &emit).await {
                    return;
                }
                if !standby {
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
                continue;
            }
        };
        session.highest = session.highest.max(status.epoch);
        emit(JobEvent::Ha(status));
        preferred = i;
        let since = std::time::Instant::now();
        let addr = cfg.addresses[i].clone();
        let broken = session_on(
            &mut c,
            &mut cmds,
            &mut session,
            &Place {
                addr: &addr,
                key: &key,
            },
            &emit,
        )
        .await;
        let Some(broken) = broken else { return };
        let why = format!("{addr}: {broken}");
        emit(JobEvent::State(LinkState::Down(why.clone())));
        if since.elapsed() >= STEADY {
            backoff = Duration::from_secs(1);
        } else {
            if !wait_down(
                crate::jitter::spread(backoff),
                &mut cmds,
                &mut session,
                (&why, &key),
                &emit,
            )
            .await
            {
                return;
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
}

/// One connected session: log in (by socket or by password), then serve commands and refresh
/// until the connection breaks (its error) or the console goes (None).
async fn session_on(
    c: &mut Conn,
    cmds: &mut mpsc::UnboundedReceiver<JobCommand>,
    session: &mut Session,
    place: &Place<'_>,
    emit: &impl Fn(JobEvent),
) -> Option<String> {
    let addr = place.addr;
    emit(JobEvent::State(LinkState::Connected(addr.to_string())));
    session.role.clear();
    // A local Unix socket logs us in by who we are.
    if session.creds.as_ref().is_none_or(|(_, p)| p.is_empty())
        && let Ok(Reply::Resumed { user, role: r }) = c.call(&Request::Whoami, TIMEOUT).await
    {
        session.role = r.clone();
        session.creds = Some((user.clone(), String::new()));
        emit(JobEvent::State(LinkState::LoggedIn(
            addr.to_string(),
            user,
            r,
        )));
    }
    if let Some((u, p)) = session.creds.clone().filter(|(_, p)| !p.is_empty()) {
        match c
            .call(
                &Request::Login {
                    user: u,
                    password: p,
                },
                TIMEOUT,
            )
            .await
        {
            Ok(Reply::LoggedIn { user, role: r, .. }) => {
                session.role = r.clone();
                emit(JobEvent::State(LinkState::LoggedIn(
                    addr.to_string(),
                    user,
                    r,
                )));
            }
            Ok(r) => {
                session.creds = None;
                emit(JobEvent::LoginFailed(refused(r)));
            }
            Err(e) => return Some(e),
        }
    }
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            cmd = cmds.recv() => {
                let cmd = cmd?;
                if let Err(e) = command(c, cmd, session, place, emit).await {
                    return Some(e);
                }
            }
            _ = tick.tick() => {
                // Still the active manager? One that was fenced or handed over is left for the
                // one that is.
                match c.call(&Request::Ha, TIMEOUT).await {
                    Ok(Reply::Ha(s)) => {
                        let gone = s.role != "active" || s.epoch < session.highest;
                        session.highest = session.highest.max(s.epoch);
                        let why = format!("{} is {} at epoch {} ({})", addr, s.role, s.epoch, s.why);
                        emit(JobEvent::Ha(*s));
                        if gone {
                            return Some(why);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Some(e),
                }
                if session.creds.is_some() && !session.role.is_empty() {
                    if let Err(e) = refresh(c, &session.role, emit).await {
                        return Some(e);
                    }
                } else if let Err(e) = c.call(&Request::Ping, TIMEOUT).await {
                    // Waiting for a login: the manager closes connections that stay silent.
                    return Some(e);
                }
            }
        }
    }
}

/// A refresh after an action, when logged in (a re-login that failed after a reconnect leaves
/// nothing to ask for).
async fn refresh_if_logged_in(
    c: &mut Conn,
    session: &Session,
    emit: &impl Fn(JobEvent),
) -> Result<(), String> {
    if session.creds.is_some() && !session.role.is_empty() {
        refresh(c, &session.role, emit).await
    } else {
        Ok(())
    }
}

async fn refresh(c: &mut Conn, role: &str, emit: &impl Fn(JobEvent)) -> Result<(), String> {
    let all = if role == "admin" { "*" } else { "" };
    // Any answer but the list is a failed refresh, never an empty list: the rows shown stay as
    // they were, and the link says why it is reconnecting.
    let ps = Request::Ps {
        user: String::new(),
    };
    let procs = match c.call(&ps, TIMEOUT).await? {
        Reply::Ps(p) => p,
        r => return Err(format!("PS: {}", refused(r))),
    };
    let nodes = match c.call(&Request::Nodes, TIMEOUT).await? {
        Reply::Nodes(n) => n,
        r => return Err(format!("NODES: {}", refused(r))),
    };
    let jobs = match c.call(&Request::Jobs { user: all.into() }, TIMEOUT).await? {
        Reply::Jobs(j) => j,
        r => return Err(format!("JOBS: {}", refused(r))),
    };
    emit(JobEvent::Lists { procs, nodes, jobs });
    // The queue as the manager judges it (a manager from before QUEUE answers with an error,
    // and the console shows no queue for it); a link that fails here fails like any other.
    if let Reply::Queue(q) = c.call(&Request::Queue, TIMEOUT).await?
        && q.pressure.at > 0
    {
        emit(JobEvent::Queue(std::sync::Arc::new(*q)));
    }
    Ok(())
}

/// Who the link is logged in as, kept across reconnects.
#[derive(Default)]
struct Session {
    /// The highest manager epoch seen (protocol §9): a manager below it is not used.
    highest: u64,
    /// User and password (empty password: logged in by the Unix socket's peer credentials).
    creds: Option<(String, String)>,
    /// Role given by the manager; empty when not logged in.
    role: String,
}

/// Where the link is: the address in use and the keyring key of the manager.
struct Place<'a> {
    addr: &'a str,
    key: &'a str,
}

async fn command(
    c: &mut Conn,
    cmd: JobCommand,
    session: &mut Session,
    place: &Place<'_>,
    emit: &impl Fn(JobEvent),
) -> Result<(), String> {
    let Place { addr, key } = *place;
    match cmd {
        JobCommand::LoginFromKeyring { user } => {
            let (k, u) = (key.to_string(), user.clone());
            let saved = tokio::task::spawn_blocking(move || secrets::load(&k, &u))
                .await
                .map_err(|e| e.to_string())?;
            match saved {
                Ok(Some(password)) => {
                    login(c, (user, password, false), session, place, emit).await?;
                }
                // Nothing remembered: the login dialog asks, no need to say more.
                Ok(None) => {}
                Err(e) => emit(JobEvent::Note(e.to_string())),
            }
        }
        JobCommand::Login {
            user,
            password,
            remember,
        } => login(c, (user, password, remember), session, place, emit).await?,
        JobCommand::Slurm(_) | JobCommand::SlurmDetail(_) => {
            emit(JobEvent::Note(
                "a central manager has no Slurm jobs to act on".into(),
            ));
        }
        JobCommand::SlurmPower { .. } => {
            emit(JobEvent::Note(
                "a central manager's nodes come and go by its provision and release commands"
                    .into(),
            ));
        }
        JobCommand::Logout => {
            c.call(&Request::Logout, TIMEOUT).await?;
            session.creds = None;
            session.role.clear();
            emit(JobEvent::State(LinkState::Connected(addr.to_string())));
        }
        JobCommand::Refresh => refresh_if_logged_in(c, session, emit).await?,
        JobCommand::Signal { targets, signal } => {
            let mut out = Vec::new();
            let mut rest = targets.into_iter();
            while let Some(t) = rest.next() {
                let req = Request::Sig {
                    pid: t.pid,
                    node: t.node.clone(),
                    signal,
                };
                let r = match c.call(&req, TIMEOUT).await {
                    Ok(Reply::Signalled { .. }) => Ok(()),
                    Ok(r) => Err(refused(r)),
                    Err(e) => {
                        // This one may have been signalled; the rest were not sent.
                        out.push((t, Err(unknown(&e, "it may or may not have been signalled"))));
                        out.extend(rest.map(|t| (t, Err("not sent: the link broke".to_string()))));
                        emit(JobEvent::Signalled(out));
                        return Err(e);
                    }
                };
                out.push((t, r));
            }
            emit(JobEvent::Signalled(out));
            refresh_if_logged_in(c, session, emit).await?;
        }
        JobCommand::Migrate { target, to } => {
            let req = Request::Mig {
                pid: target.pid,
                from: target.node.clone(),
                to,
            };
            let r = match c.call(&req, Duration::from_secs(90)).await {
                Ok(Reply::Migrated { node, pid }) => Ok((node, pid)),
                Ok(r) => Err(refused(r)),
                Err(e) => {
                    let why = unknown(&e, "it may or may not have moved");
                    emit(JobEvent::Migrated(target, Err(why)));
                    return Err(e);
                }
            };
            emit(JobEvent::Migrated(target, r));
            refresh_if_logged_in(c, session, emit).await?;
        }
        JobCommand::Submit(spec) => {
            let r = match c.call(&Request::Submit(*spec), TIMEOUT).await {
                Ok(Reply::Submitted(id)) => Ok(id),
                Ok(r) => Err(refused(r)),
                Err(e) => {
                    let why = unknown(&e, "the job may or may not have been submitted");
                    emit(JobEvent::Submitted(Err(why)));
                    return Err(e);
                }
            };
            emit(JobEvent::Submitted(r));
            refresh_if_logged_in(c, session, emit).await?;
        }
        JobCommand::Tail { id, stream, offset } => {
            let req = Request::Tail {
                id,
                stream: stream.clone(),
                offset,
                max: 256 * 1024,
            };
            let answer = match c.call(&req, TIMEOUT).await {
                Ok(a) => a,
                Err(e) => {
                    emit(JobEvent::TailFailed(format!("the link broke: {e}")));
                    return Err(e);
                }
            };
            match answer {
                Reply::Tail { next, size, data } => emit(JobEvent::Tail {
                    id,
                    stream,
                    offset,
                    next,
                    size,
                    data,
                }),
                r => emit(JobEvent::TailFailed(refused(r))),
            }
        }
    }
    Ok(())
}

async fn login(
    c: &mut Conn,
    (user, password, remember): (String, String, bool),
    session: &mut Session,
    place: &Place<'_>,
    emit: &impl Fn(JobEvent),
) -> Result<(), String> {
    let Place { addr, key } = *place;
    let req = Request::Login {
        user: user.clone(),
        password: password.clone(),
    };
    let answer = match c.call(&req, TIMEOUT).await {
        Ok(a) => a,
        Err(e) => {
            // The connection broke under the login: say so (the dialog is waiting), and log in
            // with these credentials once a manager answers again.
            session.creds = Some((user, password));
            emit(JobEvent::LoginFailed(format!(
                "connection lost during login ({e}); will log in when it answers"
            )));
            return Err(e);
        }
    };
    match answer {
        Reply::LoggedIn { user, role: r, .. } => {
            session.role = r.clone();
            if remember {
                let (k, u, p) = (key.to_string(), user.clone(), password.clone());
                let saved = tokio::task::spawn_blocking(move || secrets::save(&k, &u, &p)).await;
                match saved {
                    Ok(Ok(())) => emit(JobEvent::Note(format!(
                        "password for {user} saved in the {}",
                        secrets::backend().unwrap_or("keyring")
                    ))),
                    Ok(Err(e)) => emit(JobEvent::Note(format!("not remembered: {e}"))),
                    Err(e) => emit(JobEvent::Note(format!("not remembered: {e}"))),
                }
            }
            session.creds = Some((user.clone(), password));
            emit(JobEvent::State(LinkState::LoggedIn(
                addr.to_string(),
                user,
                r,
            )));
            refresh_if_logged_in(c, session, emit).await?;
        }
        r => emit(JobEvent::LoginFailed(refused(r))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cm::link::reply_line;
    use tokio::io::{AsyncBufReadExt, BufReader};

    /// A manager answers a request only after the console gave up on it: the late answer is
    /// passed over, not taken for the next request's (which would show one list as another,
    /// or an error as an empty list).
    #[tokio::test]
    async fn a_late_answer_is_not_taken_for_the_next_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cm.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (r, mut w) = tokio::io::split(s);
            let mut lines = BufReader::new(r).lines();
            let first = lines.next_line().await.unwrap().unwrap();
            let second = lines.next_line().await.unwrap().unwrap();
            assert!(
                first.starts_with("@1|") && second.starts_with("@2|"),
                "{first} / {second}"
            );
            let late = reply_line(Some(1), &Reply::Pong(7));
            let answer = reply_line(Some(2), &Reply::error(503, "busy"));
            w.write_all(format!("{late}{answer}").as_bytes())
                .await
                .unwrap();
            // Held open until the client is done.
            let _ = lines.next_line().await;
        });
        let mut c = Conn::open(&format!("unix:{}", path.display()), None)
            .await
            .unwrap();
        let gave_up = c.call(&Request::Ping, Duration::from_millis(200)).await;
        assert!(gave_up.is_err(), "{gave_up:?}");
        let r = c.call(&Request::Nodes, TIMEOUT).await.unwrap();
        assert_eq!(r, Reply::error(503, "busy"));
        drop(c);
        server.await.unwrap();
    }
}
