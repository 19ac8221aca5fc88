//! One poll of one source over TCP, with gmetad's failover: the address that answered last
//! time first, then the others in the configured order. Blocking I/O with connect, idle-read
//! and whole-attempt deadlines, run on tokio's blocking pool, so a peer that accepts and never
//! writes stalls nothing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::address::SourceAddress;
use crate::ganglia::{Interner, Limits, Parsed, StreamParser};

/// Timeouts and limits for fetching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    /// Giving up on a TCP connect.
    pub connect_timeout: Duration,
    /// Giving up when no byte arrives for this long (gmetad uses 10 s).
    pub read_timeout: Duration,
    /// Giving up on one address altogether (a slow drip never ends otherwise).
    pub attempt_deadline: Duration,
    /// Document size limits.
    pub limits: Limits,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            attempt_deadline: Duration::from_secs(60),
            limits: Limits::default(),
        }
    }
}

/// A document read from one address.
#[derive(Debug)]
pub struct Fetched {
    /// What was parsed.
    pub parsed: Parsed,
    /// Index of the address that answered.
    pub address: usize,
    /// Connect to end of parse.
    pub latency: Duration,
    /// Set when reading stopped early (timeout, size limit); `parsed` holds what came before.
    pub incomplete: Option<String>,
}

/// An address that did not answer usefully, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The address as configured.
    pub address: String,
    /// What went wrong.
    pub error: String,
}

/// Result of one poll: the document (complete, or the best partial one) and every failure.
#[derive(Debug)]
pub struct FetchReport {
    /// The document, if any address gave one.
    pub fetched: Option<Fetched>,
    /// Addresses that failed on the way, in the order tried.
    pub failures: Vec<Failure>,
}

/// Polls `addresses`, trying `first` (the last good one) before the rest in order.
pub fn fetch(
    addresses: &[SourceAddress],
    first: Option<usize>,
    settings: &FetchSettings,
    interner: &mut Interner,
) -> FetchReport {
    let mut order: Vec<usize> = Vec::with_capacity(addresses.len());
    if let Some(f) = first.filter(|f| *f < addresses.len()) {
        order.push(f);
    }
    order.extend((0..addresses.len()).filter(|i| Some(*i) != first));
    let mut failures = Vec::new();
    let mut best_partial: Option<Fetched> = None;
    for i in order {
        let addr = &addresses[i];
        match attempt(addr, settings, interner) {
            Ok(mut f) => {
                f.address = i;
                if f.incomplete.is_none() && f.parsed.truncated.is_none() {
                    return FetchReport {
                        fetched: Some(f),
                        failures,
                    };
                }
                let why = f
                    .incomplete
                    .clone()
                    .or_else(|| f.parsed.truncated.clone())
                    .unwrap_or_default();
                failures.push(Failure {
                    address: addr.to_string(),
                    error: why,
                });
                let better = best_partial
                    .as_ref()
                    .is_none_or(|b| f.parsed.xml_bytes > b.parsed.xml_bytes);
                if better {
                    best_partial = Some(f);
                }
            }
            Err(error) => failures.push(Failure {
                address: addr.to_string(),
                error,
            }),
        }
    }
    FetchReport {
        fetched: best_partial,
        failures,
    }
}

fn connect(addr: &SourceAddress, timeout: Duration) -> Result<TcpStream, String> {
    let targets: Vec<SocketAddr> = (addr.host.as_str(), addr.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{}': {e}", addr.host))?
        .collect();
    let mut last = String::from("no address to connect to");
    for t in targets {
        match TcpStream::connect_timeout(&t, timeout) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("connect timed out after {}", secs(timeout));
            }
            Err(e) => last = format!("cannot connect: {}", plain_io(&e)),
        }
    }
    Err(last)
}

fn secs(d: Duration) -> String {
    format!("{:.0} s", d.as_secs_f64())
}

/// An I/O error in words, without the "(os error N)" noise.
pub fn plain_io(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_lowercase(),
        None => s,
    }
}

fn attempt(
    addr: &SourceAddress,
    settings: &FetchSettings,
    interner: &mut Interner,
) -> Result<Fetched, String> {
    let started = Instant::now();
    let mut stream = connect(addr, settings.connect_timeout)?;
    stream
        .set_read_timeout(Some(settings.read_timeout))
        .and_then(|()| stream.set_write_timeout(Some(settings.read_timeout)))
        .map_err(|e| format!("socket setup failed: {}", plain_io(&e)))?;
    if let Some(req) = addr.request() {
        stream
            .write_all(req.as_bytes())
            .map_err(|e| format!("sending the query failed: {}", plain_io(&e)))?;
    }
    let mut parser = StreamParser::new(interner, settings.limits);
    let mut buf = vec![0u8; 256 * 1024];
    let mut received: u64 = 0;
    let mut incomplete = None;
    loop {
        if started.elapsed() > settings.attempt_deadline {
            incomplete = Some(format!(
                "gave up after {} with {received} bytes read (answer too slow)",
                secs(settings.attempt_deadline)
            ));
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                received += n as u64;
                let fed = crate::guard::caught("reading the answer", || parser.feed(&buf[..n]))
                    .map_err(|e| e.to_string())?;
                if let Err(e) = fed {
                    incomplete = Some(e.to_string());
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if received == 0 {
                    return Err(format!(
                        "accepted the connection but sent nothing for {}",
                        secs(settings.read_timeout)
                    ));
                }
                incomplete = Some(format!(
                    "stopped sending for {} after {received} bytes",
                    secs(settings.read_timeout)
                ));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if received == 0 {
                    return Err(format!("read failed: {}", plain_io(&e)));
                }
                incomplete = Some(format!(
                    "read failed after {received} bytes: {}",
                    plain_io(&e)
                ));
                break;
            }
        }
    }
    let parsed = crate::guard::caught("reading the answer", || parser.finish())
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(Fetched {
        parsed,
        address: 0,
        latency: started.elapsed(),
        incomplete,
    })
}
