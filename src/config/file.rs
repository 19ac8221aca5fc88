//! The configuration file (`config.toml`) and its checks.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::ConfigError;
use crate::aggregator::{AggregatorConfig, FetchSettings, SourceAddress, SourceConfig, SourceKind};
use crate::ganglia::Limits;

/// The whole file. Unknown keys are errors, so a typo is caught rather than ignored.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Grid name served to clients (gmetad's `gridname`).
    #[serde(default = "default_grid_name")]
    pub grid_name: String,
    /// Authority URL served to clients (gmetad's `authority`).
    #[serde(default = "default_authority")]
    pub authority: String,
    /// Polling and serving.
    #[serde(default)]
    pub aggregator: AggregatorSection,
    /// Metric history.
    #[serde(default)]
    pub history: HistorySection,
    /// The console.
    #[serde(default)]
    pub ui: UiSection,
    /// The central manager (`gantry cm`).
    #[serde(default)]
    pub cm: CmSection,
    /// Ganglia sources, like gmetad's `data_source` lines.
    #[serde(default)]
    pub source: Vec<SourceEntry>,
    /// Central managers for job control.
    #[serde(default)]
    pub manager: Vec<ManagerEntry>,
    /// Baseboard controllers read over Redfish, per cluster.
    #[serde(default)]
    pub bmc: Vec<super::bmc::BmcEntry>,
    /// The nodes' syslog, received and grouped by template.
    #[serde(default)]
    pub events: super::events::EventsSection,
}

/// One `[[manager]]`: where a cluster's central manager is.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManagerEntry {
    /// The cluster it manages; `*` (the default) for every cluster.
    #[serde(default = "any_cluster")]
    pub cluster: String,
    /// Primary address, then shadows: `host:port` or `unix:/path` (not used by Slurm).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// User name offered at login (and looked up in the keyring).
    #[serde(default)]
    pub user: Option<String>,
    /// No dangerous actions for this cluster.
    #[serde(default)]
    pub read_only: bool,
    /// `cm` (a central manager, the default) or `slurm`.
    #[serde(default = "cm_kind")]
    pub kind: String,
    /// Slurm: seconds between polls of the controller.
    #[serde(default = "slurm_poll")]
    pub poll: u64,
    /// Slurm: the `SLURM_CONF` its commands use, if not the default.
    #[serde(default)]
    pub slurm_conf: Option<String>,
    /// Slurm: the directory of its commands, if not on PATH.
    #[serde(default)]
    pub slurm_bin: Option<String>,
    /// Slurm: `cli` (its commands, the default) or `rest` (slurmrestd, with the commands for
    /// what its API lacks).
    #[serde(default)]
    pub transport: Option<String>,
    /// Slurm over REST: slurmrestd's base URL (`http://127.0.0.1:6820`).
    #[serde(default)]
    pub url: Option<String>,
    /// Slurm over REST: a file holding the JWT (`scontrol token` output), readable by its
    /// owner only; none: the keyring, under the URL.
    #[serde(default)]
    pub token_file: Option<String>,
    /// The cluster CA's certificate (`ca.crt` from `gantry cm tls init`): TLS, checked
    /// against it and the address's host name.
    #[serde(default)]
    pub ca: Option<String>,
    /// The manager certificate's SHA-256 fingerprint (`gantry cm tls fingerprint`): TLS with
    /// exactly that certificate.
    #[serde(default)]
    pub pin: Option<String>,
    /// No TLS: plain text, allowed only for loopback addresses.
    #[serde(default)]
    pub plaintext: bool,
    /// Slurm: seconds a job waits before the queue asks for nodes (the elastic rule).
    #[serde(default = "queue_sixty")]
    pub queue_wait: u64,
    /// Slurm: seconds a node is idle before it could be released.
    #[serde(default = "queue_sixty")]
    pub queue_idle: u64,
    /// Slurm: seconds between judgements of the queue.
    #[serde(default = "queue_ten")]
    pub queue_every: u64,
}

impl ManagerEntry {
    /// The elastic rule this manager's queue is judged by.
    pub fn queue_rule(&self) -> crate::queue::Rule {
        crate::queue::Rule {
            every: self.queue_every.max(1),
            wait: self.queue_wait,
            idle: self.queue_idle,
        }
    }
}

fn queue_sixty() -> u64 {
    60
}

fn queue_ten() -> u64 {
    10
}

