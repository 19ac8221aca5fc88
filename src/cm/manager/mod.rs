//! `gantry cm`: the reference central manager. One port serves clients (the console, KCMS-style
//! tools) and node agents alike; the first line of a connection says which it is. State lives
//! in memory, mirrored to the SQLite store; a restarted manager reloads its jobs and rebuilds
//! what runs where from the agents as they reconnect.

mod agents;
mod client;
pub mod elastic;
pub mod ha;
pub mod listen;
mod sched;
pub mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Notify;

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
    /// Most jobs one user may have queued or running.
    pub max_jobs_per_user: u32,
    /// Where jobs keep checkpoints (`ROOT/JOB`, made by the agents, owned by the job's account);
    /// a path every node sees, for migration between nodes.
    pub checkpoint_root: PathBuf,
    /// Caps on connections.
    pub limits: listen::Limits,
    /// TLS certificates (`ca.crt`, `cm.crt`, `cm.key`); none: no TLS listener.
    pub tls_dir: Option<PathBuf>,
    /// A plain-text listener besides (loopback only).
    pub plaintext_listen: Option<String>,
    /// A Unix socket for local users.
    pub socket: Option<PathBuf>,
    /// The other manager of the pair, if any (docs/protocol.md §9).
    pub ha: ha::HaSettings,
    /// The elastic rule and the site's provisioning and release commands.
    pub elastic: elastic::ElasticSettings,
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
            stop_grace_secs: 10,
            accounts: AccountMap::default(),
            read_only: false,
            max_tasks_per_job: 1024,
            max_tasks_per_node: 64,
            max_jobs_per_user: 1000,
            checkpoint_root: PathBuf::from("/var/lib/gantry/checkpoints"),
            limits: listen::Limits::default(),
            tls_dir: None,
            plaintext_listen: None,
            socket: None,
            ha: ha::HaSettings::default(),
            elastic: elastic::ElasticSettings::default(),
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
    /// The elastic rule's state and the commands it ran.
    elastic: Mutex<elastic::Elastic>,
    wake: Notify,
    conns: AtomicU64,
    counts: Arc<listen::Counts>,
    started: std::sync::atomic::AtomicBool,
    /// Its place in its pair.
    ha: Mutex<ha::Ha>,
    /// What the shadow has acknowledged (the last log sequence number).
    shadow_acked: tokio::sync::watch::Sender<u64>,
    /// The shadow was declared away (its link should close).
    shadow_gone: Notify,
    /// The role changed.
    role_changed: Notify,
    /// Itself, for tasks started from a borrowed manager.
    me: std::sync::Weak<Manager>,
}

/// Reads jobs and running tasks from the store into a fresh state; with the writes that mend
/// what a crash left half done (a migration cut short).
pub(crate) fn load_state(store: &Store) -> Result<(State, Vec<Write>), super::store::StoreError> {
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
    Ok((st, fixes))
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    crate::aggregator::now_epoch()
}

