//! `gantry cm`: the reference central manager. One port serves clients (the console, KCMS-style
//! tools) and node agents alike; the first line of a connection says which it is. State lives
//! in memory, mirrored to the SQLite store; a restarted manager reloads its jobs and rebuilds
//! what runs where from the agents as they reconnect.

mod agents;
mod client;
mod sched;
pub mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::codec::{Item, MAX_FIELD, MAX_REQUEST_LINE};
use super::link::{LineReader, reply_line};
use super::proto::{Reply, Request};
use super::store::{JobState, Store, StoreWriter, Write};
use super::users::{LoginLimiter, Users};
use state::State;

/// How the manager runs.
#[derive(Debug, Clone)]
pub struct CmSettings {
    /// Address to listen on.
    pub listen: String,
    /// Where the store, its lock and the secrets live (the manager's alone, mode 0700).
    pub state_dir: PathBuf,
    /// Users and roles.
    pub users: Users,
    /// The users file, re-read when it changes (none: the users above are all there is).
    pub users_file: Option<PathBuf>,
    /// Administrators besides root (for re-reading the users file).
    pub admins: Vec<String>,
    /// Accept REQ, MIG and KIL without a session (as KCMS did), as an administrator.
    pub legacy_unauthenticated: bool,
    /// Seconds between agent heartbeats; three missed mark a node down.
    pub heartbeat_secs: u32,
    /// Secret agents must present.
    pub agent_secret: String,
    /// Seconds between TERM and KILL when a task is stopped for migration.
    pub stop_grace_secs: u32,
    /// Who runs jobs as what: manager users to Unix accounts and who may be root.
    pub accounts: AccountMap,
    /// Refuse every request that changes anything (submit, kill, signal, migrate), and place
    /// nothing.
    pub read_only: bool,
    /// Most tasks one job may have.
    pub max_tasks_per_job: u32,
    /// Most tasks that may run on one node at once.
    pub max_tasks_per_node: u32,
    /// Where jobs keep checkpoints (`ROOT/JOB`, made by the agents, owned by the job's account);
    /// a path every node sees, for migration between nodes.
    pub checkpoint_root: PathBuf,
}

impl Default for CmSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8660".into(),
            state_dir: PathBuf::new(),
            users: Users::default(),
            users_file: None,
            admins: Vec::new(),
            legacy_unauthenticated: false,
            heartbeat_secs: 5,
            agent_secret: String::new(),
            stop_grace_secs: 10,
            accounts: AccountMap::default(),
            read_only: false,
            max_tasks_per_job: 1024,
            max_tasks_per_node: 64,
            checkpoint_root: PathBuf::from("/var/lib/gantry/checkpoints"),
        }
    }
}

/// Manager users to Unix accounts: the same name unless mapped, root only for listed users.
#[derive(Debug, Clone, Default)]
pub struct AccountMap {
    /// Explicit mappings (manager user → account).
    pub map: std::collections::HashMap<String, String>,
    /// Manager users whose jobs may run as root (empty by default).
    pub root_users: Vec<String>,
}

impl AccountMap {
    /// The account a manager user's jobs run as.
    pub fn account_of<'a>(&'a self, user: &'a str) -> &'a str {
        self.map.get(user).map_or(user, String::as_str)
    }

    /// Whether the user's jobs may run as root.
    pub fn may_be_root(&self, user: &str) -> bool {
        self.root_users.iter().any(|u| u == user)
    }
}

/// The running manager.
pub struct Manager {
    settings: CmSettings,
    limiter: LoginLimiter,
    /// The users file as last read (reloaded when it changes).
    users: parking_lot::RwLock<Arc<Users>>,
    store: StoreWriter,
    st: Mutex<State>,
    wake: Notify,
    conns: AtomicU64,
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    crate::aggregator::now_epoch()
}

