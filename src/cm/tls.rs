//! TLS 1.3 for the manager's links (rustls with ring): the cluster's own CA, made by one command;
//! the manager's certificate; one client certificate per node, naming it. Agents prove which
//! node they are with their certificate and check the manager's against the CA; consoles trust
//! the CA or pin the manager's certificate by its SHA-256 fingerprint. Private keys must be
//! readable by their owner alone, or they are refused, naming the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// What went wrong with certificates or keys.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{path}: {what}")]
    Bad {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Making a certificate failed.
    #[error("making a certificate: {0}")]
    Make(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
    /// Something else is wrong, said in words.
    #[error("{0}")]
    Other(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The crypto provider: ring, TLS 1.3's AES-128-GCM first (the cheapest of its suites where
/// the CPU has AES instructions; a REQ answer is megabytes), then AES-256-GCM and ChaCha20.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    use rustls::crypto::ring::cipher_suite as cs;
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites = vec![
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    Arc::new(p)
}

/// The files of a manager's TLS directory.
pub struct CmFiles {
    /// The directory.
    pub dir: PathBuf,
}

impl CmFiles {
    /// The CA certificate (to give to agents and consoles).
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    /// The CA key (stays on the manager).
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    /// The manager's certificate.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cm.crt")
    }
    /// The manager's key.
    pub fn key(&self) -> PathBuf {
        self.dir.join("cm.key")
    }
}

/// The files an agent needs: `ca.crt`, `node.crt`, `node.key`.
pub struct NodeFiles {
    /// The directory.
    pub dir: PathBuf,
}

impl NodeFiles {
    /// The cluster CA.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    /// The node's certificate.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("node.crt")
    }
    /// The node's key.
    pub fn key(&self) -> PathBuf {
        self.dir.join("node.key")
    }
}

/// Writes a new file readable by its owner only, synced with its name: a power cut soon
/// after `gantry cm` made its CA must not leave an empty key behind.
fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(text.as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    match path.parent() {
        Some(dir) => crate::durable::sync_dir(dir).map_err(io(dir)),
        None => Ok(()),
    }
}

fn write_public(path: &Path, text: &str) -> Result<(), TlsError> {
    crate::durable::replace(path, 0o644, |w| w.write_all(text.as_bytes()))
        .map(drop)
        .map_err(io(path))
}

/// Refuses a key file that anyone but its owner could read.
pub fn check_private(path: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(TlsError::Bad {
            path: path.to_path_buf(),
            what: format!(
                "a private key readable by others (mode {:o}); chmod 600 it",
                mode & 0o777
            ),
        });
    }
    Ok(())
}

/// The CA's name, from its key: the same key always names the same CA, so certificates can be
/// issued later from the key alone.
fn ca_params(key: &KeyPair) -> Result<CertificateParams, TlsError> {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key_raw());
    let id: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name
        .push(DnType::CommonName, format!("Gantry cluster CA {id}"));
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let (y, m, d) = yesterday();
    p.not_before = rcgen::date_time_ymd(y, m, d);
    p.not_after = rcgen::date_time_ymd(y + 20, m, d);
    Ok(p)
}

/// Yesterday's date (certificates start a day early: clocks differ), the day at most 28.
fn yesterday() -> (i32, u8, u8) {
    use chrono::Datelike;
    let now = i64::try_from(crate::aggregator::now_epoch()).unwrap_or(i64::MAX);
    let d = chrono::DateTime::from_timestamp(now - 86_400, 0)
        .unwrap_or_default()
        .date_naive();
    // Month and day always fit a u8.
    (d.year(), d.month() as u8, (d.day() as u8).min(28))
}

/// Creates the cluster CA and the manager's certificate (for `names`: host names and
/// addresses agents and consoles use) in `dir`. Refuses to overwrite an existing CA.
pub fn init(dir: &Path, names: &[String]) -> Result<(), TlsError> {
    let f = CmFiles {
        dir: dir.to_path_buf(),
    };
    if f.ca_key().exists() {
        return Err(TlsError::Bad {
            path: f.ca_key(),
            what: "a cluster CA exists already; remove the directory to start over".into(),
        });
    }
    make_dir(dir)?;
    let ca_key = KeyPair::generate()?;
    let ca = ca_params(&ca_key)?.self_signed(&ca_key)?;
    write_private(&f.ca_key(), &ca_key.serialize_pem())?;
    write_public(&f.ca_cert(), &ca.pem())?;
    let (cert, key) = issue(&ca_key, names, Usage::Manager)?;
    write_private(&f.key(), &key)?;
    write_public(&f.cert(), &cert)?;
    Ok(())
}

