//! `gantry cm takeback`: asks this manager — the original primary, now following the shadow
//! that took over — to take control back in order (docs/protocol.md §9).

use crate::cm::client::CmClient;
use crate::cm::proto::{Reply, Request};
use crate::config::Config;

/// Logs in to the manager at `cm` (default: its plain-text loopback listener) as `user`
/// (default root; the password is asked, or read from standard input when that is not a
/// terminal) and sends `TAKEBACK`.
pub async fn run(cm: Option<&str>, user: Option<&str>, config: &Config) -> anyhow::Result<()> {
    let c = &config.file.cm;
    let addr = match cm {
        Some(a) => a.to_string(),
        None if !c.plaintext_listen.is_empty() => c.plaintext_listen.clone(),
        None => anyhow::bail!(
            "say which manager takes back (--cm ADDR, its plain-text loopback listener), or set [cm] plaintext_listen"
        ),
    };
    let user = user.unwrap_or("root");
    let password = password(user)?;
    let mut client = CmClient::login(&addr, user, &password)
        .await
        .map_err(|e| anyhow::anyhow!("{addr}: {e}"))?;
    match client.call(&Request::Takeback).await? {
        Reply::Ha(s) => {
            println!(
                "{} is active at epoch {} ({}); its shadow: {}",
                s.name, s.epoch, s.why, s.shadow
            );
            Ok(())
        }
        Reply::Error { code, message } => anyhow::bail!("{addr} refused: {message} ({code})"),
        other => anyhow::bail!("{addr}: unexpected answer {other:?}"),
    }
}

/// A password for `user`: asked on a terminal, else the first line of standard input.
pub(crate) fn password(user: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password(format!(
            "password for {user}: "
        ))?);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
