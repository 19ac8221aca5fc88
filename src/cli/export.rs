//! `gantry export swf|csv|json`: a cluster's job history in the Parallel Workloads Archive's
//! Standard Workload Format (2.2), or the same records as CSV or JSON — from a running
//! `gantry cm` (asked over its protocol: everyone's jobs for an administrator, one's own
//! otherwise), from a stopped one's store (a running manager keeps its store to itself), or
//! from Slurm's accounting.

use std::io::Write;
use std::path::PathBuf;

use crate::config::{Config, Paths};
use crate::queue::finished;
use crate::queue::workload::Workload;

/// The format written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Standard Workload Format 2.2.
    Swf,
    /// The 18 fields as CSV, a header row first.
    Csv,
    /// The header and the records as one JSON document.
    Json,
}

/// Options of `gantry export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// What to write.
    #[arg(value_enum)]
    pub format: Format,
    /// A running `gantry cm` to ask, at its plain-text loopback listener (`[cm]
    /// plaintext_listen`).
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["slurm", "store"])]
    pub cm: Option<String>,
    /// Log in to `--cm` as this user (default: you); the password is asked, or read from
    /// standard input when that is not a terminal.
    #[arg(long, requires = "cm")]
    pub user: Option<String>,
    /// A stopped `gantry cm`'s store directory (default: the one `gantry cm` keeps in the
    /// state directory).
    #[arg(long, value_name = "DIR", conflicts_with = "slurm")]
    pub store: Option<PathBuf>,
    /// Slurm's accounting instead (slurmdbd, or the completion log).
    #[arg(long)]
    pub slurm: bool,
    /// `SLURM_CONF` for its commands.
    #[arg(long, value_name = "FILE", requires = "slurm")]
    pub slurm_conf: Option<String>,
    /// Slurm: jobs since (sacct's `-S`).
    #[arg(long, default_value = "1970-01-01", requires = "slurm")]
    pub since: String,
    /// The cluster's name for the header.
    #[arg(long, default_value = "cluster")]
    pub cluster: String,
    /// Write here instead of standard output (written whole, then renamed into place).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs the export; returns how many jobs were written.
pub async fn run(args: &ExportArgs, _config: &Config, paths: &Paths) -> anyhow::Result<usize> {
    let (jobs, source) = if args.slurm {
        let runner = crate::slurm::link::Runner::new(args.slurm_conf.clone(), None);
        let out = crate::slurm::link::accounting(&runner, true, &args.since)
            .await
            .map_err(|e| anyhow::anyhow!("sacct: {e}"))?;
        if !out.ok {
            anyhow::bail!("sacct: {}", out.stderr.trim());
        }
        let jobs = crate::slurm::jobs::sacct(&out.stdout, |uid| {
            uid.parse()
                .ok()
                .and_then(crate::cm::account::name_of)
                .unwrap_or_else(|| uid.to_string())
        });
        (finished::from_slurm(&jobs), "Slurm accounting".to_string())
    } else if let Some(addr) = &args.cm {
        (
            from_manager(addr, args.user.as_deref()).await?,
            format!("gantry cm at {addr}"),
        )
    } else {
        let dir = args
            .store
            .clone()
            .unwrap_or_else(|| paths.state_dir.join("cm"));
        let d = dir.clone();
        let records = match tokio::task::spawn_blocking(move || crate::cm::store::read_jobs(&d))
            .await?
        {
            Ok(r) => r,
            Err(crate::cm::store::StoreError::Locked { path, .. }) => anyhow::bail!(
                "{}: a gantry cm is running on this store and keeps it to itself; ask it instead (--cm ADDR), or export once it is stopped",
                path.display()
            ),
            Err(e) => return Err(e.into()),
        };
        (
            finished::from_cm(&records),
            format!("gantry cm store {}", dir.display()),
        )
    };
    let w = Workload::new(jobs, &args.cluster, &source);
    let n = w.records.len();
    match &args.output {
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write(&w, args.format, &mut out)?;
            out.flush()?;
        }
        Some(path) => {
            crate::durable::replace(path, 0o644, |mut out| write(&w, args.format, &mut out))
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
    }
    Ok(n)
}

/// Every finished job a running manager lets this user read, page by page.
async fn from_manager(
    addr: &str,
    user: Option<&str>,
) -> anyhow::Result<Vec<crate::queue::workload::FinishedJob>> {
    use crate::cm::proto::{Reply, Request};
    let user = match user {
        Some(u) => u.to_string(),
        None => crate::cm::account::name_of(nix::unistd::getuid().as_raw())
            .ok_or_else(|| anyhow::anyhow!("who you are is unknown here: say --user"))?,
    };
    let password = super::takeback::password(&user)?;
    let mut client = crate::cm::client::CmClient::login(addr, &user, &password)
        .await
        .map_err(|e| anyhow::anyhow!("{addr}: {e}"))?;
    let mut jobs = Vec::new();
    let mut after = 0;
    loop {
        match client.call(&Request::History { after }).await? {
            Reply::History { jobs: page, more } => {
                let last = page.last().map(|j| j.id);
                jobs.extend(page);
                match last {
                    // Ids only grow: a page that does not move on would loop forever.
                    Some(id) if more && id > after => after = id,
                    _ => return Ok(jobs),
                }
            }
            Reply::Error { code, message } => {
                anyhow::bail!("{addr} refused: {message} ({code})")
            }
            other => anyhow::bail!("{addr}: unexpected answer {other:?}"),
        }
    }
}

fn write(w: &Workload, f: Format, out: &mut impl Write) -> std::io::Result<()> {
    match f {
        Format::Swf => w.write_swf(out),
        Format::Csv => w.write_csv(out),
        Format::Json => w.write_json(out),
    }
}