/// The name every manager's certificate carries besides its host names, which no node's can
/// (the `.invalid` top-level domain is reserved): it lets a manager prove to its peer that it
/// is a manager of the cluster, for the replication link (protocol §9).
pub const MANAGER_NAME: &str = "gantry-manager.invalid";

/// Issues a certificate for a second manager of the cluster (a shadow) from the CA in
/// `cm_dir` into `out`: `ca.crt`, `cm.crt` and `cm.key` (no CA key: only the first manager
/// issues certificates).
pub fn issue_manager(cm_dir: &Path, names: &[String], out: &Path) -> Result<(), TlsError> {
    let ca_key = read_ca_key(cm_dir)?;
    make_dir(out)?;
    let f = CmFiles {
        dir: out.to_path_buf(),
    };
    for p in [f.cert(), f.key()] {
        let _ = std::fs::remove_file(&p);
    }
    let (cert, key) = issue(&ca_key, names, Usage::Manager)?;
    write_private(&f.key(), &key)?;
    write_public(&f.cert(), &cert)?;
    // Re-issuing the first manager's own certificate (one from before managers had pairs):
    // its CA is there already, and copying a file onto itself would empty it.
    let same = std::fs::canonicalize(cm_dir).ok() == std::fs::canonicalize(out).ok();
    if !same {
        let from = cm_dir.join("ca.crt");
        let ca = std::fs::read_to_string(&from).map_err(io(&from))?;
        write_public(&f.ca_cert(), &ca)?;
    }
    Ok(())
}

fn read_ca_key(cm_dir: &Path) -> Result<KeyPair, TlsError> {
    let f = CmFiles {
        dir: cm_dir.to_path_buf(),
    };
    check_private(&f.ca_key())?;
    let pem = std::fs::read_to_string(f.ca_key()).map_err(io(&f.ca_key()))?;
    KeyPair::from_pem(&pem).map_err(|e| TlsError::Bad {
        path: f.ca_key(),
        what: format!("not a usable key: {e}"),
    })
}

/// What a certificate is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Usage {
    /// A node's agent: a client.
    Node,
    /// A manager: a server to agents and consoles, and a client of its peer manager.
    Manager,
}

/// Makes `dir` (mode 0700; its parents as usual).
fn make_dir(dir: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(parent) = dir.parent() {
        crate::durable::create_dir_all(parent, 0o755).map_err(io(parent))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => match dir.parent() {
            Some(parent) => crate::durable::sync_dir(parent).map_err(io(parent)),
            None => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))
        }
        Err(e) => Err(io(dir)(e)),
    }
}

/// A certificate and key signed by the CA: a server's (manager) or a client's (node).
fn issue(ca_key: &KeyPair, names: &[String], usage: Usage) -> Result<(String, String), TlsError> {
    let key = KeyPair::generate()?;
    let mut all = names.to_vec();
    if usage == Usage::Manager {
        all.push(MANAGER_NAME.to_string());
    }
    let mut p = CertificateParams::new(all)?;
    if let Some(first) = names.first() {
        p.distinguished_name.push(DnType::CommonName, first.clone());
    }
    p.extended_key_usages = match usage {
        Usage::Node => vec![ExtendedKeyUsagePurpose::ClientAuth],
        Usage::Manager => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    };
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let (y, m, d) = yesterday();
    p.not_before = rcgen::date_time_ymd(y, m, d);
    p.not_after = rcgen::date_time_ymd(y + 5, m, d);
    let issuer = Issuer::new(ca_params(ca_key)?, ca_key);
    let cert = p.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Issues a node's certificate from the CA in `cm_dir` into `out` (`ca.crt`, `node.crt`,
/// `node.key`), for its agent to use.
pub fn issue_node(cm_dir: &Path, node: &str, out: &Path) -> Result<(), TlsError> {
    if ServerName::try_from(node.to_string()).is_err()
        || node.parse::<std::net::IpAddr>().is_ok()
        || node.to_ascii_lowercase().ends_with(".invalid")
    {
        return Err(TlsError::Other(format!(
            "'{node}' cannot name a node in a certificate: use letters, digits, '-' and '.'"
        )));
    }
    let f = CmFiles {
        dir: cm_dir.to_path_buf(),
    };
    let ca_key = read_ca_key(cm_dir)?;
    make_dir(out)?;
    let n = NodeFiles {
        dir: out.to_path_buf(),
    };
    for p in [n.cert(), n.key()] {
        let _ = std::fs::remove_file(&p);
    }
    let (cert, key) = issue(&ca_key, &[node.to_string()], Usage::Node)?;
    write_private(&n.key(), &key)?;
    write_public(&n.cert(), &cert)?;
    let ca = std::fs::read_to_string(f.ca_cert()).map_err(io(&f.ca_cert()))?;
    write_public(&n.ca_cert(), &ca)?;
    Ok(())
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let v: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsError::Bad {
            path: path.to_path_buf(),
            what: e.to_string(),
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Bad {
            path: path.to_path_buf(),
            what: e.to_string(),
        })?;
    if v.is_empty() {
        return Err(TlsError::Bad {
            path: path.to_path_buf(),
            what: "no certificate in it".into(),
        });
    }
    Ok(v)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    check_private(path)?;
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Bad {
        path: path.to_path_buf(),
        what: e.to_string(),
    })
}

