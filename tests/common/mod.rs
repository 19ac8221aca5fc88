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

pub mod gmond;
pub mod netns;
pub mod pty;
pub mod replay;
pub mod slurm;
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

/// A real `gantry cm` on a free loopback port, its config and state in `dir`, with user alice
/// (password alicepw); returns it and the address it says it listens on.
pub fn alice_cm(dir: &std::path::Path, extra: &[&str]) -> (Proc, String) {
    use std::io::BufRead;
    let h = bcrypt::hash("alicepw", 4)
        .unwrap_or_default()
        .replacen("$2b$", "$2y$", 1);
    std::fs::write(dir.join("users.htpasswd"), format!("alice:{h}\n")).expect("users file");
    // alice's jobs run as root here (these tests are about the console, not accounts).
    std::fs::write(
        dir.join("config.toml"),
        "[cm]\naccounts = { alice = \"root\" }\nroot_users = [\"alice\"]\n",
    )
    .expect("config file");
    let mut cm = Proc(
        std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["cm", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            .env_remove("GANTRY_CM_SECRET")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gantry cm starts"),
    );
    let mut line = String::new();
    if let Some(out) = cm.0.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let addr = line
        .trim()
        .trim_start_matches("central manager listening on ")
        .to_string();
    (cm, addr)
}
