//! A pair of real central managers — a primary and its shadow (protocol §9) — and real agents
//! linked to both, on loopback. The links that faults are injected into pass through
//! fault-injecting proxies: the shadow's replication link to the primary, and each agent's
//! link to the primary.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gantry::cm::client::CmClient;
use gantry::cm::job::{JobClass, JobSpec};
use gantry::cm::proto::{HaStatus, Reply, Request};

use super::proxy::Proxy;
use super::{Proc, free_port};

/// One manager of the pair.
pub struct Side {
    /// Its configuration and state directory.
    pub dir: tempfile::TempDir,
    /// Its TLS listener.
    pub tls: String,
    /// Its plain-text loopback listener, for the tests' clients.
    pub plain: String,
    /// The process, while it runs.
    pub proc: Option<Proc>,
    args: Vec<String>,
    env: Vec<(&'static str, std::ffi::OsString)>,
}

impl Side {
    /// Starts (or restarts) the manager on the same addresses.
    pub fn start(&mut self) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let cm = super::start_cm_env(self.dir.path(), (&self.tls, &self.plain), &args, &self.env);
        self.proc = Some(cm.proc);
    }

    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.proc.as_ref().map_or(0, |p| p.0.id() as i32)
    }

    /// Sends a signal to it, while it runs.
    pub fn signal(&self, sig: i32) {
        // Never pid 0 (the whole process group: the test itself).
        if let Some(p) = &self.proc {
            // SAFETY: kill on a child this test started and has not reaped.
            unsafe { libc::kill(p.0.id() as i32, sig) };
        }
    }

    /// SIGKILLs it and reaps it.
    pub fn kill(&mut self) {
        drop(self.proc.take());
    }

    /// What it said on stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("cm.stderr")).unwrap_or_default()
            + &std::fs::read_to_string(self.dir.path().join("gantry.log")).unwrap_or_default()
    }
}

/// The pair and its agents.
pub struct Pair {
    /// The primary.
    pub a: Side,
    /// The shadow.
    pub b: Side,
    /// The shadow's replication link to the primary.
    pub link: Proxy,
    /// The primary's link to the shadow, once it follows it (after a takeover).
    pub back: Proxy,
    /// Each agent's link to the primary, by node.
    pub to_a: Vec<(String, Proxy)>,
    /// The agents.
    pub agents: Vec<(String, Proc)>,
    /// Where jobs record that they ran (one line per run: the job id).
    pub runs: PathBuf,
    env: Vec<(&'static str, std::ffi::OsString)>,
}

/// The users (root, alice) and configuration both managers of a pair use.
pub fn users_and_config(dir: &Path) {
    std::fs::write(
        dir.join("config.toml"),
        "[cm]\naccounts = { alice = \"root\" }\nroot_users = [\"root\", \"alice\"]\nmax_jobs_per_user = 1000000\n",
    )
    .expect("config");
    let mut users = String::new();
    for (u, p) in [("root", "rootpw"), ("alice", "alicepw")] {
        let h = bcrypt::hash(p, 4)
            .expect("bcrypt")
            .replacen("$2b$", "$2y$", 1);
        users.push_str(&format!("{u}:{h}\n"));
    }
    std::fs::write(dir.join("users.htpasswd"), users).expect("users");
}

fn gantry_in(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .output()
        .expect("gantry runs");
    assert!(
        out.status.success(),
        "gantry {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Pair {
    /// A primary and its shadow with `nodes` agents, heartbeat 1 s, takeover after 3.
    pub fn start(nodes: &[&str]) -> Self {
        Self::start_with_env(nodes, Vec::new())
    }

    /// Like [`Pair::start`], with `env` added to every manager's and agent's environment.
    pub fn start_with_env(nodes: &[&str], env: Vec<(&'static str, std::ffi::OsString)>) -> Self {
        let (da, db) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        users_and_config(da.path());
        users_and_config(db.path());
        let names = ["--name", "127.0.0.1", "--name", "localhost"];
        let mut init = vec!["cm", "tls", "init"];
        init.extend(names);
        gantry_in(da.path(), &init);
        let out_b = db.path().join("cm").join("tls");
        let out_b = out_b.display().to_string();
        let mut issue = vec!["cm", "tls", "manager", "--out", &out_b];
        issue.extend(names);
        gantry_in(da.path(), &issue);
        let (pa, pb) = (free_port(), free_port());
        let (ta, tb) = (format!("127.0.0.1:{pa}"), format!("127.0.0.1:{pb}"));
        let link = Proxy::start(&ta);
        let back = Proxy::start(&tb);
        let common = |name: &str, peer: (&str, &str)| -> Vec<String> {
            vec![
                "--heartbeat".into(),
                "1".into(),
                "--name".into(),
                name.into(),
                peer.0.into(),
                peer.1.into(),
            ]
        };
        let mut a = Side {
            dir: da,
            plain: format!("127.0.0.1:{}", free_port()),
            proc: None,
            args: common(&ta, ("--shadow", &back.addr())),
            tls: ta.clone(),
            env: env.clone(),
        };
        let mut b = Side {
            dir: db,
            plain: format!("127.0.0.1:{}", free_port()),
            proc: None,
            args: common(&tb, ("--shadow-of", &link.addr())),
            tls: tb.clone(),
            env: env.clone(),
        };
        a.start();
        b.start();
        let runs = a.dir.path().join("runs");
        let mut p = Pair {
            a,
            b,
            link,
            back,
            to_a: Vec::new(),
            agents: Vec::new(),
            runs,
            env,
        };
        for n in nodes {
            p.start_agent(n);
        }
        p
    }

    /// Starts node `name`'s agent, linked to both managers (to the primary through a proxy).
    pub fn start_agent(&mut self, name: &str) {
        super::enroll(self.a.dir.path(), name);
        let proxy = Proxy::start(&self.a.tls);
        let both = format!("{},{}", proxy.addr(), self.b.tls);
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["agent", "--name", name, "--cm", &both, "--scope", "tasks"])
            .env("GANTRY_CONFIG_DIR", self.a.dir.path())
            .env("GANTRY_STATE_DIR", self.a.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.a.dir.path().join(format!("agent-{name}.stderr")))
                    .expect("agent log"),
            ))
            .spawn()
            .expect("agent starts");
        self.to_a.push((name.to_string(), proxy));
        self.agents.push((name.to_string(), Proc(child)));
    }

