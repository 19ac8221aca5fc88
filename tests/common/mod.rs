//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of a file under `tests/fixtures`.
pub fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Bytes of a file under `tests/fixtures`.
pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixture_path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// Replaces the first occurrence of `from` in `doc` (which must exist).
pub fn replace_once(doc: &[u8], from: &str, to: &[u8]) -> Vec<u8> {
    let pos = find(doc, from).unwrap_or_else(|| panic!("{from:?} not in document"));
    let mut out = doc[..pos].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&doc[pos + from.len()..]);
    out
}

/// Position of `needle` in `doc`.
pub fn find(doc: &[u8], needle: &str) -> Option<usize> {
    doc.windows(needle.len())
        .position(|w| w == needle.as_bytes())
}

/// Counts `<METRIC ` tags inside the named host's element, straight from the text: an oracle
/// that shares no code with the parser.
pub fn metric_count_in_text(doc: &[u8], host: &str) -> usize {
    let start = find(doc, &format!("<HOST NAME=\"{host}\"")).expect("host in text");
    let end = start + find(&doc[start..], "</HOST>").expect("host end");
    let body = &doc[start..end];
    body.windows(8).filter(|w| w == b"<METRIC ").count()
}
/// A child process, killed by its pid and reaped when dropped.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Kills every process a central-manager user still runs (tests clean up the jobs they
/// started: agents leave their tasks running when they stop, by design).
pub async fn kill_jobs_of(c: &mut gantry::cm::client::CmClient) {
    use gantry::cm::proto::{Reply, Request};
    let Ok(Reply::Jobs(jobs)) = c
        .call(&Request::Jobs {
            user: String::new(),
        })
        .await
    else {
        return;
    };
    for j in jobs
        .iter()
        .filter(|j| j.state == "running" || j.state == "migrated")
    {
        let Ok(Reply::Job(kv)) = c.call(&Request::Job { id: j.id }).await else {
            continue;
        };
        let field = |k: &str| {
            kv.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let (nodes, pids) = (field("nodes"), field("pids"));
        let nodes: Vec<&str> = nodes.split(',').collect();
        for (i, pid) in pids
            .split(',')
            .filter_map(|p| p.parse::<u32>().ok())
            .enumerate()
        {
            let node = nodes.get(i).or(nodes.first()).copied().unwrap_or("");
            let _ = c
                .call(&Request::Kil {
                    pid,
                    node: node.into(),
                })
                .await;
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Processes `/bin/sleep SECS` running now (a test's tasks, told apart by their length).
pub fn sleeping(secs: &str) -> Vec<u32> {
    let want = format!("sleep\0{secs}\0");
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.ends_with(want.as_bytes()) && c.starts_with(b"/bin/sleep\0"))
        })
        .collect()
}

/// A job that waits in the queue (no agent takes it), named `PREFIX` and `i`: only its record
/// matters to the tests that submit it.
pub fn queued_job(prefix: &str, i: usize) -> gantry::cm::job::JobSpec {
    gantry::cm::job::JobSpec {
        name: format!("{prefix}{i}"),
        exec: "/bin/true".into(),
        class: gantry::cm::job::JobClass::Single,
        output: Some("/dev/null".into()),
        tasks_per_node: 1,
        total_tasks: 1,
        ..Default::default()
    }
}

/// Random moments that replay: a small deterministic generator (xorshift) seeded from
/// `GANTRY_KILL_SEED`, else the clock; the seed is printed so a failure can be replayed.
pub struct Moments {
    state: u64,
    /// The seed it started from.
    pub seed: u64,
}

impl Moments {
    /// Seeded from `GANTRY_KILL_SEED`, else the clock; prints the seed.
    pub fn from_env() -> Self {
        let seed = std::env::var("GANTRY_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64 | 1)
            });
        println!("GANTRY_KILL_SEED={seed}");
        Self { state: seed, seed }
    }

    /// The next moment, in milliseconds below `max`.
    pub fn next_ms(&mut self, max: u64) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % max
    }
}

pub mod fiu;
pub mod gmond;
pub mod netns;
pub mod pair;
pub mod power_cut;
pub mod proxy;
pub mod pty;
pub mod redfish;
pub mod replay;
pub mod rsyslog;
pub mod slurm;
pub mod slurm_link;
pub mod tui;
pub mod unix_users;

/// Says why a test that needs a real component cannot run here. Under CI (which installs every
/// such component and sets `GANTRY_REQUIRE_REAL=1`) that is a failure, not a silent pass.
pub fn skip(why: &str) {
    assert!(
        std::env::var_os("GANTRY_REQUIRE_REAL").is_none(),
        "GANTRY_REQUIRE_REAL is set but this test cannot run: {why}"
    );
    println!("SKIPPED: {why}");
}

/// A quiet `gantry aggregator` with config and state in `dir`, serving its XML dump on `xml`
/// (`off` for none), its interactive port off, with `env` added to its environment.
pub fn start_aggregator(
    dir: &std::path::Path,
    xml: &str,
    env: &[(&str, &std::ffi::OsStr)],
) -> Proc {
    use std::process::Stdio;
    Proc(
        std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args([
                "aggregator",
                "--interactive-listen",
                "off",
                "--xml-listen",
                xml,
            ])
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry aggregator starts"),
    )
}