fn roots(ca: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut r = RootCertStore::empty();
    for c in certs(ca)? {
        r.add(c).map_err(|e| TlsError::Bad {
            path: ca.to_path_buf(),
            what: e.to_string(),
        })?;
    }
    Ok(Arc::new(r))
}

/// The manager's server side: its certificate; a client certificate from the cluster CA is
/// accepted (and tells which node an agent is) but not required (consoles have none).
pub fn server_config(dir: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let f = CmFiles {
        dir: dir.to_path_buf(),
    };
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots(&f.ca_cert())?,
        provider(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(|e| TlsError::Other(format!("client verifier: {e}")))?;
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&f.cert())?, key(&f.key())?)?;
    Ok(Arc::new(cfg))
}

/// The syslog receiver's server side (RFC 5425): the manager's certificate, TLS 1.2 or 1.3 —
/// rsyslog without a certificate of its own speaks 1.2 only — and a node certificate from the
/// cluster CA accepted, not required.
pub fn syslog_server_config(dir: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let f = CmFiles {
        dir: dir.to_path_buf(),
    };
    // ring's every suite: TLS 1.2's too.
    let all = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots(&f.ca_cert())?,
        all.clone(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(|e| TlsError::Other(format!("client verifier: {e}")))?;
    let cfg = ServerConfig::builder_with_provider(all)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&f.cert())?, key(&f.key())?)?;
    Ok(Arc::new(cfg))
}

/// An agent's client side: the cluster CA to check the manager, its node certificate to prove
/// which node it is.
pub fn agent_config(dir: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    let n = NodeFiles {
        dir: dir.to_path_buf(),
    };
    let cfg = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots(&n.ca_cert())?)
        .with_client_auth_cert(certs(&n.cert())?, key(&n.key())?)?;
    Ok(Arc::new(cfg))
}

/// A manager's side of the link to its peer: the cluster CA to check the peer, its own
/// manager certificate to prove it is one.
pub fn peer_config(dir: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    let f = CmFiles {
        dir: dir.to_path_buf(),
    };
    let cfg = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots(&f.ca_cert())?)
        .with_client_auth_cert(certs(&f.cert())?, key(&f.key())?)?;
    Ok(Arc::new(cfg))
}

/// How a console trusts a manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Certificates from this CA (and valid for the address's host name).
    Ca(PathBuf),
    /// Exactly the certificate with this SHA-256 fingerprint.
    Pin(String),
}

/// A console's (or any client's) side.
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, TlsError> {
    trusting(provider(), &[&rustls::version::TLS13], trust)
}

/// A BMC's client side: TLS 1.2 or 1.3 (many BMCs speak no 1.3), trusting the site's CA for
/// BMCs or exactly the pinned certificate (BMCs ship self-signed ones).
pub fn bmc_config(trust: &Trust) -> Result<Arc<ClientConfig>, TlsError> {
    trusting(
        Arc::new(rustls::crypto::ring::default_provider()),
        &[&rustls::version::TLS13, &rustls::version::TLS12],
        trust,
    )
}

/// A client configuration trusting a CA, or exactly a pinned certificate.
fn trusting(
    provider: Arc<rustls::crypto::CryptoProvider>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    trust: &Trust,
) -> Result<Arc<ClientConfig>, TlsError> {
    let b =
        ClientConfig::builder_with_provider(provider.clone()).with_protocol_versions(versions)?;
    let cfg = match trust {
        Trust::Ca(path) => b.with_root_certificates(roots(path)?).with_no_client_auth(),
        Trust::Pin(fp) => b
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                fingerprint: normalise_fingerprint(fp).ok_or_else(|| {
                    TlsError::Other(format!(
                        "'{fp}' is not a SHA-256 fingerprint (sha256: and 64 hex digits)"
                    ))
                })?,
                tls12: versions.contains(&&rustls::version::TLS12),
                provider,
            }))
            .with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// `sha256:` and 64 lower-case hex digits (colons and case as given are accepted).