impl ManagerEntry {
    /// Why the entry cannot be used, if it cannot: a TCP address needs TLS (a CA or a pin), or
    /// plain text on loopback, said explicitly.
    pub fn transport_problem(&self) -> Option<String> {
        if self.kind != "cm" {
            return None;
        }
        if let Some(p) = &self.pin
            && crate::cm::tls::normalise_fingerprint(p).is_none()
        {
            return Some(format!(
                "pin '{p}' is not a SHA-256 fingerprint (sha256: and 64 hex digits, as gantry cm tls fingerprint prints it)"
            ));
        }
        let tls = self.ca.is_some() || self.pin.is_some();
        for a in self.addresses.iter().filter(|a| !a.starts_with("unix:")) {
            if tls {
                continue;
            }
            let host = a.rsplit_once(':').map_or(a.as_str(), |(h, _)| h);
            let loopback = host == "localhost"
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !self.plaintext {
                return Some(format!(
                    "{a} is reached over the network: set ca = (the cluster's ca.crt) or pin = (the manager's fingerprint) for TLS, or plaintext = true for a loopback address"
                ));
            }
            if !loopback {
                return Some(format!(
                    "plaintext = true is only for loopback addresses, and {a} is not one: passwords would cross the network in clear"
                ));
            }
        }
        None
    }

    /// Why the Slurm transport settings cannot be used, and the key at fault.
    pub fn slurm_problem(&self) -> Option<(&'static str, String)> {
        let rest = match self.transport.as_deref() {
            None | Some("cli") => false,
            Some("rest") => true,
            Some(t) => {
                return Some((
                    "transport",
                    format!("transport must be \"cli\" or \"rest\", not \"{t}\""),
                ));
            }
        };
        if !rest {
            for (key, set) in [
                ("url", self.url.is_some()),
                ("token_file", self.token_file.is_some()),
            ] {
                if set {
                    return Some((key, format!("{key} is for transport = \"rest\"")));
                }
            }
            return None;
        }
        let Some(url) = &self.url else {
            return Some((
                "transport",
                "transport = \"rest\" needs url = slurmrestd's address, like \"http://127.0.0.1:6820\"".into(),
            ));
        };
        let Some(rest) = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
        else {
            return Some(("url", format!("'{url}' is not an http:// or https:// URL")));
        };
        let host = rest.split(['/', '?']).next().unwrap_or("");
        if host.is_empty() || rest.contains('@') {
            return Some((
                "url",
                format!("'{url}' names no host (or has a user in it)"),
            ));
        }
        // The token is a password: in clear text only where it never leaves the machine.
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host.rsplit_once(':').map_or(host, |(h, _)| h),
        };
        let loopback = name == "localhost"
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if url.starts_with("http://") && !loopback {
            return Some((
                "url",
                format!(
                    "'{url}' would send the Slurm token unencrypted over the network: use \
                     https:// (plain http is for a slurmrestd on this machine's loopback)"
                ),
            ));
        }
        if let Some(f) = &self.token_file {
            if !std::path::Path::new(f).is_absolute() {
                return Some(("token_file", format!("'{f}' is not an absolute path")));
            }
            if let Some(p) = crate::slurm::rest::token_file_problem(std::path::Path::new(f)) {
                return Some(("token_file", p));
            }
        }
        None
    }

    /// slurmrestd's settings, when the transport is REST.
    pub fn rest_config(&self) -> Option<crate::slurm::rest::RestConfig> {
        if self.kind != "slurm" || self.transport.as_deref() != Some("rest") {
            return None;
        }
        Some(crate::slurm::rest::RestConfig {
            url: self.url.clone()?,
            token_file: self.token_file.clone(),
            user: self.user.clone().unwrap_or_else(|| {
                crate::cm::account::name_of(crate::cm::account::euid())
                    .unwrap_or_else(|| crate::cm::account::euid().to_string())
            }),
        })
    }

    /// How the console trusts this manager over TCP (none: plain text or a Unix socket).
    pub fn trust(&self) -> Option<crate::cm::tls::Trust> {
        if let Some(p) = &self.pin {
            return Some(crate::cm::tls::Trust::Pin(p.clone()));
        }
        self.ca
            .as_ref()
            .map(|c| crate::cm::tls::Trust::Ca(std::path::PathBuf::from(c)))
    }
}

/// Where `key` is written in the `n`th `[[manager]]` table (or where that table starts).
fn manager_key_at(text: &str, n: usize, key: &str) -> Option<std::ops::Range<usize>> {
    table_key_at(text, "[[manager]]", n, key)
}