impl Manager {
    /// Opens the store (taking its lock) and reloads every job.
    pub fn open(settings: CmSettings) -> anyhow::Result<Arc<Self>> {
        let store = Store::open(&settings.state_dir)?;
        let jobs = store.jobs()?;
        let tasks = store.running_tasks()?;
        let mut st = State {
            next_job: jobs.iter().map(|j| j.id).max().unwrap_or(0) + 1,
            ..State::default()
        };
        let mut fixes = Vec::new();
        for mut j in jobs {
            // A restart interrupted a migration: the job is lost unless its agent reports it.
            if j.state == JobState::Migrated {
                j.state = JobState::Running;
                fixes.push(Write::Job(Box::new(j.clone())));
            }
            st.jobs.insert(j.id, j);
        }
        for t in tasks {
            st.tasks.insert(t.id.clone(), t);
        }
        tracing::info!(
            "job store: {} jobs ({} not finished), {} running tasks",
            st.jobs.len(),
            st.jobs.values().filter(|j| !j.state.is_final()).count(),
            st.tasks.len()
        );
        let store = StoreWriter::spawn(store);
        if !fixes.is_empty() {
            store.write(fixes);
        }
        let users = parking_lot::RwLock::new(Arc::new(settings.users.clone()));
        Ok(Arc::new(Self {
            settings,
            limiter: LoginLimiter::new(5, 30, Duration::from_secs(60)),
            users,
            store,
            st: Mutex::new(st),
            wake: Notify::new(),
            conns: AtomicU64::new(0),
        }))
    }

    /// The users, re-read when their file changed since (a bad new file keeps the old users
    /// and is logged).
    pub fn users(&self) -> Arc<Users> {
        if let Some(path) = &self.settings.users_file {
            let current = self.users.read().clone();
            let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
            if mtime != current.modified() {
                match Users::load(path, &self.settings.admins) {
                    Ok(u) => {
                        tracing::info!("{} changed: {} users", path.display(), u.len());
                        let u = Arc::new(u);
                        *self.users.write() = u.clone();
                        return u;
                    }
                    Err(e) => tracing::error!("{e}; keeping the users read before"),
                }
            }
            return current;
        }
        self.users.read().clone()
    }

    /// Serves until the future `stop` resolves; returns the bound address through `bound`.
    pub async fn serve(
        self: &Arc<Self>,
        listener: TcpListener,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let sched = tokio::spawn(sched::run(self.clone()));
        let watch = tokio::spawn(self.clone().watchdog());
        tokio::pin!(stop);
        loop {
            tokio::select! {
                a = listener.accept() => match a {
                    Ok((sock, peer)) => {
                        let m = self.clone();
                        let _ = sock.set_nodelay(true);
                        let (r, w) = sock.into_split();
                        tokio::spawn(async move { m.connection(r, w, peer.to_string(), None).await });
                    }
                    Err(e) => {
                        tracing::warn!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = &mut stop => break,
            }
        }
        sched.abort();
        watch.abort();
        Ok(())
    }

    /// Marks nodes down when three heartbeats were missed; expires idle sessions.
    async fn watchdog(self: Arc<Self>) {
        let hb = Duration::from_secs(u64::from(self.settings.heartbeat_secs.max(1)));
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            let mut st = self.st.lock();
            for n in st.nodes.values_mut() {
                if n.up && n.heard.elapsed() > hb * 3 {
                    n.up = false;
                    tracing::warn!("node {} is down: no heartbeat for {:?}", n.name, hb * 3);
                }
            }
            st.sessions
                .retain(|_, s| s.used.elapsed() < Duration::from_secs(24 * 3600));
            st.ended
                .retain(|e| e.4.elapsed() < Duration::from_secs(600));
        }
    }

    /// Serves local users on a Unix socket: the kernel says who is connecting (peer
    /// credentials), so they are logged in as themselves without a password.
    pub async fn serve_unix(self: &Arc<Self>, path: &std::path::Path) -> anyhow::Result<()> {
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let who = sock.peer_cred().ok().and_then(|c| user_name(c.uid()));
            let m = self.clone();
            let (r, w) = sock.into_split();
            tokio::spawn(async move {
                match who {
                    Some(user) => {
                        let role = m.users().role(&user);
                        let peer = format!("unix:{user}");
                        m.connection(r, w, peer, Some((user, role))).await;
                    }
                    None => tracing::warn!("unix connection from an unknown uid refused"),
                }
            });
        }
    }