/// A `gantry sim` cluster `alpha` of `hosts` hosts on `port`, a new sample every second.
pub fn start_sim(hosts: usize, port: u16) -> Proc {
    Proc(
        std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args([
                "sim",
                "--cluster",
                &format!("alpha:{hosts}:{port}"),
                "--step",
                "1",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gantry sim starts"),
    )
}

/// `config.toml` in `dir`: the source `alpha` polled every second at `port` (a
/// [`start_sim`]), then `more` (other tables).
pub fn alpha_config(dir: &std::path::Path, port: u16, more: &str) {
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[[source]]\nname = \"alpha\"\nstep = 1\naddresses = [\"127.0.0.1:{port}\"]\n\n{more}"
        ),
    )
    .expect("config");
}

/// A quiet `gantry aggregator` with config and state in `dir`, its interactive port (and
/// `/status`) on `http`, its XML port off, with `env` added to its environment.
pub fn start_aggregator_http(
    dir: &std::path::Path,
    http: u16,
    env: &[(&str, std::ffi::OsString)],
) -> Proc {
    use std::process::Stdio;
    Proc(
        std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["aggregator", "--xml-listen", "off", "--interactive-listen"])
            .arg(format!("127.0.0.1:{http}"))
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry aggregator starts"),
    )
}

/// What a running aggregator's `/status` (on its interactive port) says, as JSON.
pub fn aggregator_status(port: u16) -> Option<serde_json::Value> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    s.write_all(b"/status\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    serde_json::from_str(out.split("\r\n\r\n").nth(1)?).ok()
}

/// A real `gantry cm` started by a test: its TLS address (for agents) and its plain-text
/// loopback address (for the test's clients and consoles).
pub struct CmProc {
    /// The process.
    pub proc: Proc,
    /// TLS listener.
    pub tls: String,
    /// Plain-text loopback listener.
    pub plain: String,
}

/// Starts `gantry cm` with config and state in `dir`, TLS and a plain-text listener on free
/// loopback ports, and reads the addresses it prints.
pub fn start_cm(dir: &std::path::Path, extra: &[&str]) -> CmProc {
    start_cm_on(dir, ("127.0.0.1:0", "127.0.0.1:0"), extra)
}

/// Like [`start_cm`], on given (TLS, plain-text) addresses (a restart keeps its ports).
pub fn start_cm_on(dir: &std::path::Path, addrs: (&str, &str), extra: &[&str]) -> CmProc {
    start_cm_env(dir, addrs, extra, &[])
}

/// Like [`start_cm_on`], with `env` added to its environment.
pub fn start_cm_env(
    dir: &std::path::Path,
    (tls, plain): (&str, &str),
    extra: &[&str],
    env: &[(&str, std::ffi::OsString)],
) -> CmProc {
    use std::io::BufRead;
    let mut p = Proc(
        std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["cm", "--listen", tls, "--plaintext-listen", plain])
            .args(extra)
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("cm.stderr"))
                    .expect("cm.stderr"),
            ))
            .spawn()
            .expect("gantry cm starts"),
    );
    let mut out = std::io::BufReader::new(p.0.stdout.take().expect("stdout"));
    let mut line = String::new();
    let _ = out.read_line(&mut line);
    let tls = line
        .trim()
        .strip_prefix("central manager listening on ")
        .unwrap_or_else(|| {
            panic!(
                "manager did not start: {line:?}; {}",
                std::fs::read_to_string(dir.join("cm.stderr")).unwrap_or_default()
            )
        })
        .to_string();
    line.clear();
    let _ = out.read_line(&mut line);
    let plain = line
        .trim()
        .strip_prefix("plaintext on ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no plaintext listener: {line:?}"))
        .to_string();
    // Keep reading (and dropping) what it prints, so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while out.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    CmProc {
        proc: p,
        tls,
        plain,
    }
}

/// Issues node `name`'s certificate into the agent's default directory under `dir` (as an
/// operator runs `gantry cm tls node NAME`).
pub fn enroll(dir: &std::path::Path, name: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["cm", "tls", "node", name])
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .output()
        .expect("gantry cm tls node");
    assert!(
        out.status.success(),
        "enrolling {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real `gantry cm` with user alice (password alicepw), whose jobs run as root here (these
/// tests are about the console, not accounts): the manager and its addresses.
pub fn alice_cm(dir: &std::path::Path, extra: &[&str]) -> CmProc {
    let h = bcrypt::hash("alicepw", 4)
        .unwrap_or_default()
        .replacen("$2b$", "$2y$", 1);
    std::fs::write(dir.join("users.htpasswd"), format!("alice:{h}\n")).expect("users file");
    std::fs::write(
        dir.join("config.toml"),
        "[cm]\naccounts = { alice = \"root\" }\nroot_users = [\"alice\"]\n",
    )
    .expect("config file");
    start_cm(dir, extra)
}