/// Where `key` is written in the `n`th table headed `header` (or where that table starts).
fn table_key_at(text: &str, header: &str, n: usize, key: &str) -> Option<std::ops::Range<usize>> {
    let start = text.match_indices(header).nth(n)?.0;
    let end = text[start + 1..]
        .find("\n[")
        .map_or(text.len(), |e| start + 1 + e);
    let table = &text[start..end];
    let at = table
        .match_indices(key)
        .find(|(p, _)| {
            table[..*p].ends_with('\n') && table[p + key.len()..].trim_start().starts_with('=')
        })
        .map_or(start, |(p, _)| start + p);
    Some(at..at)
}

fn cm_kind() -> String {
    "cm".into()
}

fn slurm_poll() -> u64 {
    5
}

fn any_cluster() -> String {
    "*".into()
}

fn default_grid_name() -> String {
    "unspecified".into()
}

fn default_authority() -> String {
    "http://localhost/ganglia/".into()
}

/// `[aggregator]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AggregatorSection {
    /// gmetad xml_port equivalent; "off" disables it. Unset: `gantry aggregator` serves
    /// 127.0.0.1:8651 and the console serves nothing (see [`AggregatorSection::xml_listen`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xml_listen: Option<String>,
    /// gmetad interactive_port equivalent; "off" disables it. Unset: as `xml_listen`, on
    /// 127.0.0.1:8652.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive_listen: Option<String>,
    /// Seconds to wait for a TCP connect.
    pub connect_timeout: u64,
    /// Seconds without a byte before giving up on an address.
    pub read_timeout: u64,
    /// Seconds one address may take in all.
    pub attempt_deadline: u64,
    /// Largest document accepted, in MiB.
    pub max_document_mib: u64,
}

impl Default for AggregatorSection {
    fn default() -> Self {
        Self {
            xml_listen: None,
            interactive_listen: None,
            connect_timeout: 5,
            read_timeout: 10,
            attempt_deadline: 60,
            max_document_mib: 512,
        }
    }
}

impl AggregatorSection {
    /// Where `gantry aggregator` serves its xml port when `xml_listen` is unset.
    pub const DEFAULT_XML_LISTEN: &str = "127.0.0.1:8651";
    /// Where `gantry aggregator` serves its interactive port when `interactive_listen` is unset.
    pub const DEFAULT_INTERACTIVE_LISTEN: &str = "127.0.0.1:8652";

    /// The xml port's address for `gantry aggregator` ("off": none).
    pub fn xml_listen(&self) -> &str {
        self.xml_listen
            .as_deref()
            .unwrap_or(Self::DEFAULT_XML_LISTEN)
    }

    /// The interactive port's address for `gantry aggregator` ("off": none).
    pub fn interactive_listen(&self) -> &str {
        self.interactive_listen
            .as_deref()
            .unwrap_or(Self::DEFAULT_INTERACTIVE_LISTEN)
    }
}

/// `[history]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HistorySection {
    /// Keep history at all.
    pub enabled: bool,
    /// Seconds between saves to the state directory.
    pub save_interval: u64,
    /// Forget hosts not seen for this many days.
    pub forget_after_days: u64,
}

impl Default for HistorySection {
    fn default() -> Self {
        Self {
            enabled: true,
            save_interval: 300,
            forget_after_days: 14,
        }
    }
}