    async fn connection<R, W>(
        self: Arc<Self>,
        r: R,
        mut w: W,
        peer: String,
        preauth: Option<(String, super::users::Role)>,
    ) where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let conn = self.conns.fetch_add(1, Ordering::Relaxed) + 1;
        let mut reader = LineReader::new(r, MAX_REQUEST_LINE);
        let mut client = client::Client::new(peer.clone());
        client.user = preauth;
        loop {
            let line = match reader.next().await {
                Ok(Some(Item::Line(l))) => l,
                Ok(Some(Item::TooLong)) => {
                    let e =
                        Reply::error(413, format!("request longer than {MAX_REQUEST_LINE} bytes"));
                    if w.write_all(reply_line(None, &e).as_bytes()).await.is_err() {
                        return;
                    }
                    continue;
                }
                Ok(None) | Err(_) => return,
            };
            let (tag, req) = match decode_request(&line) {
                Ok(x) => x,
                Err((tag, reply)) => {
                    if w.write_all(reply_line(tag, &reply).as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                    continue;
                }
            };
            if let Request::Agent { .. } = req {
                if client.user.is_some() {
                    let e = Reply::error(400, "a logged-in connection cannot become an agent");
                    let _ = w.write_all(reply_line(tag, &e).as_bytes()).await;
                    continue;
                }
                agents::run(self, conn, &peer, req, tag, reader, w).await;
                return;
            }
            let bye = matches!(req, Request::Bye);
            let text = match &req {
                Request::Req { user } => client.req_line(&self, user, tag),
                _ => reply_line(tag, &client.handle(&self, req).await),
            };
            if w.write_all(text.as_bytes()).await.is_err() || bye {
                return;
            }
        }
    }
}

/// Decodes a request line; a bad one becomes the error reply to send.
fn decode_request(line: &[u8]) -> Result<(Option<u64>, Request), (Option<u64>, Reply)> {
    use super::codec::{CodecError, decode};
    let f = decode(line, MAX_FIELD).map_err(|e| {
        let code = if matches!(e, CodecError::TooLong { .. }) {
            413
        } else {
            400
        };
        (None, Reply::error(code, e.to_string()))
    })?;
    Request::from_frame(&f)
        .map(|r| (f.tag, r))
        .map_err(|e| (f.tag, Reply::error(400, e.0)))
}

/// The name of a local user id, from /etc/passwd.
pub fn user_name(uid: u32) -> Option<String> {
    std::fs::read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2)?.parse::<u32>().ok()? == uid).then(|| f[0].to_string())
        })
}

/// A random hex token.
pub fn random_token() -> String {
    use std::io::Read;
    let mut b = [0u8; 24];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if ok.is_err() {
        // Not expected on Linux; fall back on time and address entropy.
        let t = Instant::now();
        let seed = format!("{:?}{:p}{}", t, &b, std::process::id());
        for (i, c) in seed.bytes().enumerate() {
            b[i % b.len()] ^= c;
        }
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Raises the open-file limit to its hard maximum: every agent and client is a socket.
fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// Runs `gantry cm` until SIGINT/SIGTERM.
pub async fn run(settings: CmSettings) -> anyhow::Result<()> {
    raise_nofile();
    let listener = TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
    let m = Manager::open(settings)?;
    println!("central manager listening on {}", listener.local_addr()?);
    if m.settings.read_only {
        println!("read-only: submit, kill, signal and migrate are refused, nothing is placed");
    }
    m.serve(listener, crate::cli::aggregator::wait_for_termination())
        .await
}
