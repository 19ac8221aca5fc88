//! `gantry bmc password CLUSTER`: keeps a cluster's BMC password in the OS keyring (under
//! `bmc:CLUSTER`), where its `[[bmc]]` table finds it when it has a `user` and no
//! `credentials_file` — so the password is never written in a file at all.

use crate::config::Config;
use crate::config::bmc::keyring_service;

/// Options of `gantry bmc`.
#[derive(Debug, Clone, clap::Args)]
pub struct BmcArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: BmcCommand,
}

/// `gantry bmc …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BmcCommand {
    /// Keep the BMC password of a cluster's `[[bmc]]` table in the OS keyring.
    Password {
        /// The cluster (as its `[[bmc]]` table names it).
        cluster: String,
        /// The BMC account (default: the table's `user`).
        #[arg(long)]
        user: Option<String>,
        /// Read the password from standard input (one line) instead of asking twice.
        #[arg(long)]
        stdin: bool,
        /// Remove it from the keyring instead.
        #[arg(long)]
        forget: bool,
    },
}

/// Runs `gantry bmc`; says what it did on standard output.
pub fn run(args: &BmcArgs, config: &Config) -> anyhow::Result<()> {
    let BmcCommand::Password {
        cluster,
        user,
        stdin,
        forget,
    } = &args.command;
    let table = config.file.bmc.iter().find(|b| &b.cluster == cluster);
    let user = match (user, table) {
        (Some(u), _) => u.clone(),
        (None, Some(t)) if !t.user.is_empty() => t.user.clone(),
        (None, Some(_)) => anyhow::bail!(
            "the [[bmc]] table for '{cluster}' has no user: give --user, and the same user in the table"
        ),
        (None, None) => anyhow::bail!(
            "no [[bmc]] table for cluster '{cluster}' in config.toml: give --user, or add the table first"
        ),
    };
    let service = keyring_service(cluster);
    if *forget {
        let gone = crate::jobs::secrets::forget(&service, &user)?;
        println!(
            "{}",
            if gone {
                format!("forgot the password of {user} under '{service}'")
            } else {
                format!("no password of {user} under '{service}' to forget")
            }
        );
        return Ok(());
    }
    if table.is_some_and(|t| t.credentials_file.is_some()) {
        eprintln!(
            "gantry: note: the [[bmc]] table for '{cluster}' reads a credentials_file, which wins over the keyring"
        );
    }
    let password = super::cm::read_password(&user, *stdin)?;
    crate::jobs::secrets::save(&service, &user, &password)?;
    println!("the password of {user} is in the keyring under '{service}'");
    Ok(())
}