/// `[cm]`: the reference central manager.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CmSection {
    /// Address to listen on (clients and agents).
    pub listen: String,
    /// htpasswd file with bcrypt hashes; empty: users.htpasswd in the config directory.
    pub users_file: String,
    /// Users who, like root, see and control everyone's processes and jobs.
    pub admins: Vec<String>,
    /// Accept KCMS's REQ, MIG and KIL without a login (acting as root).
    pub legacy_unauthenticated: bool,
    /// Seconds between agent heartbeats (three missed mark a node down).
    pub heartbeat: u32,
    /// Seconds between SIGTERM and SIGKILL when stopping a task to migrate it.
    pub stop_grace: u32,
    /// Manager users whose jobs run as a Unix account of another name (user = "account");
    /// everyone else's run as the account of their own name.
    pub accounts: std::collections::BTreeMap<String, String>,
    /// Manager users whose jobs may run as root (empty: nobody's).
    pub root_users: Vec<String>,
    /// Refuse submit, kill, signal and migrate; place nothing.
    pub read_only: bool,
    /// Most tasks one job may have.
    pub max_tasks_per_job: u32,
    /// Most tasks running on one node at once.
    pub max_tasks_per_node: u32,
    /// Most jobs one user may have queued or running.
    pub max_jobs_per_user: u32,
    /// Where jobs keep checkpoints (a path every node sees); empty: checkpoints in the state
    /// directory.
    pub checkpoint_root: String,
    /// The cluster CA and the manager's certificate; empty: cm/tls in the state directory.
    pub tls_dir: String,
    /// A plain-text listener for clients on this machine (loopback only); empty: none.
    pub plaintext_listen: String,
    /// A Unix socket where local users are logged in as themselves; empty: none.
    pub socket: String,
    /// Connections at once, in all.
    pub max_connections: usize,
    /// Connections at once from one address.
    pub max_connections_per_source: usize,
    /// Seconds a connection may stay silent before it logs in.
    pub login_deadline: u64,
    /// Seconds a reply may take to be written before its peer, not reading, is disconnected.
    pub write_deadline: u64,
    /// This manager's shadow (HOST:PORT of its TLS listener), on the primary of a pair.
    pub shadow: String,
    /// The primary this manager is the shadow of (HOST:PORT), on the shadow of a pair.
    pub shadow_of: String,
    /// Missed heartbeats of the active manager before the shadow takes over.
    pub takeover_after: u32,
    /// The name agents and consoles reach this manager by; empty: its listen address.
    pub name: String,
    /// Seconds a job waits before the queue asks for nodes (the elastic rule).
    pub queue_wait: u64,
    /// Seconds a node is idle before it could be released.
    pub queue_idle: u64,
    /// Seconds between judgements of the queue.
    pub queue_every: u64,
    /// Run (`sh -c`) when the rule says the cluster needs nodes, with `GANTRY_NODES` and
    /// `GANTRY_COUNT` the count; empty: nothing is run.
    pub provision_command: String,
    /// Run when nodes could be released, with `GANTRY_NODES` their names; empty: nothing.
    pub release_command: String,
    /// Only say what the commands would be run with.
    pub elastic_dry_run: bool,
    /// Seconds between two runs of the same command.
    pub elastic_min_interval: u64,
    /// Seconds a command may take before it is killed.
    pub elastic_timeout: u64,
}

impl Default for CmSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8660".into(),
            users_file: String::new(),
            admins: Vec::new(),
            legacy_unauthenticated: false,
            heartbeat: 5,
            stop_grace: 10,
            accounts: std::collections::BTreeMap::new(),
            root_users: Vec::new(),
            read_only: false,
            max_tasks_per_job: 1024,
            max_tasks_per_node: 64,
            max_jobs_per_user: 1000,
            checkpoint_root: String::new(),
            tls_dir: String::new(),
            plaintext_listen: String::new(),
            socket: String::new(),
            max_connections: 4096,
            max_connections_per_source: 64,
            login_deadline: 10,
            write_deadline: 30,
            shadow: String::new(),
            shadow_of: String::new(),
            takeover_after: 3,
            name: String::new(),
            queue_wait: 60,
            queue_idle: 60,
            queue_every: 10,
            provision_command: String::new(),
            release_command: String::new(),
            elastic_dry_run: true,
            elastic_min_interval: 300,
            elastic_timeout: 120,
        }
    }
}

/// `[ui]`: the console.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiSection {
    /// Theme name: shipped (dark, light, high-contrast, colorblind) or a file in themes/.
    pub theme: String,
    /// Keymap the user's keymap.toml extends by default: "default" or "vim".
    pub keymap: String,
    /// Graph range at start: hour, day, week, month or year.
    pub range: String,
    /// Mouse support (click selects, double-click drills in).
    pub mouse: bool,
    /// Load band thresholds in percent of a host's CPUs (ganglia-web: 25, 50, 75, 100).
    pub load_bands: [f64; 4],
    /// Glyphs: "auto" (from the locale), "unicode" or "ascii".
    pub glyphs: String,
    /// Where graph exports go; empty means the current directory.
    pub export_dir: String,
    /// No dangerous actions (kill, migrate, submit) anywhere.
    pub read_only: bool,
    /// The problems view lists hosts whose load is over this percentage of their CPUs.
    pub problem_load: f64,
    /// The problems view lists hosts using more than this percentage of their memory.
    pub problem_memory: f64,
}

impl Default for UiSection {
    fn default() -> Self {
        Self {
            theme: "dark".into(),
            keymap: "default".into(),
            range: "hour".into(),
            mouse: true,
            load_bands: [25.0, 50.0, 75.0, 100.0],
            glyphs: "auto".into(),
            export_dir: String::new(),
            read_only: false,
            problem_load: 100.0,
            problem_memory: 90.0,
        }
    }
}

/// One `[[source]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    /// Name shown in status and used for history.
    pub name: Spanned<String>,
    /// Seconds between polls.
    #[serde(default = "default_step")]
    pub step: Spanned<u32>,
    /// Addresses tried in order with failover.
    #[serde(default)]
    pub addresses: Vec<Spanned<String>>,
    /// Read this machine from /proc instead.
    #[serde(default)]
    pub local: bool,
}

