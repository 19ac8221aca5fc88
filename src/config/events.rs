//! `[events]`: where the aggregator (`gantry aggregator`, or the console's own) receives the
//! nodes' syslog, and how much of it is kept.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::events::receiver::ReceiverConfig;
use crate::events::store::Caps;

/// `[events]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EventsSection {
    /// Syslog over UDP (RFC 5426), such as "0.0.0.0:514"; empty: not received.
    pub udp: String,
    /// Syslog over TCP (RFC 6587, octet-counted or newline framed); empty: not received.
    pub tcp: String,
    /// Syslog over TLS (RFC 5425), such as "0.0.0.0:6514"; empty: not received.
    pub tls: String,
    /// The certificates for `tls` (cm.crt, cm.key, ca.crt as `gantry cm tls` makes them);
    /// empty: `[cm] tls_dir`, or the state directory's cm/tls.
    pub tls_dir: String,
    /// Templates kept (the least used forgotten beyond).
    pub max_templates: usize,
    /// Hosts named per template (beyond, only counted).
    pub max_hosts: usize,
    /// Messages waiting for the template miner before new ones are dropped (and counted).
    pub queue: usize,
    /// Keep templates, counts and samples across restarts (in the state directory).
    pub keep: bool,
    /// Seconds between saves of the events file.
    pub save_interval: u64,
    /// Seconds a TCP or TLS sender may stay silent before it is disconnected.
    pub idle_close: u64,
}

impl Default for EventsSection {
    fn default() -> Self {
        Self {
            udp: String::new(),
            tcp: String::new(),
            tls: String::new(),
            tls_dir: String::new(),
            max_templates: 10_000,
            max_hosts: 256,
            queue: 65_536,
            keep: true,
            save_interval: 60,
            idle_close: 300,
        }
    }
}

fn address(v: &str) -> Option<Result<SocketAddr, String>> {
    (!v.is_empty() && v != "off").then(|| {
        v.parse()
            .map_err(|_| format!("'{v}' is not an address like 0.0.0.0:514 (or \"off\")"))
    })
}

impl EventsSection {
    /// What is wrong, as (key, message), if anything.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        for (key, v) in [("udp", &self.udp), ("tcp", &self.tcp), ("tls", &self.tls)] {
            if let Some(Err(e)) = address(v) {
                return Some((key, e));
            }
        }
        for (key, v, least) in [
            ("max_templates", self.max_templates, 10),
            ("max_hosts", self.max_hosts, 1),
            ("queue", self.queue, 1),
        ] {
            if v < least {
                return Some((key, format!("{key} must be at least {least}")));
            }
        }
        if self.save_interval == 0 {
            return Some(("save_interval", "save_interval must be above 0".into()));
        }
        if self.idle_close == 0 {
            return Some(("idle_close", "idle_close must be above 0".into()));
        }
        None
    }

    /// Whether syslog is received at all.
    pub fn enabled(&self) -> bool {
        [&self.udp, &self.tcp, &self.tls]
            .iter()
            .any(|v| matches!(address(v), Some(Ok(_))))
    }

    /// The certificates' directory for `tls`.
    pub fn tls_dir(&self, cm_tls_dir: &str, state_dir: &Path) -> PathBuf {
        match (self.tls_dir.as_str(), cm_tls_dir) {
            ("", "") => state_dir.join("cm").join("tls"),
            ("", d) | (d, _) => PathBuf::from(d),
        }
    }

    /// The receiver's configuration (TLS's server side and the history added by the caller).
    pub fn receiver_config(&self, file: Option<PathBuf>) -> ReceiverConfig {
        let ok = |v: &str| address(v).and_then(Result::ok);
        ReceiverConfig {
            udp: ok(&self.udp),
            tcp: ok(&self.tcp),
            tls: None,
            queue: self.queue,
            caps: Caps {
                max_templates: self.max_templates,
                max_hosts: self.max_hosts,
            },
            file,
            save_every: Duration::from_secs(self.save_interval),
            history: None,
            idle: Duration::from_secs(self.idle_close),
        }
    }

    /// The TLS address, if set.
    pub fn tls_address(&self) -> Option<SocketAddr> {
        address(&self.tls).and_then(Result::ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_caps_are_checked() {
        let ok = EventsSection {
            udp: "127.0.0.1:5514".into(),
            ..Default::default()
        };
        assert!(ok.problem().is_none() && ok.enabled());
        assert!(!EventsSection::default().enabled());
        let bad = EventsSection {
            tcp: "514".into(),
            ..Default::default()
        };
        assert_eq!(bad.problem().unwrap().0, "tcp");
        let bad = EventsSection {
            max_templates: 0,
            ..Default::default()
        };
        assert_eq!(bad.problem().unwrap().0, "max_templates");
    }
}