    /// A job that records its run and then sleeps `secs`.
    pub fn job(&self, secs: u32) -> JobSpec {
        JobSpec {
            name: "t".into(),
            exec: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                format!(
                    "echo \"$GANTRY_JOB_ID ${{GANTRY_EPOCH:-0}} $(date +%s.%N)\" >> {}; sleep {secs}",
                    self.runs.display()
                ),
            ],
            class: JobClass::Single,
            output: Some("/dev/null".into()),
            tasks_per_node: 1,
            total_tasks: 1,
            ..JobSpec::default()
        }
    }

    /// How many times each job ran.
    pub fn runs(&self) -> std::collections::HashMap<u64, usize> {
        let mut out = std::collections::HashMap::new();
        for l in std::fs::read_to_string(&self.runs)
            .unwrap_or_default()
            .lines()
        {
            if let Some(Ok(id)) = l.split_whitespace().next().map(str::parse) {
                *out.entry(id).or_insert(0) += 1;
            }
        }
        out
    }

    /// Every start a job recorded: its id, the epoch of the manager that started it, and when
    /// (seconds since the Unix epoch).
    pub fn starts(&self) -> Vec<(u64, u64, f64)> {
        std::fs::read_to_string(&self.runs)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((
                    w.next()?.parse().ok()?,
                    w.next()?.parse().ok()?,
                    w.next()?.parse().ok()?,
                ))
            })
            .collect()
    }

    /// Both managers' logs, for a failure message.
    pub fn logs(&self) -> String {
        format!(
            "--- primary:\n{}\n--- shadow:\n{}",
            self.a.log(),
            self.b.log()
        )
    }
}

/// What both stores recorded of `ids` (read with SQLite once the managers are stopped).
pub fn history_of(p: &Pair, ids: &[u64]) -> String {
    for side in [&p.a, &p.b] {
        side.signal(libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut out = String::new();
    for (name, side) in [("primary", &p.a), ("shadow", &p.b)] {
        let path = side.dir.path().join("cm").join("jobs.sqlite");
        let Ok(db) = rusqlite::Connection::open(&path) else {
            continue;
        };
        for id in ids {
            out.push_str(&format!("--- {name}'s events of job {id}:\n"));
            if let Ok(mut st) = db.prepare("SELECT t, what FROM events WHERE job = ?1") {
                let rows = st.query_map([*id as i64], |r| {
                    Ok(format!(
                        "{} {}",
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?
                    ))
                });
                for r in rows.into_iter().flatten().flatten() {
                    out.push_str(&r);
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// Seconds since the Unix epoch, as a job's `date +%s.%N` says them.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// What `HA` says at `plain`, if it answers.
pub async fn ha(plain: &str) -> Option<HaStatus> {
    let mut c = tokio::time::timeout(Duration::from_secs(2), CmClient::connect(plain))
        .await
        .ok()?
        .ok()?;
    match tokio::time::timeout(Duration::from_secs(2), c.call(&Request::Ha)).await {
        Ok(Ok(Reply::Ha(s))) => Some(*s),
        _ => None,
    }
}

/// Waits (up to `secs`) until `f` holds; panics with `what` and the logs otherwise.
pub async fn until<T>(
    pair: &Pair,
    what: &str,
    secs: u64,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {secs} s\n{}",
            pair.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A logged-in client of the manager at `plain`.
pub async fn login(plain: &str, user: &str) -> Option<CmClient> {
    CmClient::login(plain, user, &format!("{user}pw"))
        .await
        .ok()
}

/// Every job the manager at `plain` lists: id → state.
pub async fn jobs(plain: &str) -> Option<std::collections::HashMap<u64, String>> {
    let mut c = login(plain, "root").await?;
    match c.call(&Request::Jobs { user: "*".into() }).await.ok()? {
        Reply::Jobs(j) => Some(j.into_iter().map(|j| (j.id, j.state)).collect()),
        _ => None,
    }
}