fn default_step() -> Spanned<u32> {
    Spanned::new(0..0, 15)
}

/// A loaded, checked configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file as read.
    pub file: ConfigFile,
    /// Sources turned into aggregator terms.
    pub sources: Vec<SourceConfig>,
    /// Whether the file existed (without one, Gantry runs its embedded default).
    pub from_file: bool,
}

impl Config {
    /// The default when no file exists.
    pub fn embedded_default() -> Self {
        Self {
            file: ConfigFile {
                grid_name: default_grid_name(),
                authority: default_authority(),
                ..ConfigFile::default()
            },
            sources: Vec::new(),
            from_file: false,
        }
    }

    /// Reads `path`; a missing file gives the embedded default.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::embedded_default()),
            Err(e) => Err(ConfigError::Read {
                file: path.to_path_buf(),
                reason: crate::aggregator::plain_io(&e),
            }),
        }
    }

    /// Parses and checks the text of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;
        let err = |span: std::ops::Range<usize>, key: &str, msg: String| {
            ConfigError::at(path, text, Some(span), Some(key.to_string()), msg)
        };
        let mut sources = Vec::new();
        for s in &file.source {
            let name = s.name.get_ref().trim();
            if name.is_empty() {
                return Err(err(s.name.span(), "name", "a source needs a name".into()));
            }
            if sources.iter().any(|x: &SourceConfig| x.name == name) {
                return Err(err(
                    s.name.span(),
                    "name",
                    format!("source '{name}' is defined twice"),
                ));
            }
            let step = *s.step.get_ref();
            if !(1..=3600).contains(&step) {
                return Err(err(
                    s.step.span(),
                    "step",
                    format!("step must be 1 to 3600 seconds, not {step}"),
                ));
            }
            let kind = if s.local {
                if !s.addresses.is_empty() {
                    return Err(err(
                        s.name.span(),
                        "addresses",
                        format!("source '{name}' is local and has addresses; choose one"),
                    ));
                }
                SourceKind::Local
            } else {
                if s.addresses.is_empty() {
                    return Err(err(
                        s.name.span(),
                        "addresses",
                        format!("source '{name}' has no addresses (or set local = true)"),
                    ));
                }
                let mut addrs = Vec::new();
                for a in &s.addresses {
                    let parsed: SourceAddress = a.get_ref().parse().map_err(|e| {
                        err(a.span(), "addresses", format!("'{}': {e}", a.get_ref()))
                    })?;
                    addrs.push(parsed);
                }
                SourceKind::Network(addrs)
            };
            sources.push(SourceConfig {
                name: name.to_string(),
                step,
                kind,
            });
        }
        let ag = &file.aggregator;
        for (key, v) in [
            ("xml_listen", ag.xml_listen()),
            ("interactive_listen", ag.interactive_listen()),
        ] {
            if v != "off" && v.parse::<std::net::SocketAddr>().is_err() {
                let at = text.find(key).unwrap_or(0);
                return Err(ConfigError::at(
                    path,
                    text,
                    Some(at..at),
                    Some(key.into()),
                    format!("'{v}' is not an address like 127.0.0.1:8651 (or \"off\")"),
                ));
            }
        }
        for (key, v) in [
            ("connect_timeout", ag.connect_timeout),
            ("read_timeout", ag.read_timeout),
            ("attempt_deadline", ag.attempt_deadline),
            ("max_document_mib", ag.max_document_mib),
        ] {
            if v == 0 {
                let at = text.find(key).unwrap_or(0);
                return Err(ConfigError::at(
                    path,
                    text,
                    Some(at..at),
                    Some(key.into()),
                    "must be greater than 0",
                ));
            }
        }
        let ui = &file.ui;
        let at = |key: &str| {
            let pos = text.find(&format!("\n{key}")).map_or(0, |p| p + 1);
            Some(pos..pos)
        };
        if !ui.load_bands.windows(2).all(|w| w[0] < w[1]) || ui.load_bands[0] <= 0.0 {
            return Err(ConfigError::at(
                path,
                text,
                at("load_bands"),
                Some("load_bands".into()),
                "load_bands must be four increasing percentages above 0, like [25, 50, 75, 100]",
            ));
        }
        for (key, v) in [
            ("problem_load", ui.problem_load),
            ("problem_memory", ui.problem_memory),
        ] {
            if !(v.is_finite() && v > 0.0) || (key == "problem_memory" && v > 100.0) {
                return Err(ConfigError::at(
                    path,
                    text,
                    at(key),
                    Some(key.into()),
                    format!("{key} must be a percentage above 0 (memory: at most 100)"),
                ));
            }
        }
        for (i, m) in file.manager.iter().enumerate() {
            let bad = match m.kind.as_str() {
                "cm" if m.addresses.is_empty() => {
                    Some(("kind", "a central manager needs addresses".into()))
                }
                "cm" => match ["transport", "url", "token_file"]
                    .into_iter()
                    .zip([
                        m.transport.is_some(),
                        m.url.is_some(),
                        m.token_file.is_some(),
                    ])
                    .find(|(_, set)| *set)
                {
                    Some((key, _)) => Some((key, format!("{key} is for kind = \"slurm\""))),
                    None => m.transport_problem().map(|p| ("kind", p)),
                },
                "slurm" => m.slurm_problem(),
                _ => Some(("kind", "kind must be \"cm\" or \"slurm\"".to_string())),
            };
            if let Some((key, msg)) = bad {
                let pos = manager_key_at(text, i, key);
                return Err(ConfigError::at(
                    path,
                    text,
                    pos.or_else(|| at("kind")),
                    Some(if key == "kind" {
                        "manager".into()
                    } else {
                        key.into()
                    }),
                    format!("[[manager]] for '{}': {msg}", m.cluster),
                ));
            }
        }
        for (i, b) in file.bmc.iter().enumerate() {
            if let Some((key, msg)) = b.problem() {
                return Err(ConfigError::at(
                    path,
                    text,
                    table_key_at(text, "[[bmc]]", i, key).or_else(|| at("cluster")),
                    Some(key.into()),
                    format!("[[bmc]] for '{}': {msg}", b.cluster),
                ));
            }
        }
        if let Some((key, msg)) = file.events.problem() {
            return Err(ConfigError::at(
                path,
                text,
                table_key_at(text, "[events]", 0, key).or_else(|| at(key)),
                Some(key.into()),
                format!("[events]: {msg}"),
            ));
        }
        if ui.range.parse::<crate::history::Range>().is_err() {
            return Err(ConfigError::at(
                path,
                text,
                at("range"),
                Some("range".into()),
                format!(
                    "'{}' is not a range (hour, day, week, month, year)",
                    ui.range
                ),
            ));
        }
        if !["auto", "unicode", "ascii"].contains(&ui.glyphs.as_str()) {
            return Err(ConfigError::at(
                path,
                text,
                at("glyphs"),
                Some("glyphs".into()),
                format!("'{}': glyphs are auto, unicode or ascii", ui.glyphs),
            ));
        }
        Ok(Self {
            file,
            sources,
            from_file: true,
        })
    }

    /// Timeouts and limits for polling.
    pub fn fetch_settings(&self) -> FetchSettings {
        let a = &self.file.aggregator;
        FetchSettings {
            connect_timeout: Duration::from_secs(a.connect_timeout),
            read_timeout: Duration::from_secs(a.read_timeout),
            attempt_deadline: Duration::from_secs(a.attempt_deadline),
            limits: Limits {
                max_document_bytes: a.max_document_mib.saturating_mul(1024 * 1024),
                ..Limits::default()
            },
        }
    }

    /// The aggregator's configuration; with no sources configured, this machine alone.
    pub fn aggregator_config(&self) -> AggregatorConfig {
        let sources = if self.sources.is_empty() {
            vec![SourceConfig {
                name: "localhost".into(),
                step: 15,
                kind: SourceKind::Local,
            }]
        } else {
            self.sources.clone()
        };
        AggregatorConfig {
            grid_name: self.file.grid_name.clone(),
            authority: self.file.authority.clone(),
            sources,
            fetch: self.fetch_settings(),
            history: None,
            sensors: self
                .file
                .bmc
                .iter()
                .map(super::bmc::sensor_source)
                .collect(),
        }
    }
}

