//! `gantry cm` and `gantry agent`: the reference central manager and node agent, the cluster's
//! certificates (`gantry cm tls`) and its users (`gantry cm passwd`).

use std::path::{Path, PathBuf};

use crate::cm::agent::AgentArgs;
use crate::cm::manager::{AccountMap, CmSettings};
use crate::cm::users::Users;
use crate::config::{Config, Paths};

/// Options of `gantry cm`.
#[derive(Debug, Clone, clap::Args)]
pub struct CmArgs {
    /// What to do besides running the manager.
    #[command(subcommand)]
    pub command: Option<CmCommand>,
    /// Address to listen on, TLS (default: [cm] listen, 127.0.0.1:8660).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// A plain-text listener besides, for clients on this machine (loopback addresses only).
    #[arg(long, value_name = "ADDR")]
    pub plaintext_listen: Option<String>,
    /// A Unix socket where local users are logged in as themselves.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// htpasswd file with bcrypt hashes (default: [cm] users_file, else users.htpasswd in the
    /// config directory).
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Accept KCMS's REQ, MIG and KIL without a login (they reach only the manager's jobs).
    #[arg(long)]
    pub legacy_unauthenticated: bool,
    /// Seconds between agent heartbeats.
    #[arg(long, value_name = "SECS")]
    pub heartbeat: Option<u32>,
    /// Run as the shadow of the manager at ADDR (its TLS listener): keep a copy of its store
    /// and take over when it is gone (docs/protocol.md §9). Default: [cm] shadow_of.
    #[arg(long, value_name = "ADDR")]
    pub shadow_of: Option<String>,
    /// This manager's own shadow, at ADDR (for the primary of a pair). Default: [cm] shadow.
    #[arg(long, value_name = "ADDR", conflicts_with = "shadow_of")]
    pub shadow: Option<String>,
    /// The name agents and consoles reach this manager by (default: [cm] name, else the
    /// listen address).
    #[arg(long, value_name = "HOST:PORT")]
    pub name: Option<String>,
}

/// `gantry cm …` commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CmCommand {
    /// Certificates: the cluster CA, the manager's, the nodes'.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Hand control back to this manager, the original primary, from the shadow that took
    /// over: it drains, syncs, raises the epoch and switches (docs/protocol.md §9).
    Takeback {
        /// This manager's address (default: [cm] plaintext_listen, else [cm] socket).
        #[arg(long, value_name = "ADDR")]
        cm: Option<String>,
        /// The administrator to log in as (default: root over the Unix socket).
        #[arg(long)]
        user: Option<String>,
    },
    /// Add a user to the users file or change their password (bcrypt), or delete them.
    Passwd {
        /// The user.
        user: String,
        /// Delete the user instead.
        #[arg(long)]
        delete: bool,
        /// Read the password from standard input (one line) instead of asking twice.
        #[arg(long)]
        stdin: bool,
    },
}

