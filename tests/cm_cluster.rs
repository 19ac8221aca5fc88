//! The reference central manager with three real agents on loopback, running real processes:
//! placement on the least-loaded node, REQ, KIL, MIG with checkpoint resume, permissions, a dead
//! agent marked down, and no acknowledged job lost when the manager is SIGKILLed mid-burst.

mod common;

use common::{Proc, free_port};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gantry::cm::client::{ClientError, CmClient};
use gantry::cm::job::{JobClass, JobSpec};
use gantry::cm::proto::{Reply, Request};

struct Cluster {
    dir: tempfile::TempDir,
    /// The plain-text loopback listener, for the test's clients.
    addr: String,
    /// The TLS listener, for agents.
    tls: String,
    cm: Option<Proc>,
    agents: Vec<(String, Proc)>,
    cm_extra: Vec<&'static str>,
}

fn gantry(dir: &Path, args: &[&str]) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .stdout(if args[0] == "cm" {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(format!("{}.stderr", args[0])))
                .unwrap(),
        ))
        .spawn()
        .expect("gantry starts");
    Proc(child)
}

fn wait_port(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{addr} never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Cluster {
    fn start(nodes: &[&str]) -> Self {
        Self::start_with(nodes, &[])
    }

    fn start_with(nodes: &[&str], cm_extra: &[&'static str]) -> Self {
        Self::start_configured(nodes, cm_extra, "")
    }

    fn start_configured(nodes: &[&str], cm_extra: &[&'static str], config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // These tests are about placement and the protocol, not accounts (tests/cm_security.rs
        // is): the test users' jobs run as root, which the configuration must say explicitly.
        std::fs::write(
            dir.path().join("config.toml"),
            format!(
                "[cm]\naccounts = {{ alice = \"root\", bob = \"root\" }}\nroot_users = [\"root\", \"alice\", \"bob\"]\nmax_jobs_per_user = 1000000\n{config}"
            ),
        )
        .unwrap();
        let mut users = String::new();
        for (u, p) in [("root", "rootpw"), ("alice", "alicepw"), ("bob", "bobpw")] {
            let h = bcrypt::hash(p, 4).unwrap().replacen("$2b$", "$2y$", 1);
            users.push_str(&format!("{u}:{h}\n"));
        }
        std::fs::write(dir.path().join("users.htpasswd"), users).unwrap();
        // Port 0: the manager picks a free port and says which; a restart reuses it.
        let addr = "127.0.0.1:0".to_string();
        let mut c = Cluster {
            dir,
            tls: addr.clone(),
            addr,
            cm: None,
            agents: Vec::new(),
            cm_extra: cm_extra.to_vec(),
        };
        c.start_cm();
        for n in nodes {
            c.start_agent(n);
        }
        c
    }

    fn start_cm(&mut self) {
        let mut args = vec!["--heartbeat", "1"];
        args.extend(self.cm_extra.iter().copied());
        let cm = common::start_cm_on(self.dir.path(), (&self.tls, &self.addr), &args);
        self.addr = cm.plain;
        self.tls = cm.tls;
        self.cm = Some(cm.proc);
        wait_port(&self.addr);
    }

    fn start_agent(&mut self, name: &str) {
        common::enroll(self.dir.path(), name);
        let p = gantry(
            self.dir.path(),
            &[
                "agent", "--name", name, "--cm", &self.tls, "--scope", "tasks",
            ],
        );
        self.agents.push((name.to_string(), p));
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
}

async fn login(c: &Cluster, user: &str) -> CmClient {
    match CmClient::login(&c.addr, user, &format!("{user}pw")).await {
        Ok(cl) => cl,
        Err(e) => panic!(
            "login: {e}; manager said: {}",
            std::fs::read_to_string(c.path("cm.stderr")).unwrap_or_default()
        ),
    }
}

/// Asks until `ok` holds or 30 s pass.
async fn until<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn nodes_up(cl: &mut CmClient) -> Vec<(String, bool, f32)> {
    match cl.ok(&Request::Nodes).await.unwrap() {
        Reply::Nodes(n) => n.into_iter().map(|n| (n.name, n.up, n.load1)).collect(),
        r => panic!("{r:?}"),
    }
}

async fn job_field(cl: &mut CmClient, id: u64, key: &str) -> String {
    match cl.ok(&Request::Job { id }).await.unwrap() {
        Reply::Job(kv) => kv
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or_default(),
        r => panic!("{r:?}"),
    }
}

fn shell(script: &str, out: &Path) -> JobSpec {
    JobSpec {
        name: "t".into(),
        exec: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        class: JobClass::Single,
        output: Some(out.display().to_string()),
        tasks_per_node: 1,
        total_tasks: 1,
        ..JobSpec::default()
    }
}

async fn submit(cl: &mut CmClient, spec: JobSpec) -> u64 {
    match cl.ok(&Request::Submit(spec)).await.unwrap() {
        Reply::Submitted(id) => id,
        r => panic!("{r:?}"),
    }
}

fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z")
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_land_least_loaded_list_kill_migrate_and_respect_owners() {
    let c = Cluster::start(&["n1", "n2", "n3"]);
    let mut alice = login(&c, "alice").await;
    let mut bob = login(&c, "bob").await;
    until("three nodes up", async || {
        let n = nodes_up(&mut alice).await;
        (n.len() == 3 && n.iter().all(|x| x.1)).then_some(())
    })
    .await;

    // A CPU-bound job, then a second: the second avoids the busy node.
    let busy = submit(
        &mut alice,
        shell("while :; do :; done", &c.path("busy.out")),
    )
    .await;
    let busy_node = until("busy job placed", async || {
        let n = job_field(&mut alice, busy, "nodes").await;
        (!n.is_empty() && job_field(&mut alice, busy, "pids").await != "0").then_some(n)
    })
    .await;
    until("busy node loaded", async || {
        let n = nodes_up(&mut alice).await;
        n.iter()
            .any(|x| x.0 == busy_node && x.2 > 0.3)
            .then_some(())
    })
    .await;
    let second = submit(&mut alice, shell("sleep 30", &c.path("second.out"))).await;
    let second_node = until("second job placed", async || {
        let n = job_field(&mut alice, second, "nodes").await;
        (!n.is_empty()).then_some(n)
    })
    .await;
    assert_ne!(second_node, busy_node, "placed on the least-loaded node");

    // REQ lists alice's processes, KCMS format; bob may not list or touch them.
    let pid: u32 = job_field(&mut alice, busy, "pids").await.parse().unwrap();
    let listed = until("REQ shows the busy process", async || {
        match alice
            .ok(&Request::Req {
                user: "alice".into(),
            })
            .await
            .unwrap()
        {
            Reply::ProcessList(nodes) => nodes
                .iter()
                .find(|n| n.node == busy_node)
                .and_then(|n| n.procs.iter().find(|p| p.pid == pid).cloned()),
            r => panic!("{r:?}"),
        }
    })
    .await;
    assert!(!listed.terminated);
    let raw = alice.raw(b"REQ|alice\n").await.unwrap();
    assert!(raw.contains(&format!("|{pid}|sh|0&")), "{raw}");
    for req in [
        Request::Req {
            user: "alice".into(),
        },
        Request::Kil {
            pid,
            node: busy_node.clone(),
        },
        Request::Mig {
            pid,
            from: busy_node.clone(),
            to: second_node.clone(),
        },
    ] {
        match bob.call(&req).await.unwrap() {
            Reply::Error { code: 403, .. } => {}
            r => panic!("bob got {r:?} for {req:?}"),
        }
    }
    assert!(alive(pid), "bob's attempts changed nothing");

    // KCMS named nodes by name or address: every agent here connects from 127.0.0.1, so that
    // address (and "localhost") cannot tell them apart and is refused, naming them.
    for addr in ["127.0.0.1", "localhost"] {
        let line = alice
            .raw(format!("KIL|{pid}|{addr}\n").as_bytes())
            .await
            .unwrap();
        assert!(
            line.starts_with("ERR|409|") && line.contains(busy_node.as_str()),
            "{line}"
        );
    }
    assert!(alive(pid), "an ambiguous address kills nothing");

    // KIL kills the real process; the job ends as killed. The node is named by its full
    // domain name, which a KCMS client may have sent.
    match alice
        .ok(&Request::Kil {
            pid,
            node: format!("{busy_node}.cluster.example"),
        })
        .await
        .unwrap()
    {
        Reply::Killed { node, pid: p } => assert_eq!((node.as_str(), p), (busy_node.as_str(), pid)),
        r => panic!("{r:?}"),
    }
    until("busy job killed", async || {
        (job_field(&mut alice, busy, "state").await == "killed").then_some(())
    })
    .await;
    assert!(!alive(pid), "process {pid} is gone");

    // MIG: a checkpointing job moves and resumes from its checkpoint.
    let script = r#"ck="$GANTRY_CHECKPOINT_DIR/count"; n=$(cat "$ck" 2>/dev/null || echo 0); echo "start at $n on restart=$GANTRY_RESTART"; while [ "$n" -lt 400 ]; do n=$((n+1)); echo "$n" > "$ck"; sleep 0.05; done; echo done"#;
    let ck = submit(&mut alice, shell(script, &c.path("ck.out"))).await;
    let (ck_node, ck_pid) = until("checkpoint job running", async || {
        let n = job_field(&mut alice, ck, "nodes").await;
        let p: u32 = job_field(&mut alice, ck, "pids").await.parse().unwrap_or(0);
        (p > 0 && !n.is_empty()).then_some((n, p))
    })
    .await;
    let ck_dir = PathBuf::from(job_field(&mut alice, ck, "checkpoint_dir").await);
    until("some progress", async || {
        let n: u32 = std::fs::read_to_string(ck_dir.join("count"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        (n >= 10).then_some(())
    })
    .await;
    // Migrating a process the manager did not start is refused.
    let me = std::process::id();
    match alice
        .call(&Request::Mig {
            pid: me,
            from: ck_node.clone(),
            to: "n3".into(),
        })
        .await
        .unwrap()
    {
        // These agents report their tasks' processes only: the test process is unknown there.
        Reply::Error { code, .. } => assert_eq!(code, 404),
        r => panic!("{r:?}"),
    }
    // A process of the job that is not its main one (the script's `sleep`) is refused, naming
    // the pid to migrate instead. Each sleep lives 50 ms: one may be gone by the time it is
    // named (404); the next one is tried.
    let refusal = until("a refused migration of the job's sleep", async || {
        let child = match alice
            .call(&Request::Ps {
                user: String::new(),
            })
            .await
            .ok()?
        {
            Reply::Ps(ps) => ps
                .into_iter()
                .find(|p| p.node == ck_node && p.pid != ck_pid && p.job == ck.to_string())
                .map(|p| p.pid)?,
            _ => return None,
        };
        match alice
            .call(&Request::Mig {
                pid: child,
                from: ck_node.clone(),
                to: "n3".into(),
            })
            .await
            .ok()?
        {
            Reply::Error { code: 409, message } => Some(message),
            Reply::Error { code: 404, .. } => None,
            r => panic!("{r:?}"),
        }
    })
    .await;
    assert!(
        refusal.contains(&format!("migrate pid {ck_pid}")),
        "{refusal}"
    );
    let target = ["n1", "n2", "n3"]
        .into_iter()
        .find(|n| *n != ck_node)
        .unwrap();
    let (new_node, new_pid) = match alice
        .ok(&Request::Mig {
            pid: ck_pid,
            from: ck_node.clone(),
            to: target.into(),
        })
        .await
        .unwrap()
    {
        Reply::Migrated { node, pid } => (node, pid),
        r => panic!("{r:?}"),
    };
    assert_eq!(new_node, target);
    assert!(!alive(ck_pid), "stopped on the old node");
    until("resumed from its checkpoint", async || {
        let out = std::fs::read_to_string(c.path("ck.out")).ok()?;
        out.lines()
            .filter_map(|l| l.strip_prefix("start at "))
            .map(|l| {
                l.split(' ')
                    .next()
                    .unwrap_or("0")
                    .parse::<u32>()
                    .unwrap_or(0)
            })
            .any(|n| n >= 10)
            .then_some(())
    })
    .await;
    assert_eq!(job_field(&mut alice, ck, "nodes").await, target);
    assert_eq!(job_field(&mut alice, ck, "pids").await, new_pid.to_string());
    let _ = alice
        .call(&Request::Kil {
            pid: new_pid,
            node: target.into(),
        })
        .await;

    // Garbage gets an error and the connection stays usable.
    let e = alice.raw(b"NOPE|x\n").await.unwrap();
    assert!(e.starts_with("ERR|400|"), "{e}");
    let e = alice.raw(b"KIL|notanumber|n1\n").await.unwrap();
    assert!(e.starts_with("ERR|400|"), "{e}");
    let e = alice.raw(b"HELLO|gantry|0|old\n").await.unwrap();
    assert!(e.starts_with("ERR|400|"), "{e}");
    // An unescaped `&` cuts nothing short: the whole request is refused.
    let e = alice.raw(b"LOGIN|alice|alicepw&x\n").await.unwrap();
    assert!(e.starts_with("ERR|400|") && e.contains("ampersand"), "{e}");
    assert!(matches!(
        alice.ok(&Request::Ping).await.unwrap(),
        Reply::Pong(_)
    ));

    // Wrong passwords: one generic error.
    match CmClient::login(&c.addr, "alice", "nope").await {
        Err(ClientError::Refused { code: 401, message }) => {
            assert_eq!(message, "invalid user name or password")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("logged in with a wrong password"),
    }
    match CmClient::login(&c.addr, "mallory", "x").await {
        Err(ClientError::Refused { code: 401, message }) => {
            assert_eq!(message, "invalid user name or password")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("logged in as nobody"),
    }

    // An agent that goes silent with its connection open (stopped, not dead): the missed
    // heartbeats mark its node down; when it wakes up, the node is up again.
    let (silent, silent_pid) = (c.agents[1].0.clone(), c.agents[1].1.0.id() as i32);
    // SAFETY: signalling the agent this test started, by its pid.
    unsafe { libc::kill(silent_pid, libc::SIGSTOP) };
    until("silent agent's node down", async || {
        let n = nodes_up(&mut alice).await;
        n.iter().any(|x| x.0 == silent && !x.1).then_some(())
    })
    .await;
    // SAFETY: as above.
    unsafe { libc::kill(silent_pid, libc::SIGCONT) };
    until("woken agent's node up", async || {
        let n = nodes_up(&mut alice).await;
        n.iter().any(|x| x.0 == silent && x.1).then_some(())
    })
    .await;

    // An agent that dies: its node is marked down.
    let mut c = c;
    let (dead, p) = c.agents.remove(2);
    drop(p);
    until("dead agent's node down", async || {
        let n = nodes_up(&mut alice).await;
        n.iter().any(|x| x.0 == dead && !x.1).then_some(())
    })
    .await;
    common::kill_jobs_of(&mut alice).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sigkilled_manager_loses_no_acknowledged_job() {
    let mut c = Cluster::start(&[]);
    let mut acked = Vec::new();
    let mut alice = login(&c, "alice").await;
    let addr = c.addr.clone();
    let cm_pid = c.cm.as_ref().unwrap().0.id() as i32;
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        unsafe { libc::kill(cm_pid, libc::SIGKILL) };
    });
    for i in 0..100_000u32 {
        let spec = shell(&format!("echo {i}"), Path::new("/dev/null"));
        match alice.call(&Request::Submit(spec)).await {
            Ok(Reply::Submitted(id)) => acked.push(id),
            Ok(r) => panic!("{r:?}"),
            Err(_) => break,
        }
    }
    killer.await.unwrap();
    eprintln!(
        "{} submissions acknowledged before the SIGKILL",
        acked.len()
    );
    assert!(
        acked.len() > 5,
        "the burst got going ({} acknowledged)",
        acked.len()
    );
    drop(c.cm.take());
    c.start_cm();
    let _ = addr;
    let mut root = login(&c, "root").await;
    let listed = match root.ok(&Request::Jobs { user: "*".into() }).await.unwrap() {
        Reply::Jobs(j) => j
            .into_iter()
            .map(|j| j.id)
            .collect::<std::collections::HashSet<_>>(),
        r => panic!("{r:?}"),
    };
    for id in &acked {
        assert!(listed.contains(id), "acknowledged job {id} survived");
    }
    // Only one manager per store.
    let second = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["cm", "--listen", &format!("127.0.0.1:{}", free_port())])
        .env("GANTRY_CONFIG_DIR", c.dir.path())
        .env("GANTRY_STATE_DIR", c.dir.path())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use by another gantry cm"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_manager_rebuilds_what_runs_from_its_agents() {
    let mut c = Cluster::start(&["a1", "a2"]);
    let mut alice = login(&c, "alice").await;
    until("two nodes up", async || {
        let n = nodes_up(&mut alice).await;
        (n.len() == 2 && n.iter().all(|x| x.1)).then_some(())
    })
    .await;
    let id = submit(
        &mut alice,
        shell("sleep 3; echo finished", &c.path("r.out")),
    )
    .await;
    let pid: u32 = until("running", async || {
        let p: u32 = job_field(&mut alice, id, "pids").await.parse().unwrap_or(0);
        (p > 0).then_some(p)
    })
    .await;
    // Kill the manager outright and start it again on the same port.
    let cm_pid = c.cm.as_ref().unwrap().0.id() as i32;
    unsafe { libc::kill(cm_pid, libc::SIGKILL) };
    drop(c.cm.take());
    c.start_cm();
    let mut alice = login(&c, "alice").await;
    assert_eq!(job_field(&mut alice, id, "state").await, "running");
    until("agents back", async || {
        let n = nodes_up(&mut alice).await;
        (n.len() == 2 && n.iter().all(|x| x.1)).then_some(())
    })
    .await;
    let node = job_field(&mut alice, id, "nodes").await;
    until("REQ shows the job's process again", async || {
        match alice
            .ok(&Request::Req {
                user: String::new(),
            })
            .await
            .ok()?
        {
            Reply::ProcessList(nodes) => nodes
                .iter()
                .any(|n| n.node == node && n.procs.iter().any(|p| p.pid == pid))
                .then_some(()),
            _ => None,
        }
    })
    .await;
    // Its end, seen by the agent across the restart, reaches the new manager.
    until("the job finished", async || {
        (job_field(&mut alice, id, "state").await == "done").then_some(())
    })
    .await;
    assert_eq!(job_field(&mut alice, id, "exit").await, "0");
    common::kill_jobs_of(&mut alice).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_that_ignores_sigterm_is_killed_after_the_grace_and_migrated() {
    let c = Cluster::start_configured(&["g1", "g2"], &[], "stop_grace = 1\n");
    let mut alice = login(&c, "alice").await;
    let out = c.path("stubborn.out");
    let id = submit(
        &mut alice,
        shell(
            "trap '' TERM; echo started; while :; do sleep 0.05; done",
            &out,
        ),
    )
    .await;
    let (node, pid) = until("the stubborn job running", async || {
        let n = job_field(&mut alice, id, "nodes").await;
        let p: u32 = job_field(&mut alice, id, "pids").await.parse().unwrap_or(0);
        (p > 0 && !n.is_empty()).then_some((n, p))
    })
    .await;
    let to = if node == "g1" { "g2" } else { "g1" };
    // SIGTERM is ignored; after the one-second grace SIGKILL ends it, and it starts on `to`.
    match alice
        .ok(&Request::Mig {
            pid,
            from: node.clone(),
            to: to.into(),
        })
        .await
        .unwrap()
    {
        Reply::Migrated { node: n, pid: p } => {
            assert_eq!(n, to);
            assert!(alive(p), "restarted as {p}");
        }
        r => panic!("{r:?}"),
    }
    assert!(!alive(pid), "the old process {pid} is gone");
    until("its output shows the restart", async || {
        let text = std::fs::read_to_string(&out).ok()?;
        (text.matches("started").count() >= 2).then_some(())
    })
    .await;
    common::kill_jobs_of(&mut alice).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn input_error_environment_and_rss_limit_reach_the_real_process() {
    let c = Cluster::start(&["e1"]);
    let mut alice = login(&c, "alice").await;
    let d = c.dir.path();
    std::fs::write(d.join("in.txt"), "hello from stdin\n").unwrap();
    let mut spec = shell(
        "read line; echo \"got: $line\"; echo \"job $GANTRY_JOB_ID to stderr\" >&2",
        &d.join("io.out"),
    );
    spec.input = Some(d.join("in.txt").display().to_string());
    spec.error = Some(d.join("io.err").display().to_string());
    let io = submit(&mut alice, spec).await;
    // A shell that tries to hold ~100 MB under a 64 MB address-space limit fails.
    let mut greedy = shell(
        "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived",
        &d.join("greedy.out"),
    );
    greedy.rss_limit = 64 * 1024 * 1024;
    let greedy = submit(&mut alice, greedy).await;
    for id in [io, greedy] {
        until("the job ended", async || {
            let s = job_field(&mut alice, id, "state").await;
            matches!(s.as_str(), "done" | "failed").then_some(())
        })
        .await;
    }
    let out = std::fs::read_to_string(d.join("io.out")).unwrap();
    assert_eq!(out, "got: hello from stdin\n");
    let err = std::fs::read_to_string(d.join("io.err")).unwrap();
    assert_eq!(err, format!("job {io} to stderr\n"));
    assert_eq!(job_field(&mut alice, greedy, "state").await, "failed");
    let out = std::fs::read_to_string(d.join("greedy.out")).unwrap_or_default();
    assert!(!out.contains("survived"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn placement_spreads_tasks_waits_for_memory_and_bad_input_is_answered() {
    let c = Cluster::start(&["p1", "p2", "p3"]);
    let mut alice = login(&c, "alice").await;
    until("three nodes up", async || {
        let n = nodes_up(&mut alice).await;
        (n.len() == 3 && n.iter().all(|x| x.1)).then_some(())
    })
    .await;
    // Batch: 4 tasks at 2 per node → 2 nodes.
    let mut batch = shell("sleep 1", Path::new("/dev/null"));
    batch.class = JobClass::Batch;
    batch.total_tasks = 4;
    batch.tasks_per_node = 2;
    let b = submit(&mut alice, batch).await;
    let nodes = until("batch started", async || {
        let n = job_field(&mut alice, b, "nodes").await;
        let pids = job_field(&mut alice, b, "pids").await;
        (pids
            .split(',')
            .filter(|p| !p.is_empty() && *p != "0")
            .count()
            == 4)
            .then_some(n)
    })
    .await;
    assert_eq!(nodes.split(',').count(), 2, "{nodes}");
    // More memory than any node has: it waits.
    let mut big = shell("true", Path::new("/dev/null"));
    big.memory = 1 << 60;
    let g = submit(&mut alice, big).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(job_field(&mut alice, g, "state").await, "queued");
    until("batch done", async || {
        (job_field(&mut alice, b, "state").await == "done").then_some(())
    })
    .await;

    // An over-long line: 413, and the connection still answers.
    let mut long = vec![b'x'; 70 * 1024];
    long.push(b'\n');
    let e = alice.raw(&long).await.unwrap();
    assert!(e.starts_with("ERR|413|"), "{e}");
    assert!(matches!(
        alice.ok(&Request::Ping).await.unwrap(),
        Reply::Pong(_)
    ));
    // Not logged in: KCMS requests need a session unless the legacy option is on.
    let mut anon = CmClient::connect(&c.addr).await.unwrap();
    match anon
        .call(&Request::Req {
            user: "root".into(),
        })
        .await
        .unwrap()
    {
        Reply::Error { code: 401, .. } => {}
        r => panic!("{r:?}"),
    }
    // Wrong passwords are rate-limited.
    let mut last = None;
    for _ in 0..7 {
        last = Some(CmClient::login(&c.addr, "bob", "wrong").await.err());
    }
    match last.flatten() {
        Some(ClientError::Refused { code: 429, message }) => {
            assert!(message.starts_with("too many login attempts"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // A non-admin may not list everyone's jobs.
    match alice
        .call(&Request::Jobs { user: "*".into() })
        .await
        .unwrap()
    {
        Reply::Error { code: 403, .. } => {}
        r => panic!("{r:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_legacy_option_accepts_kcms_requests_without_a_login() {
    let c = Cluster::start_with(&["l1"], &["--legacy-unauthenticated"]);
    let mut alice = login(&c, "alice").await;
    until("node up", async || {
        nodes_up(&mut alice).await.iter().any(|n| n.1).then_some(())
    })
    .await;
    let id = submit(&mut alice, shell("sleep 30", Path::new("/dev/null"))).await;
    let pid: u32 = until("running", async || {
        let p: u32 = job_field(&mut alice, id, "pids").await.parse().unwrap_or(0);
        (p > 0).then_some(p)
    })
    .await;
    // A KCMS client: no HELLO, no LOGIN, the three requests byte for byte.
    let mut kcms = CmClient::connect(&c.addr).await.unwrap();
    let listed = until("REQ lists it", async || {
        let l = kcms.raw(b"REQ|root\n").await.ok()?;
        l.contains(&format!("|{pid}|sh|0&")).then_some(l)
    })
    .await;
    assert!(listed.starts_with("l1|"), "{listed}");
    let killed = kcms
        .raw(format!("KIL|{pid}|l1\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(killed, format!("OK|KIL|l1|{pid}"));
    // Everything else still needs a session.
    let e = kcms.raw(b"JOBS|\n").await.unwrap();
    assert!(e.starts_with("ERR|401|"), "{e}");
    until("killed", async || {
        (job_field(&mut alice, id, "state").await == "killed").then_some(())
    })
    .await;
}
