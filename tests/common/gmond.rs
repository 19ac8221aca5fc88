//! Runs real gmond 3.7.2 daemons (Debian's `ganglia-monitor`) on 127.0.0.1 for tests: a
//! collector with a TCP port, and "deaf" senders that pose as further hosts. Each daemon gets
//! its own config in a temp dir and is killed by its pid when dropped.
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where gmond is, if installed.
pub fn gmond_binary() -> Option<PathBuf> {
    ["/usr/sbin/gmond", "/usr/bin/gmond"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The `modules { }` block and collection groups of the system's gmond.conf, which carry
/// absolute module paths on Debian (relative ones fail to load).
fn system_metrics_section() -> Result<String, String> {
    let conf = std::fs::read_to_string("/etc/ganglia/gmond.conf")
        .map_err(|e| format!("cannot read /etc/ganglia/gmond.conf: {e}"))?;
    let start = conf
        .find("\nmodules {")
        .ok_or("no modules section in /etc/ganglia/gmond.conf")?;
    Ok(conf[start..]
        .lines()
        .filter(|l| !l.trim_start().starts_with("include"))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// A free TCP port on 127.0.0.1.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free TCP port")
}

/// A free UDP port on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// One running gmond.
pub struct Gmond {
    child: Child,
    /// Its TCP accept channel (collectors only).
    pub tcp_port: Option<u16>,
    /// The UDP port it receives on (collectors) or sends to (senders).
    pub udp_port: u16,
    dir: tempfile::TempDir,
}

impl Gmond {
    /// Starts a collector for `cluster` with the given owner, listening on 127.0.0.1 only.
    pub fn collector(cluster: &str, owner: &str) -> Result<Self, String> {
        Self::collector_on(cluster, owner, free_tcp_port())
    }

    /// A collector whose TCP accept channel is on `tcp` (gmond's default 8649 inside a private
    /// network namespace, say).
    pub fn collector_on(cluster: &str, owner: &str, tcp: u16) -> Result<Self, String> {
        let udp = free_udp_port();
        let body = format!(
            r#"globals {{
  daemonize = no
  setuid = no
  debug_level = 0
  max_udp_msg_len = 1472
  mute = no
  deaf = no
  host_dmax = 86400
  cleanup_threshold = 300
  gexec = no
  send_metadata_interval = 30
}}
cluster {{
  name = "{cluster}"
  owner = "{owner}"
  latlong = "N48.15 E11.58"
  url = "http://127.0.0.1/"
}}
host {{
  location = "1,2,0"
}}
udp_send_channel {{
  host = 127.0.0.1
  port = {udp}
  ttl = 1
}}
udp_recv_channel {{
  port = {udp}
  bind = 127.0.0.1
}}
tcp_accept_channel {{
  port = {tcp}
  bind = 127.0.0.1
}}
"#
        );
        Self::spawn(&body, Some(tcp), udp)
    }

    /// Starts a deaf sender that reports this machine as `hostname`/`ip` to the collector.
    /// Waits for the collector to serve first: values sent before it listens are lost, and
    /// one-time metrics such as cpu_num are only resent every 1200 s.
    pub fn sender(collector: &mut Gmond, hostname: &str, ip: &str) -> Result<Self, String> {
        collector.wait_for(1, 1, Duration::from_secs(30))?;
        let udp = collector.udp_port;
        let body = format!(
            r#"globals {{
  daemonize = no
  setuid = no
  debug_level = 0
  mute = no
  deaf = yes
  host_dmax = 86400
  send_metadata_interval = 30
  override_hostname = "{hostname}"
  override_ip = "{ip}"
}}
cluster {{
  name = "sender"
}}
udp_send_channel {{
  host = 127.0.0.1
  port = {udp}
  ttl = 1
}}
"#
        );
        Self::spawn(&body, None, udp)
    }

    fn spawn(head: &str, tcp_port: Option<u16>, udp_port: u16) -> Result<Self, String> {
        let bin = gmond_binary().ok_or("gmond is not installed")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let conf = dir.path().join("gmond.conf");
        let text = format!("{head}\n{}\n", system_metrics_section()?);
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("-f")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("gmond.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("stderr.log")).map_err(|e| e.to_string())?,
            ))
            .spawn()
            .map_err(|e| format!("cannot start gmond: {e}"))?;
        Ok(Self {
            child,
            tcp_port,
            udp_port,
            dir,
        })
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its config directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `127.0.0.1:PORT` of the TCP channel.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.tcp_port.unwrap_or(0))
    }

    /// Reads the XML once.
    pub fn read_xml(&self) -> Result<Vec<u8>, String> {
        let mut s = TcpStream::connect(self.address()).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// Waits until the XML shows `hosts` hosts each with at least `metrics` metrics.
    pub fn wait_for(
        &mut self,
        hosts: usize,
        metrics: usize,
        within: Duration,
    ) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + within;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Ok(Some(code)) = self.child.try_wait() {
                let log =
                    std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
                return Err(format!("gmond exited with {code}: {log}"));
            }
            match self.read_xml() {
                Ok(xml) => {
                    let text = String::from_utf8_lossy(&xml);
                    let counts: Vec<usize> = text
                        .split("<HOST ")
                        .skip(1)
                        .map(|h| {
                            h.split("</HOST>")
                                .next()
                                .unwrap_or("")
                                .matches("<METRIC ")
                                .count()
                        })
                        .collect();
                    if counts.len() >= hosts
                        && counts.iter().filter(|c| **c >= metrics).count() >= hosts
                    {
                        return Ok(xml);
                    }
                    last = format!("hosts with metric counts {counts:?}");
                }
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Err(format!("gmond not ready within {within:?}: {last}"))
    }
}

impl Drop for Gmond {
    fn drop(&mut self) {
        // Kill by the pid we started (and reap it so no zombie is left).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
