//! A central manager and agents run inside the console: the embedded default (this machine,
//! the local user logged in by the kernel's word over a Unix socket) and the demo (several
//! agents and a demo account). The agents are in this process too, linked to the manager in
//! memory: nothing of this leaves the machine, and no credential is needed or kept.

use std::path::Path;
use std::sync::Arc;

use crate::cm::agent::{AgentArgs, Scope, Upstream};
use crate::cm::manager::{AccountMap, CmSettings, Manager};
use crate::cm::users::Users;
use crate::jobs::ManagerConfig;

/// How a local manager and its agents run.
pub struct LocalOptions {
    /// What the agents report: the whole machine, or only their tasks.
    pub scope: Scope,
    /// Shown in the login dialog.
    pub login_hint: Option<String>,
    /// Also listen on plain 127.0.0.1 for password logins.
    pub by_password: bool,
    /// Jobs outlive the console (its next start takes them back); otherwise they are stopped
    /// with it (the demo's, whose state goes with it).
    pub keep_jobs: bool,
}

/// Starts a manager on a Unix socket (for local users) and, with `by_password`, on plain
/// 127.0.0.1 (for password logins), plus one in-process agent per name; returns how the
/// console reaches it.
pub async fn start(
    state_dir: &Path,
    users: Users,
    accounts: AccountMap,
    agents: &[String],
    opts: LocalOptions,
) -> anyhow::Result<LocalCm> {
    let LocalOptions {
        scope,
        login_hint,
        by_password,
        keep_jobs,
    } = opts;
    let m: Arc<Manager> = Manager::open(CmSettings {
        listen: "127.0.0.1:0".into(),
        state_dir: state_dir.to_path_buf(),
        users,
        heartbeat_secs: 5,
        stop_grace_secs: 5,
        accounts,
        checkpoint_root: state_dir.join("checkpoints"),
        ..CmSettings::default()
    })?;
    m.start_background();
    let sock = state_dir.join("cm.sock");
    let mut address = format!("unix:{}", sock.display());
    if by_password {
        let listener = crate::listen::tcp("127.0.0.1:0").await?;
        address = listener.local_addr()?.to_string();
        let m1 = m.clone();
        tokio::spawn(async move {
            let _ = m1.serve(listener, None, std::future::pending::<()>()).await;
        });
    }
    let (m2, sock2) = (m.clone(), sock.clone());
    tokio::spawn(async move {
        if let Err(e) = m2.serve_unix(&sock2).await {
            tracing::warn!("local manager socket: {e}");
        }
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut running = Vec::new();
    for name in agents {
        let args = AgentArgs {
            name: name.clone(),
            cm: vec!["local".into()],
            tls_dir: None,
            scope,
            quiet: true,
            state_dir: None,
            on_stop: if keep_jobs {
                crate::cm::agent::OnStop::Keep
            } else {
                crate::cm::agent::OnStop::Kill
            },
            stop_grace: 5,
        };
        let dir = state_dir.join("agents").join(name);
        let up = Upstream::Local(m.clone());
        let mut stop = stop_rx.clone();
        running.push(tokio::spawn(async move {
            // Stopped by shutdown() only: a handle dropped without it leaves the agents running
            // for the life of the process (the embedded default's do).
            let stopped = async move {
                if stop.wait_for(|s| *s).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            if let Err(e) = crate::cm::agent::run(args, vec![up], dir, stopped).await {
                tracing::warn!("local agent: {e:#}");
            }
        }));
    }
    let config = ManagerConfig {
        cluster: "*".into(),
        addresses: vec![address],
        user: None,
        read_only: false,
        login_hint,
        kind: crate::jobs::BackendKind::CentralManager,
        trust: None,
        queue: Default::default(),
    };
    Ok(LocalCm {
        config,
        stop: stop_tx,
        agents: running,
    })
}

/// A running local manager: how the console reaches it, and its agents.
pub struct LocalCm {
    /// How the console reaches it.
    pub config: ManagerConfig,
    stop: tokio::sync::watch::Sender<bool>,
    agents: Vec<tokio::task::JoinHandle<()>>,
}

impl LocalCm {
    /// Stops the agents as their options say (the demo's stop their jobs) and waits for them,
    /// a little longer than their grace for a job to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.agents);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(8), all).await;
    }
}

/// Everyone's jobs run as the user running the console (an embedded manager's agents run as
/// that user and can be no one else); that user may be root when the console runs as root.
pub fn accounts_as_me(users: &[&str]) -> AccountMap {
    let me = crate::cm::account::name_of(crate::cm::account::euid()).unwrap_or_default();
    AccountMap {
        map: users.iter().map(|u| (u.to_string(), me.clone())).collect(),
        root_users: users
            .iter()
            .map(|u| u.to_string())
            .chain(std::iter::once(me.clone()))
            .collect(),
    }
}

/// This machine's name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
