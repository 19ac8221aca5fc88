//! `[[bmc]]`: how to reach a cluster's baseboard controllers over Redfish. The address of each
//! host's BMC comes from a pattern (`{host}-bmc`, `10.1.{n}.1`) or a table; credentials come
//! from a file only its owner may read (refused, naming it, otherwise), or from the OS keyring —
//! never from config.toml; HTTPS is trusted by the site's CA or a pinned certificate, and plain
//! HTTP only where `scheme = "http"` says so.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One `[[bmc]]` table.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BmcEntry {
    /// The Ganglia cluster whose hosts these BMCs belong to.
    pub cluster: String,
    /// The BMC of each host: `{host}` (the host's name as Ganglia reports it), `{short}` (up
    /// to its first dot) and `{n}` (the last number in its name) are filled in.
    #[serde(default = "default_address")]
    pub address: String,
    /// Addresses for particular hosts, instead of the pattern.
    #[serde(default)]
    pub addresses: BTreeMap<String, String>,
    /// Only these hosts (empty: every host of the cluster).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// `https` (the default) or `http`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Port (default: the scheme's).
    #[serde(default)]
    pub port: Option<u16>,
    /// The site's CA for the BMCs' certificates.
    #[serde(default)]
    pub ca: Option<String>,
    /// Instead: the SHA-256 fingerprint of the one certificate all these BMCs present.
    #[serde(default)]
    pub pin: Option<String>,
    /// The BMC account (its password comes from `credentials_file` or the keyring).
    #[serde(default)]
    pub user: String,
    /// A file `user:password`, readable by its owner alone.
    #[serde(default)]
    pub credentials_file: Option<String>,
    /// Seconds a request may take.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Seconds between polls of each BMC.
    #[serde(default = "default_interval")]
    pub interval: u64,
    /// BMCs polled at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_address() -> String {
    "{host}-bmc".into()
}
fn default_scheme() -> String {
    "https".into()
}
fn default_timeout() -> u64 {
    5
}
fn default_interval() -> u64 {
    60
}
fn default_concurrency() -> usize {
    32
}

/// Why credentials could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Others may read it.
    #[error(
        "{path} is readable by others (mode {mode:o}): BMC passwords are refused from it; chmod 600 it"
    )]
    Exposed {
        /// The file.
        path: String,
        /// Its mode.
        mode: u32,
    },
    /// It is not `user:password`.
    #[error("{path}: the first line must be user:password")]
    Format {
        /// The file.
        path: String,
    },
    /// Neither a file nor a user to look up in the keyring.
    #[error("[[bmc]] for '{cluster}': no credentials_file, and no user to look up in the keyring")]
    Nowhere {
        /// The table's cluster.
        cluster: String,
    },
    /// The keyring has no password for the user.
    #[error("no password for {user} under '{service}' in the keyring, and no credentials_file")]
    NotInKeyring {
        /// The BMC account.
        user: String,
        /// The keyring service.
        service: String,
    },
    /// The keyring could not be read.
    #[error("the keyring: {0}")]
    Keyring(String),
}

/// Reads `user:password` from a file only its owner may read.
pub fn read_credentials(path: &Path) -> Result<(String, String), CredentialsError> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let name = path.display().to_string();
    let io = |source| CredentialsError::Io {
        path: name.clone(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mode = f.metadata().map_err(io)?.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::Exposed { path: name, mode });
    }
    let mut text = String::new();
    f.take(64 * 1024).read_to_string(&mut text).map_err(io)?;
    let line = text.lines().next().unwrap_or_default();
    match line.split_once(':') {
        Some((u, p)) if !u.is_empty() && !p.is_empty() => Ok((u.to_string(), p.to_string())),
        _ => Err(CredentialsError::Format { path: name }),
    }
}

impl BmcEntry {
    /// The URL of `host`'s BMC.
    pub fn url_for(&self, host: &str) -> String {
        let addr = self.addresses.get(host).cloned().unwrap_or_else(|| {
            let short = host.split('.').next().unwrap_or(host);
            let n = last_number(host).unwrap_or_default();
            self.address
                .replace("{host}", host)
                .replace("{short}", short)
                .replace("{n}", &n)
        });
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{}://{addr}{port}", self.scheme)
    }

    /// Why the table cannot be used, and the key at fault.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.scheme != "https" && self.scheme != "http" {
            return Some(("scheme", "scheme must be \"https\" or \"http\"".into()));
        }
        if let Some(p) = &self.pin
            && crate::cm::tls::normalise_fingerprint(p).is_none()
        {
            return Some((
                "pin",
                format!("pin '{p}' is not a SHA-256 fingerprint (sha256: and 64 hex digits)"),
            ));
        }
        if self.scheme == "https" && self.ca.is_none() && self.pin.is_none() {
            return Some((
                "scheme",
                "HTTPS to BMCs needs the site's CA (ca) or a pinned certificate (pin): BMCs ship self-signed certificates; scheme = \"http\" only where plain HTTP is meant".into(),
            ));
        }
        if self.scheme == "http" && (self.ca.is_some() || self.pin.is_some()) {
            return Some(("scheme", "ca and pin are for scheme = \"https\"".into()));
        }
        if self.timeout == 0 || self.interval == 0 || self.concurrency == 0 {
            return Some((
                "timeout",
                "timeout, interval and concurrency must be at least 1".into(),
            ));
        }
        if self.timeout >= self.interval {
            return Some((
                "timeout",
                "timeout must be shorter than interval (a slow BMC must not hold up the next poll)"
                    .into(),
            ));
        }
        None
    }

    /// How the BMCs' certificates are trusted.
    pub fn trust(&self) -> Option<crate::cm::tls::Trust> {
        if let Some(p) = &self.pin {
            return Some(crate::cm::tls::Trust::Pin(p.clone()));
        }
        self.ca
            .as_ref()
            .map(|c| crate::cm::tls::Trust::Ca(std::path::PathBuf::from(c)))
    }
}

