//! `gantry cm` and `gantry agent`: the reference central manager and node agent.

use std::path::{Path, PathBuf};

use crate::cm::agent::AgentArgs;
use crate::cm::manager::{AccountMap, CmSettings, random_token};
use crate::cm::users::Users;
use crate::config::{Config, Paths};

/// Options of `gantry cm`.
#[derive(Debug, Clone, clap::Args)]
pub struct CmArgs {
    /// Address to listen on (default: [cm] listen, 127.0.0.1:8660).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// htpasswd file with bcrypt hashes (default: [cm] users_file, else users.htpasswd in the
    /// config directory).
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Accept KCMS's REQ, MIG and KIL without a login, acting as root.
    #[arg(long)]
    pub legacy_unauthenticated: bool,
    /// Seconds between agent heartbeats.
    #[arg(long, value_name = "SECS")]
    pub heartbeat: Option<u32>,
}

/// The shared agent secret: `$GANTRY_CM_SECRET`, else the file (created by the manager).
pub fn secret(path: &Path, create: bool) -> anyhow::Result<String> {
    if let Ok(s) = std::env::var("GANTRY_CM_SECRET")
        && !s.is_empty()
    {
        return Ok(s);
    }
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ if create => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)?;
            }
            let s = random_token();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            writeln!(f, "{s}")?;
            Ok(s)
        }
        Ok(_) => anyhow::bail!("{} is empty", path.display()),
        Err(e) => anyhow::bail!(
            "no agent secret: set GANTRY_CM_SECRET or pass --secret-file ({}: {e})",
            path.display()
        ),
    }
}

/// Runs the manager; `read_only` is the global `--read-only`.
pub async fn run_cm(
    args: CmArgs,
    config: &Config,
    paths: &Paths,
    read_only: bool,
) -> anyhow::Result<()> {
    let c = &config.file.cm;
    let users_path = args.users.clone().unwrap_or_else(|| {
        if c.users_file.is_empty() {
            paths.config_dir.join("users.htpasswd")
        } else {
            PathBuf::from(&c.users_file)
        }
    });
    let users = Users::load(&users_path, &c.admins)?;
    let legacy = args.legacy_unauthenticated || c.legacy_unauthenticated;
    if users.is_empty() && !legacy {
        eprintln!(
            "gantry cm: {} has no users, so nobody can log in (create it with: htpasswd -B -c {} USER)",
            users_path.display(),
            users_path.display()
        );
    }
    let settings = CmSettings {
        listen: args.listen.clone().unwrap_or_else(|| c.listen.clone()),
        state_dir: paths.state_dir.join("cm"),
        users,
        users_file: Some(users_path.clone()),
        admins: c.admins.clone(),
        legacy_unauthenticated: legacy,
        heartbeat_secs: args.heartbeat.unwrap_or(c.heartbeat).max(1),
        agent_secret: secret(&paths.state_dir.join("cm").join("cm.secret"), true)?,
        stop_grace_secs: c.stop_grace,
        accounts: AccountMap {
            map: c.accounts.clone().into_iter().collect(),
            root_users: c.root_users.clone(),
        },
        read_only: read_only || c.read_only,
        max_tasks_per_job: c.max_tasks_per_job.max(1),
        max_tasks_per_node: c.max_tasks_per_node.max(1),
        checkpoint_root: if c.checkpoint_root.is_empty() {
            paths.state_dir.join("checkpoints")
        } else {
            PathBuf::from(&c.checkpoint_root)
        },
    };

    crate::cm::manager::run(settings).await
}

/// Runs an agent.
pub async fn run_agent(args: AgentArgs, paths: &Paths) -> anyhow::Result<()> {
    let path = args
        .secret_file
        .clone()
        .unwrap_or_else(|| paths.state_dir.join("cm").join("cm.secret"));
    let s = secret(&path, false)?;
    let state = args
        .state_dir
        .clone()
        .unwrap_or_else(|| paths.state_dir.join("agent").join(&args.name));
    crate::cm::agent::run(args, s, state).await
}