/// `gantry cm tls …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TlsCommand {
    /// Create the cluster CA and the manager's certificate (`gantry cm` does it on its first
    /// start).
    Init {
        /// A host name or address agents and consoles use to reach the manager (repeat);
        /// default: this host's name, localhost, 127.0.0.1 and ::1.
        #[arg(long = "name", value_name = "NAME")]
        names: Vec<String>,
    },
    /// Issue a node's certificate, for its agent (`gantry agent --tls-dir DIR`).
    Node {
        /// The node's name, as its agent registers.
        name: String,
        /// Where to write ca.crt, node.crt and node.key (default: tls in the agent's state
        /// directory on this machine).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Issue a certificate for a second manager of the cluster (a shadow): ca.crt, cm.crt
    /// and cm.key, for its [cm] tls_dir.
    Manager {
        /// A host name or address agents and consoles use to reach that manager (repeat).
        #[arg(long = "name", value_name = "NAME", required = true)]
        names: Vec<String>,
        /// Where to write the files.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print the manager certificate's SHA-256 fingerprint (for `pin` in [[manager]]).
    Fingerprint,
}

fn tls_dir(config: &Config, paths: &Paths) -> PathBuf {
    match config.file.cm.tls_dir.as_str() {
        "" => paths.state_dir.join("cm").join("tls"),
        d => PathBuf::from(d),
    }
}

fn default_names() -> Vec<String> {
    vec![
        super::local_cm::hostname(),
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
    ]
}

/// The agent's directory on this machine.
pub fn agent_dir(paths: &Paths, node: &str) -> PathBuf {
    paths.state_dir.join("agent").join(node)
}

/// Runs a `gantry cm` command.
pub fn command(cmd: &CmCommand, config: &Config, paths: &Paths) -> anyhow::Result<()> {
    let dir = tls_dir(config, paths);
    match cmd {
        CmCommand::Tls(TlsCommand::Init { names }) => {
            let names = if names.is_empty() {
                default_names()
            } else {
                names.clone()
            };
            crate::cm::tls::init(&dir, &names)?;
            println!(
                "cluster CA and manager certificate ({}) in {}",
                names.join(", "),
                dir.display()
            );
            println!("consoles trust {}/ca.crt", dir.display());
        }
        CmCommand::Tls(TlsCommand::Node { name, out }) => {
            let out = out
                .clone()
                .unwrap_or_else(|| agent_dir(paths, name).join("tls"));
            crate::cm::tls::issue_node(&dir, name, &out)?;
            println!(
                "node {name}: {}/node.crt, node.key (keep it secret: mode 0600, owned by the agent's user) and ca.crt",
                out.display()
            );
        }
        CmCommand::Tls(TlsCommand::Manager { names, out }) => {
            crate::cm::tls::issue_manager(&dir, names, out)?;
            println!(
                "manager certificate for {} in {} (cm.crt, cm.key: keep it secret, and ca.crt): point that manager's [cm] tls_dir at it",
                names.join(", "),
                out.display()
            );
        }
        CmCommand::Takeback { .. } => {
            anyhow::bail!("gantry cm takeback runs asynchronously (internal error)")
        }
        CmCommand::Tls(TlsCommand::Fingerprint) => {
            println!(
                "{}",
                crate::cm::tls::fingerprint_of_file(&dir.join("cm.crt"))?
            );
        }
        CmCommand::Passwd {
            user,
            delete,
            stdin,
        } => passwd(&users_path(None, config, paths), user, *delete, *stdin)?,
    }
    Ok(())
}

/// The users file `gantry cm` reads: the one given, `[cm] users_file`, else users.htpasswd
/// in the config directory.
pub(crate) fn users_path(given: Option<&Path>, config: &Config, paths: &Paths) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .unwrap_or_else(|| match config.file.cm.users_file.as_str() {
            "" => paths.config_dir.join("users.htpasswd"),
            f => PathBuf::from(f),
        })
}

/// Adds, changes or deletes a user in the users file (written whole, then renamed into place,
/// mode 0600); every other line is kept as it was.
fn passwd(path: &Path, user: &str, delete: bool, from_stdin: bool) -> anyhow::Result<()> {
    if user.is_empty()
        || user.contains(|c: char| c.is_control() || matches!(c, ':' | '|' | '&' | '\\'))
    {
        anyhow::bail!("'{user}' cannot be a user name (no control characters, : | & or \\)");
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => anyhow::bail!("{}: {e}", path.display()),
    };
    let mine = |l: &str| l.split_once(':').is_some_and(|(u, _)| u.trim() == user);
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !mine(l))
        .map(String::from)
        .collect();
    let existed = text.lines().any(mine);
    if delete {
        if !existed {
            anyhow::bail!("{}: there is no user '{user}'", path.display());
        }
    } else {
        let password = read_password(user, from_stdin)?;
        // bcrypt reads at most 72 bytes (its end marker included): longer is refused, never cut.
        let hash =
            bcrypt::non_truncating_hash(&password, bcrypt::DEFAULT_COST).map_err(|e| match e {
                bcrypt::BcryptError::Truncation(_) => anyhow::anyhow!(
                    "the password is {} bytes; bcrypt takes at most 71, so it was not set",
                    password.len()
                ),
                e => anyhow::anyhow!("bcrypt: {e}"),
            })?;
        lines.push(format!("{user}:{hash}"));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    // Checked before it replaces the file: what is written must load.
    Users::parse(path, &out, &[])?;
    crate::durable::replace_in_dir(path, 0o755, 0o600, |w| w.write_all(out.as_bytes()))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    println!(
        "{}: {user} {}",
        path.display(),
        match (delete, existed) {
            (true, _) => "deleted",
            (false, true) => "changed",
            (false, false) => "added",
        }
    );
    Ok(())
}

pub(crate) fn read_password(user: &str, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let p = line.trim_end_matches(['\n', '\r']).to_string();
        if p.is_empty() {
            anyhow::bail!("no password on standard input");
        }
        return Ok(p);
    }
    let p = rpassword::prompt_password(format!("password for {user}: "))?;
    let again = rpassword::prompt_password("again: ")?;
    if p != again {
        anyhow::bail!("the two passwords differ; nothing was changed");
    }
    if p.is_empty() {
        anyhow::bail!("an empty password is not set");
    }
    Ok(p)
}

