//! Starting the syslog receiver the configuration's `[events]` asks for, for
//! `gantry aggregator` and the console alike.

use std::sync::Arc;

use crate::config::{Config, Paths};
use crate::events::receiver::Receiver;
use crate::history::HistoryStore;

/// The events file in the state directory.
pub fn events_file(paths: &Paths) -> std::path::PathBuf {
    paths.state_dir.join("events.json")
}

/// Starts receiving when `[events]` sets an address; `keep` saves templates across restarts.
/// A socket that cannot be opened or certificates that cannot be read stop the command,
/// naming the key, the file and the address.
pub async fn start(
    config: &Config,
    paths: &Paths,
    history: Option<Arc<HistoryStore>>,
    keep: bool,
) -> anyhow::Result<Option<Receiver>> {
    let ev = &config.file.events;
    if !ev.enabled() {
        return Ok(None);
    }
    let file = (keep && ev.keep).then(|| events_file(paths));
    let mut rc = ev.receiver_config(file);
    rc.history = history;
    if let Some(addr) = ev.tls_address() {
        let dir = ev.tls_dir(&config.file.cm.tls_dir, &paths.state_dir);
        let server = crate::cm::tls::syslog_server_config(&dir).map_err(|e| {
            anyhow::anyhow!(
                "[events] tls in {}: the certificates in {} ({e}); make them with `gantry cm tls manager`",
                paths.config_file.display(),
                dir.display()
            )
        })?;
        rc.tls = Some((addr, server));
    }
    let r = Receiver::start(rc)
        .await
        .map_err(|e| anyhow::anyhow!("[events] in {}: {e}", paths.config_file.display()))?;
    for (what, a) in [("udp", r.udp), ("tcp", r.tcp), ("tls", r.tls)] {
        if let Some(a) = a {
            tracing::info!("syslog {what} on {a}");
        }
    }
    Ok(Some(r))
}