pub fn normalise_fingerprint(fp: &str) -> Option<String> {
    let hex: String = fp
        .trim()
        .trim_start_matches("sha256:")
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

/// The SHA-256 fingerprint of a certificate, as `pin` takes it.
pub fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The fingerprint of the first certificate in a PEM file.
pub fn fingerprint_of_file(path: &Path) -> Result<String, TlsError> {
    Ok(fingerprint(certs(path)?[0].as_ref()))
}

#[derive(Debug)]
struct Pinned {
    fingerprint: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// TLS 1.2 is accepted (a BMC's; Gantry's own links are TLS 1.3 only).
    tls12: bool,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        // The pin is the whole trust: names and dates do not matter, the exact certificate does.
        if fingerprint(end_entity.as_ref()) == self.fingerprint {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the certificate is {}, not the pinned {}",
                fingerprint(end_entity.as_ref()),
                self.fingerprint
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        if !self.tls12 {
            return Err(rustls::Error::General("TLS 1.2 is not spoken here".into()));
        }
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Whether a verified client certificate names `node`.
pub fn names_node(cert: &CertificateDer<'_>, node: &str) -> bool {
    let Ok(name) = ServerName::try_from(node.to_string()) else {
        return false;
    };
    webpki::EndEntityCert::try_from(cert)
        .is_ok_and(|c| c.verify_is_valid_for_subject_name(&name).is_ok())
}

/// How much a client reads from its socket at once under TLS.
const CLIENT_READ_AHEAD: usize = 64 * 1024;

/// A client's socket with a read-ahead buffer under it. rustls reads its records in 4 KiB
/// pieces, so a 1.6 MB answer (REQ over 1,000 nodes) took 400 system calls instead of 25; one
/// buffer per client costs nothing. Writes pass straight through. Servers do not use this: 10,000
/// idle connections would each hold the buffer.
pub fn client_socket(s: tokio::net::TcpStream) -> tokio::io::BufReader<tokio::net::TcpStream> {
    tokio::io::BufReader::with_capacity(CLIENT_READ_AHEAD, s)
}

/// The server name to check a manager's certificate against: the host of `host:port`.
pub fn server_name(addr: &str) -> Result<ServerName<'static>, TlsError> {
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(h, _)| h)
        .trim_matches(['[', ']']);
    ServerName::try_from(host.to_string())
        .map_err(|_| TlsError::Other(format!("'{host}' is not a host name or address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_prove_they_are_managers_and_no_node_can() {
        let d = tempfile::tempdir().unwrap();
        let cm = d.path().join("tls");
        init(&cm, &["localhost".into()]).unwrap();
        let own = &certs(&cm.join("cm.crt")).unwrap()[0];
        assert!(names_node(own, MANAGER_NAME));
        let shadow = d.path().join("shadow");
        issue_manager(&cm, &["head2".into()], &shadow).unwrap();
        let c = &certs(&shadow.join("cm.crt")).unwrap()[0];
        assert!(names_node(c, MANAGER_NAME) && names_node(c, "head2"));
        server_config(&shadow).unwrap();
        peer_config(&shadow).unwrap();
        assert!(!shadow.join("ca.key").exists(), "the CA key stays");
        // Re-issued in place, the manager's own CA certificate is kept whole.
        let ca = std::fs::read(cm.join("ca.crt")).unwrap();
        issue_manager(&cm, &["localhost".into()], &cm).unwrap();
        assert_eq!(std::fs::read(cm.join("ca.crt")).unwrap(), ca);
        assert!(issue_node(&cm, MANAGER_NAME, &d.path().join("x")).is_err());
    }

    #[test]
    fn a_node_certificate_names_its_node_and_keys_are_private() {
        let d = tempfile::tempdir().unwrap();
        let cm = d.path().join("tls");
        init(&cm, &["localhost".into(), "127.0.0.1".into()]).unwrap();
        assert!(init(&cm, &[]).is_err(), "never overwrites a CA");
        issue_node(&cm, "node07", &d.path().join("n7")).unwrap();
        let c = &certs(&d.path().join("n7/node.crt")).unwrap()[0];
        assert!(names_node(c, "node07"));
        assert!(!names_node(c, "node08"));
        server_config(&cm).unwrap();
        agent_config(&d.path().join("n7")).unwrap();
        client_config(&Trust::Ca(cm.join("ca.crt"))).unwrap();
        let fp = fingerprint_of_file(&cm.join("cm.crt")).unwrap();
        client_config(&Trust::Pin(fp.to_uppercase().replace("SHA256:", "sha256:"))).unwrap();
        assert!(issue_node(&cm, "bad_name!", &d.path().join("x")).is_err());
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            d.path().join("n7/node.key"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let e = agent_config(&d.path().join("n7")).unwrap_err().to_string();
        assert!(
            e.contains("node.key: a private key readable by others"),
            "{e}"
        );
    }
}