/// Parses a gmetad-style `data_source` line: `NAME [STEP] ADDR [ADDR…]`.
pub fn parse_data_source(line: &str) -> Result<SourceConfig, String> {
    let mut words = shell_words(line).into_iter();
    let name = words
        .next()
        .ok_or("empty source: give NAME [STEP] ADDRESS…")?;
    let mut rest: Vec<String> = words.collect();
    let mut step = 15;
    if let Some(first) = rest.first()
        && let Ok(s) = first.parse::<u32>()
    {
        if !(1..=3600).contains(&s) {
            return Err(format!("step must be 1 to 3600 seconds, not {s}"));
        }
        step = s;
        rest.remove(0);
    }
    if rest.is_empty() {
        return Err(format!("source '{name}' has no address"));
    }
    let kind = if rest.len() == 1 && rest[0] == "local" {
        SourceKind::Local
    } else {
        let addrs = rest
            .iter()
            .map(|a| {
                a.parse::<SourceAddress>()
                    .map_err(|e| format!("'{a}': {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        SourceKind::Network(addrs)
    };
    Ok(SourceConfig { name, step, kind })
}

/// Splits on spaces, honouring double quotes (gmetad quotes names with spaces).
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("config.toml"), text)
    }

    #[test]
    fn every_key_of_the_real_types_is_in_the_reference() {
        // The example sets every section, sources and managers included.
        let c = parse(include_str!("../../assets/config.example.toml")).unwrap();
        let doc = include_str!("../../docs/configuration.md");
        let v = toml::Value::try_from(&c.file).unwrap();
        let mut missing = Vec::new();
        let mut check = |section: &str, t: &toml::value::Table| {
            for k in t.keys() {
                if !doc.contains(&format!("`{k}`")) {
                    missing.push(format!("{section}.{k}"));
                }
            }
        };
        let top = v.as_table().unwrap();
        let scalars: toml::value::Table = top
            .iter()
            .filter(|(_, x)| !x.is_table() && !x.is_array())
            .map(|(k, x)| (k.clone(), x.clone()))
            .collect();
        check("", &scalars);
        for (k, sub) in top {
            match sub {
                toml::Value::Table(t) => check(k, t),
                toml::Value::Array(a) => {
                    for t in a.iter().filter_map(toml::Value::as_table) {
                        check(k, t);
                    }
                }
                _ => {}
            }
        }
        // Sections themselves are headed in the reference.
        for s in [
            "[aggregator]",
            "[history]",
            "[ui]",
            "[cm]",
            "[[source]]",
            "[[manager]]",
        ] {
            assert!(doc.contains(s), "docs/configuration.md has no {s}");
        }
        assert!(
            missing.is_empty(),
            "not in docs/configuration.md: {missing:?}"
        );
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let c = parse(include_str!("../../assets/config.example.toml")).unwrap();
        assert_eq!(c.sources.len(), 3);
        assert_eq!(c.file.manager.len(), 2);
        assert_eq!(c.file.grid_name, "Production");
    }

    #[test]
    fn good_file() {
        let c = parse(
            r#"
grid_name = "HPC"
[aggregator]
xml_listen = "off"
[[source]]
name = "alpha"
step = 20
addresses = ["node1", "node2:8659", "xml://head"]
[[source]]
name = "me"
local = true
"#,
        )
        .unwrap();
        assert_eq!(c.sources.len(), 2);
        assert_eq!(c.sources[0].step, 20);
        assert_eq!(c.sources[0].addresses().len(), 3);
        assert_eq!(c.sources[1].kind, SourceKind::Local);
        assert_eq!(c.file.grid_name, "HPC");
        assert_eq!(c.file.aggregator.interactive_listen(), "127.0.0.1:8652");
        assert_eq!(
            c.file.aggregator.interactive_listen, None,
            "unset: not served by a console"
        );
        assert_eq!(c.file.aggregator.xml_listen(), "off");
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = parse("[[source]]\nname = \"a\"\nadresses = [\"x\"]\n").unwrap_err();
        let s = e.to_string();
        assert!(
            s.starts_with("config.toml:3:1: key 'adresses': unknown field `adresses`"),
            "{s}"
        );

        let e =
            parse("[[source]]\nname = \"a\"\nstep = \"fast\"\naddresses = [\"x\"]\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config.toml:3:8: key 'step': invalid type"),
            "{e}"
        );

        let e = parse("[[source]]\nname = \"a\"\naddresses = [\"x:0\"]\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.toml:3:14: key 'addresses': 'x:0': bad port '0'"
        );

        let e = parse("[[source]]\nname = \"a\"\nstep = 0\naddresses = [\"x\"]\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.toml:3:8: key 'step': step must be 1 to 3600 seconds, not 0"
        );

        let e = parse("[[source]]\nname = \"a\"\naddresses = [\"x\"]\n[[source]]\nname = \"a\"\naddresses = [\"y\"]\n").unwrap_err();
        assert!(e.to_string().contains("source 'a' is defined twice"), "{e}");

        let e = parse("[aggregator]\nxml_listen = \"everywhere\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config.toml:2:1: key 'xml_listen'"),
            "{e}"
        );

        let e = parse("grid_name = \n").unwrap_err();
        assert!(e.to_string().starts_with("config.toml:1:"), "{e}");
    }

    #[test]
    fn slurm_over_rest() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let tok = d.path().join("jwt");
        std::fs::write(&tok, "SLURM_JWT=eyJ.a.b\n").unwrap();
        std::fs::set_permissions(&tok, std::fs::Permissions::from_mode(0o600)).unwrap();
        let head = "[[manager]]\ncluster = \"a\"\naddresses = [\"unix:/x\"]\n[[manager]]\ncluster = \"b\"\nkind = \"slurm\"\nuser = \"alice\"\n";
        let good = format!(
            "{head}transport = \"rest\"\nurl = \"http://127.0.0.1:6820\"\ntoken_file = \"{}\"\n",
            tok.display()
        );
        let c = parse(&good).unwrap();
        let r = c.file.manager[1].rest_config().unwrap();
        assert_eq!(r.url, "http://127.0.0.1:6820");
        assert_eq!(r.user, "alice");
        assert!(c.file.manager[0].rest_config().is_none());
        // The keyring when there is no file.
        let c = parse(&format!(
            "{head}transport = \"rest\"\nurl = \"https://h:6820\"\n"
        ))
        .unwrap();
        assert_eq!(c.file.manager[1].rest_config().unwrap().token_file, None);

        let err = |text: String| parse(&text).unwrap_err().to_string();
        assert_eq!(
            err(format!("{head}transport = \"grpc\"\n")),
            "config.toml:8:1: key 'transport': [[manager]] for 'b': transport must be \"cli\" or \"rest\", not \"grpc\""
        );
        assert!(err(format!("{head}transport = \"rest\"\n")).starts_with(
            "config.toml:8:1: key 'transport': [[manager]] for 'b': transport = \"rest\" needs url"
        ),);
        assert!(
            err(format!(
                "{head}transport = \"rest\"\nurl = \"127.0.0.1:6820\"\n"
            ))
            .starts_with(
                "config.toml:9:1: key 'url': [[manager]] for 'b': '127.0.0.1:6820' is not an http"
            ),
        );
        assert!(
            err(format!("{head}url = \"http://h\"\n"))
                .contains("key 'url': [[manager]] for 'b': url is for transport = \"rest\""),
        );
        std::fs::set_permissions(&tok, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = err(good.clone());
        assert!(
            e.starts_with("config.toml:10:1: key 'token_file': [[manager]] for 'b': ")
                && e.contains("can be read by others (mode 644)")
                && !e.contains("eyJ"),
            "{e}"
        );
        let e = err(format!(
            "{head}transport = \"rest\"\nurl = \"https://h\"\ntoken_file = \"{}/none\"\n",
            d.path().display()
        ));
        assert!(
            e.contains("key 'token_file'") && e.contains("No such file"),
            "{e}"
        );
        // The token never crosses the network in clear text; loopback may be plain.
        let e = err(format!(
            "{head}transport = \"rest\"\nurl = \"http://h:6820\"\n"
        ));
        assert!(e.contains("key 'url'") && e.contains("unencrypted"), "{e}");
        for local in [
            "http://localhost:6820",
            "http://127.0.0.1",
            "http://[::1]:6820/",
        ] {
            assert!(
                parse(&format!("{head}transport = \"rest\"\nurl = \"{local}\"\n")).is_ok(),
                "{local}"
            );
        }
    }

    #[test]
    fn ui_section() {
        let c = parse("[ui]\ntheme = \"light\"\nload_bands = [20, 40, 60, 90]\n").unwrap();
        assert_eq!(c.file.ui.theme, "light");
        let e = parse("[ui]\nload_bands = [50, 40, 60, 90]\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config.toml:2:1: key 'load_bands'"),
            "{e}"
        );
        let e = parse("[ui]\nrange = \"fortnight\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config.toml:2:1: key 'range': 'fortnight' is not a range"),
            "{e}"
        );
        let e = parse("[ui]\ncolour = true\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config.toml:2:1: key 'colour': unknown field `colour`"),
            "{e}"
        );
    }

    #[test]
    fn data_source_lines() {
        let s = parse_data_source("\"my cluster\" 30 127.0.0.1:8649 127.0.0.1:8659").unwrap();
        assert_eq!((s.name.as_str(), s.step), ("my cluster", 30));
        assert_eq!(s.addresses().len(), 2);
        let s = parse_data_source("c node1").unwrap();
        assert_eq!(s.step, 15);
        assert_eq!(
            parse_data_source("me local").unwrap().kind,
            SourceKind::Local
        );
        assert!(parse_data_source("c").is_err());
        assert!(parse_data_source("c 0 x").is_err());
    }
}