/// Runs the manager; `read_only` is the global `--read-only`.
pub async fn run_cm(
    args: CmArgs,
    config: &Config,
    paths: &Paths,
    read_only: bool,
) -> anyhow::Result<()> {
    if let Some(CmCommand::Takeback { cm, user }) = &args.command {
        return super::takeback::run(cm.as_deref(), user.as_deref(), config).await;
    }
    if let Some(cmd) = &args.command {
        return command(cmd, config, paths);
    }
    // Everything the manager creates (store, logs, keys) is its own.
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe { libc::umask(0o077) };
    let c = &config.file.cm;
    let users_path = users_path(args.users.as_deref(), config, paths);
    let users = Users::load(&users_path, &c.admins)?;
    let legacy = args.legacy_unauthenticated || c.legacy_unauthenticated;
    if users.is_empty() && !legacy {
        eprintln!(
            "gantry cm: {} has no users, so nobody can log in (add one with: gantry cm passwd USER)",
            users_path.display(),
        );
    }
    let tls = tls_dir(config, paths);
    if !tls.join("ca.key").exists() && !tls.join("cm.crt").exists() {
        crate::cm::tls::init(&tls, &default_names())?;
        eprintln!(
            "gantry cm: created the cluster CA in {}; enroll nodes with `gantry cm tls node NAME`, consoles trust its ca.crt",
            tls.display()
        );
    }
    let plaintext = args
        .plaintext_listen
        .clone()
        .or_else(|| (!c.plaintext_listen.is_empty()).then(|| c.plaintext_listen.clone()));
    let socket = args
        .socket
        .clone()
        .or_else(|| (!c.socket.is_empty()).then(|| PathBuf::from(&c.socket)));
    let settings = CmSettings {
        listen: args.listen.clone().unwrap_or_else(|| c.listen.clone()),
        state_dir: paths.state_dir.join("cm"),
        users,
        users_file: Some(users_path.clone()),
        admins: c.admins.clone(),
        legacy_unauthenticated: legacy,
        heartbeat_secs: args.heartbeat.unwrap_or(c.heartbeat).max(1),
        stop_grace_secs: c.stop_grace,
        accounts: AccountMap {
            map: c.accounts.clone().into_iter().collect(),
            root_users: c.root_users.clone(),
        },
        read_only: read_only || c.read_only,
        max_tasks_per_job: c.max_tasks_per_job.max(1),
        max_tasks_per_node: c.max_tasks_per_node.max(1),
        max_jobs_per_user: c.max_jobs_per_user.max(1),
        checkpoint_root: if c.checkpoint_root.is_empty() {
            paths.state_dir.join("checkpoints")
        } else {
            PathBuf::from(&c.checkpoint_root)
        },
        limits: crate::cm::manager::listen::Limits {
            total: c.max_connections.max(1),
            per_source: c.max_connections_per_source.max(1),
            login_deadline: std::time::Duration::from_secs(c.login_deadline.max(1)),
            write_deadline: std::time::Duration::from_secs(c.write_deadline.max(1)),
        },
        tls_dir: Some(tls),
        plaintext_listen: plaintext,
        socket,
        elastic: crate::cm::manager::elastic::ElasticSettings {
            rule: crate::queue::Rule {
                every: c.queue_every.max(1),
                wait: c.queue_wait,
                idle: c.queue_idle,
            },
            provision: (!c.provision_command.is_empty()).then(|| c.provision_command.clone()),
            release: (!c.release_command.is_empty()).then(|| c.release_command.clone()),
            dry_run: c.elastic_dry_run,
            min_interval: c.elastic_min_interval,
            timeout: c.elastic_timeout.max(1),
        },
        ha: crate::cm::manager::ha::HaSettings {
            peer: args
                .shadow_of
                .clone()
                .or_else(|| args.shadow.clone())
                .or_else(|| (!c.shadow_of.is_empty()).then(|| c.shadow_of.clone()))
                .or_else(|| (!c.shadow.is_empty()).then(|| c.shadow.clone())),
            shadow: args.shadow_of.is_some() || (args.shadow.is_none() && !c.shadow_of.is_empty()),
            takeover_after: c.takeover_after.max(1),
            name: args.name.clone().unwrap_or_else(|| c.name.clone()),
        },
    };
    crate::cm::manager::run(settings, super::aggregator::wait_for_termination()).await
}

/// Runs an agent.
pub async fn run_agent(args: AgentArgs, paths: &Paths) -> anyhow::Result<()> {
    // SAFETY: umask only sets the process's file-creation mask (jobs set their own).
    unsafe { libc::umask(0o077) };
    let state = args
        .state_dir
        .clone()
        .unwrap_or_else(|| agent_dir(paths, &args.name));
    let tls = args.tls_dir.clone().unwrap_or_else(|| state.join("tls"));
    let up = crate::cm::agent::upstreams(&args, &tls)?;
    crate::cm::agent::run(args, up, state, super::aggregator::wait_for_termination()).await
}