/// Where a `[[bmc]]` table's credentials come from and what they are.
pub fn credentials(entry: &BmcEntry) -> Result<(String, String), CredentialsError> {
    if let Some(f) = &entry.credentials_file {
        return read_credentials(Path::new(f));
    }
    if entry.user.is_empty() {
        return Err(CredentialsError::Nowhere {
            cluster: entry.cluster.clone(),
        });
    }
    let service = keyring_service(&entry.cluster);
    match crate::jobs::secrets::load(&service, &entry.user) {
        Ok(Some(p)) => Ok((entry.user.clone(), p)),
        Ok(None) => Err(CredentialsError::NotInKeyring {
            user: entry.user.clone(),
            service,
        }),
        Err(e) => Err(CredentialsError::Keyring(e.to_string())),
    }
}

/// The keyring entry a cluster's BMC password is kept under.
pub fn keyring_service(cluster: &str) -> String {
    format!("bmc:{cluster}")
}

/// How the aggregator reaches a table's BMCs: its credentials read now (a problem with them
/// is shown on every BMC of the table, not fatal to the rest of the console).
pub fn sensor_source(entry: &BmcEntry) -> crate::aggregator::SensorSource {
    let bmc = credentials(entry)
        .map_err(|e| e.to_string())
        .map(|(user, password)| {
            let e = entry.clone();
            let trust = entry.trust();
            let timeout = std::time::Duration::from_secs(entry.timeout.max(1));
            let f: crate::aggregator::BmcFactory =
                std::sync::Arc::new(move |host: &str| crate::redfish::client::BmcConfig {
                    host: host.to_string(),
                    url: e.url_for(host),
                    user: user.clone(),
                    password: password.clone(),
                    trust: trust.clone(),
                    timeout,
                });
            f
        });
    crate::aggregator::SensorSource {
        cluster: entry.cluster.clone(),
        interval: u32::try_from(entry.interval).unwrap_or(u32::MAX),
        concurrency: entry.concurrency,
        hosts: entry.hosts.clone(),
        bmc,
    }
}

fn last_number(host: &str) -> Option<String> {
    let short = host.split('.').next().unwrap_or(host);
    let end = short.rfind(|c: char| c.is_ascii_digit())?;
    let start = short[..=end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    // Without leading zeros: node007 is host 7.
    Some(short[start..=end].trim_start_matches('0').to_string())
        .map(|n| if n.is_empty() { "0".to_string() } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> BmcEntry {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn addresses_from_a_pattern_or_a_table() {
        let e = entry(
            "cluster = \"c\"\naddress = \"10.1.{n}.1\"\nscheme = \"http\"\naddresses = { special = \"192.0.2.9\" }",
        );
        assert_eq!(e.url_for("node007.lab"), "http://10.1.7.1");
        assert_eq!(e.url_for("special"), "http://192.0.2.9");
        let e = entry("cluster = \"c\"\nca = \"/etc/ca.crt\"\nport = 8443");
        assert_eq!(e.url_for("n1.lab"), "https://n1.lab-bmc:8443");
        let e = entry("cluster = \"c\"\naddress = \"{short}.bmc.lab\"\npin = \"sha256:00\"");
        assert!(e.problem().is_some_and(|p| p.0 == "pin"));
        assert!(
            entry("cluster = \"c\"")
                .problem()
                .is_some_and(|p| p.1.contains("self-signed"))
        );
    }

    #[test]
    fn a_bad_table_is_refused_where_it_is_written() {
        let text = "[[bmc]]\ncluster = \"c\"\nscheme = \"https\"\n";
        let e = crate::config::Config::parse(Path::new("config.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(e.contains("config.toml:3"), "{e}");
        assert!(e.contains("[[bmc]] for 'c'"), "{e}");
        let ok = "[[bmc]]\ncluster = \"c\"\nscheme = \"http\"\n";
        assert!(crate::config::Config::parse(Path::new("config.toml"), ok).is_ok());
    }

    #[test]
    fn credentials_only_from_a_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("bmc.cred");
        std::fs::write(&f, "monitor:s3cret\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_credentials(&f).unwrap_err().to_string();
        assert!(
            e.contains("bmc.cred is readable by others (mode 644)"),
            "{e}"
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            read_credentials(&f).unwrap(),
            ("monitor".to_string(), "s3cret".to_string())
        );
        std::fs::write(&f, "nocolon\n").unwrap();
        assert!(read_credentials(&f).is_err());
        std::fs::write(&f, "monitor:s3cret\n").unwrap();
        let e = entry(&format!(
            "cluster = \"c\"\nscheme = \"http\"\nhosts = [\"n2\"]\ncredentials_file = \"{}\"",
            f.display()
        ));
        let src = sensor_source(&e);
        assert_eq!(src.hosts, vec!["n2".to_string()]);
        let make = src.bmc.as_ref().unwrap();
        let b = make("n2");
        assert_eq!(
            (b.url.as_str(), b.user.as_str()),
            ("http://n2-bmc", "monitor")
        );
        assert!(
            !format!("{b:?} {src:?}").contains("s3cret"),
            "the password is never printed"
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let why = sensor_source(&e).bmc.err().unwrap();
        assert!(why.contains("readable by others"), "{why}");
    }
}