impl Manager {
    /// Opens the store (taking its lock) and reloads every job.
    pub fn open(settings: CmSettings) -> anyhow::Result<Arc<Self>> {
        let mut store = Store::open(&settings.state_dir)?;
        // Without a peer, or as the first manager of a new pair, it is active at once; else it
        // follows its peer until it learns who is active (ha::follow) or takes over.
        let bootstrap =
            settings.ha.peer.is_none() || (store.position().epoch == 0 && !settings.ha.shadow);
        if bootstrap {
            store.set_epoch(store.position().epoch.max(1))?;
            store.set_meta(ha::ELIGIBLE, "1")?;
        }
        // The fixes are made only by an active manager: a standby writes nothing of its own
        // into the store it follows.
        let (st, fixes) = load_state(&store)?;
        let at = store.position();
        let members = store.nodes()?.into_iter().collect();
        let eligible = store.meta(ha::ELIGIBLE)?.is_some();
        tracing::info!(
            "job store: {} jobs ({} not finished), {} running tasks",
            st.jobs.len(),
            st.jobs.values().filter(|j| !j.state.is_final()).count(),
            st.tasks.len()
        );
        let store = StoreWriter::spawn(store);
        if bootstrap && !fixes.is_empty() {
            store.write(fixes);
        }
        let name = if settings.ha.name.is_empty() {
            settings.listen.clone()
        } else {
            settings.ha.name.clone()
        };
        let mut ha = ha::Ha::new(&settings.ha, name, at, members);
        ha.eligible = eligible;
        if bootstrap {
            ha.role = ha::Role::Active;
            ha.active = ha.name.clone();
            ha.why = if settings.ha.peer.is_none() {
                "no shadow is configured".into()
            } else {
                "the first manager of a new pair".into()
            };
        }
        let users = parking_lot::RwLock::new(Arc::new(settings.users.clone()));
        Ok(Arc::new_cyclic(|me| Self {
            settings,
            limiter: LoginLimiter::new(5, 30, Duration::from_secs(60)),
            users,
            store,
            st: Mutex::new(st),
            elastic: Mutex::default(),
            wake: Notify::new(),
            conns: AtomicU64::new(0),
            counts: Arc::default(),
            started: std::sync::atomic::AtomicBool::new(false),
            ha: Mutex::new(ha),
            shadow_acked: tokio::sync::watch::Sender::new(0),
            shadow_gone: Notify::new(),
            role_changed: Notify::new(),
            me: me.clone(),
        }))
    }

    /// This manager, shared (it always is: `open` makes it so).
    pub(crate) fn me(&self) -> Arc<Manager> {
        self.me
            .upgrade()
            .expect("a manager lives in an Arc while it is used")
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

    /// Starts placement and the watchdog, once.
    pub fn start_background(self: &Arc<Self>) {
        if !self.started.swap(true, Ordering::SeqCst) {
            tokio::spawn(sched::run(self.clone()));
            tokio::spawn(self.clone().watchdog());
            tokio::spawn(elastic::run(self.clone()));
            self.start_ha();
        }
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
                    n.down_since = Some(now());
                    tracing::warn!("node {} is down: no heartbeat for {:?}", n.name, hb * 3);
                }
            }
            st.sessions
                .retain(|_, s| s.used.elapsed() < Duration::from_secs(24 * 3600));
            st.ended
                .retain(|e| e.4.elapsed() < Duration::from_secs(600));
        }
    }
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

/// Binds a plain-text listener, which must be on loopback.
async fn bind_plain(addr: &str) -> anyhow::Result<TcpListener> {
    let l = crate::listen::tcp(addr).await?;
    if !l.local_addr()?.ip().is_loopback() {
        anyhow::bail!(
            "plain text is only for loopback, and {addr} is not: passwords and tokens would cross the network in clear (use the TLS listener)"
        );
    }
    Ok(l)
}

/// Runs `gantry cm` until `stop` resolves: TLS on `listen`, and the plain-text loopback
/// listener and the Unix socket when configured.
pub async fn run(
    settings: CmSettings,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    raise_nofile();
    let tls = match &settings.tls_dir {
        Some(d) => Some(crate::cm::tls::server_config(d)?),
        None => None,
    };
    let listener = match &tls {
        Some(_) => crate::listen::tcp(settings.listen.as_str()).await?,
        None => bind_plain(&settings.listen).await?,
    };
    let plain = match &settings.plaintext_listen {
        Some(a) => Some(bind_plain(a).await?),
        None => None,
    };
    let m = Manager::open(settings)?;
    m.start_background();
    println!("central manager listening on {}", listener.local_addr()?);
    if let Some(p) = &plain {
        println!("plaintext on {} (loopback only)", p.local_addr()?);
    }
    if let Some(path) = m.settings.socket.clone() {
        let m2 = m.clone();
        println!("local users on {}", path.display());
        tokio::spawn(async move {
            if let Err(e) = m2.serve_unix(&path).await {
                tracing::error!("unix socket: {e}");
            }
        });
    }
    if m.settings.read_only {
        println!("read-only: submit, kill, signal and migrate are refused, nothing is placed");
    }
    if let Some(p) = plain {
        let m2 = m.clone();
        tokio::spawn(async move { m2.serve(p, None, std::future::pending::<()>()).await });
    }
    m.serve(listener, tls, stop).await
}
