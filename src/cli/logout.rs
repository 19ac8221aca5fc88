//! `gantry logout`: forgets passwords remembered in the OS keyring.

use crate::config::Config;

/// Options of `gantry logout`.
#[derive(Debug, Clone, clap::Args)]
pub struct LogoutArgs {
    /// Only this manager address (default: every configured manager).
    #[arg(long, value_name = "ADDR")]
    pub manager: Option<String>,
    /// Only this user (default: the configured user, else $USER).
    #[arg(long)]
    pub user: Option<String>,
}

/// Forgets; returns how many passwords were removed.
pub fn run(args: &LogoutArgs, config: &Config) -> anyhow::Result<usize> {
    let me = std::env::var("USER").unwrap_or_default();
    let mut targets: Vec<(String, String)> = config
        .file
        .manager
        .iter()
        .filter_map(|m| {
            let addr = m.addresses.first()?.clone();
            let user = args
                .user
                .clone()
                .or_else(|| m.user.clone())
                .unwrap_or_else(|| me.clone());
            Some((addr, user))
        })
        .filter(|(a, _)| args.manager.as_ref().is_none_or(|m| m == a))
        .collect();
    if let Some(m) = &args.manager
        && targets.is_empty()
    {
        targets.push((m.clone(), args.user.clone().unwrap_or(me)));
    }
    let mut n = 0;
    for (addr, user) in targets {
        match crate::jobs::secrets::forget(&addr, &user) {
            Ok(true) => {
                println!("forgot the password of {user} at {addr}");
                n += 1;
            }
            Ok(false) => println!("no password of {user} at {addr} was remembered"),
            Err(e) => eprintln!("gantry: {user} at {addr}: {e}"),
        }
    }
    Ok(n)
}
