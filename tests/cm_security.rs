//! Job control against the users it serves: a real `gantry cm` and real agents running as root
//! (as a site runs them), real Unix users made by the test. Every attack from the job-control
//! security issue is tried, and each test asserts the refusal and that nothing was read,
//! written, run or killed that the user could not have done as themselves.

mod common;

use common::Proc;
use common::unix_users::{UnixGroup, UnixUser, can_create};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gantry::cm::client::CmClient;
use gantry::cm::job::{JobClass, JobSpec};
use gantry::cm::proto::{Reply, Request};

const AGENT_SECRET: &str = "agent-secret-for-the-security-test-4711";

/// A manager, agents and the users of one test.
struct Site {
    dir: tempfile::TempDir,
    addr: String,
    alice: UnixUser,
    bob: UnixUser,
    group: UnixGroup,
    _cm: Proc,
    _agents: Vec<Proc>,
}

fn gantry(dir: &Path, args: &[&str]) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{}.stderr", args[0])))
        .unwrap();
    Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(args)
            .env("GANTRY_CONFIG_DIR", dir)
            .env("GANTRY_STATE_DIR", dir)
            // The agent's secret sits in its environment: no job may see it.
            .env("GANTRY_CM_SECRET", AGENT_SECRET)
            .stdout(if args[0] == "cm" {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::from(log))
            .spawn()
            .expect("gantry starts"),
    )
}

fn users_file(dir: &Path) {
    let mut users = String::new();
    for u in ["root", "alice", "bob", "mallory"] {
        let h = bcrypt::hash(format!("{u}pw"), 4).unwrap();
        users.push_str(&format!("{u}:{h}\n"));
    }
    std::fs::write(dir.join("users.htpasswd"), users).unwrap();
}

/// Starts `gantry cm`: the process and its plain-text loopback address (for the test's
/// clients) and TLS address (for agents).
fn start_cm(dir: &Path, extra: &[&str]) -> (Proc, String, String) {
    let mut args = vec!["--heartbeat", "1"];
    args.extend_from_slice(extra);
    let cm = common::start_cm(dir, &args);
    (cm.proc, cm.plain, cm.tls)
}

/// A site, or `None` (the test skips) where users cannot be made.
fn site(tag: &str, nodes: &[&str], scope: &str, cm_extra: &[&str]) -> Option<Site> {
    if let Err(why) = can_create() {
        common::skip(&why);
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    // Users pass through the test's directory to their homes, and see nothing else in it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let homes = dir.path().join("homes");
    std::fs::create_dir(&homes).unwrap();
    std::fs::set_permissions(&homes, std::fs::Permissions::from_mode(0o755)).unwrap();
    let group = UnixGroup::create(&format!("{tag}g"));
    let alice = UnixUser::create(&format!("{tag}a"), &homes, &[&group.name]);
    let bob = UnixUser::create(&format!("{tag}b"), &homes, &[]);
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[cm]\naccounts = {{ alice = \"{}\", bob = \"{}\" }}\nmax_tasks_per_node = 8\n",
            alice.name, bob.name
        ),
    )
    .unwrap();
    users_file(dir.path());
    let (cm, addr, tls) = start_cm(dir.path(), cm_extra);
    let agents = nodes
        .iter()
        .map(|n| {
            common::enroll(dir.path(), n);
            gantry(
                dir.path(),
                &["agent", "--name", n, "--cm", &tls, "--scope", scope],
            )
        })
        .collect();
    Some(Site {
        dir,
        addr,
        alice,
        bob,
        group,
        _cm: cm,
        _agents: agents,
    })
}

impl Site {
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    async fn login(&self, user: &str) -> CmClient {
        CmClient::login(&self.addr, user, &format!("{user}pw"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "login {user}: {e}; {}",
                    std::fs::read_to_string(self.path("cm.stderr")).unwrap_or_default()
                )
            })
    }

    async fn nodes_up(&self, n: usize) {
        let mut c = self.login("alice").await;
        until("nodes up", async || {
            match c.ok(&Request::Nodes).await.ok()? {
                Reply::Nodes(v) => (v.iter().filter(|x| x.up).count() >= n).then_some(()),
                _ => None,
            }
        })
        .await;
    }
}

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

fn job(exec: &str, args: &[&str]) -> JobSpec {
    JobSpec {
        name: "t".into(),
        exec: exec.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        class: JobClass::Single,
        tasks_per_node: 1,
        total_tasks: 1,
        ..JobSpec::default()
    }
}

async fn submit(c: &mut CmClient, spec: JobSpec) -> Result<u64, (u16, String)> {
    match c.call(&Request::Submit(spec)).await.unwrap() {
        Reply::Submitted(id) => Ok(id),
        Reply::Error { code, message } => Err((code, message)),
        r => panic!("{r:?}"),
    }
}

async fn field(c: &mut CmClient, id: u64, key: &str) -> String {
    match c.ok(&Request::Job { id }).await.unwrap() {
        Reply::Job(kv) => kv
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or_default(),
        r => panic!("{r:?}"),
    }
}

/// Waits for the job to end; its state and reason.
async fn ended(c: &mut CmClient, id: u64) -> (String, String) {
    until("the job ends", async || {
        let s = field(c, id, "state").await;
        matches!(s.as_str(), "done" | "failed" | "killed" | "lost").then_some(())
    })
    .await;
    (field(c, id, "state").await, field(c, id, "reason").await)
}

async fn tail(c: &mut CmClient, id: u64, stream: &str) -> Result<String, String> {
    match c
        .call(&Request::Tail {
            id,
            stream: stream.into(),
            offset: 0,
            max: 65536,
        })
        .await
        .unwrap()
    {
        Reply::Tail { data, .. } => Ok(data),
        Reply::Error { code, message } => Err(format!("{code} {message}")),
        r => panic!("{r:?}"),
    }
}

fn mkfifo_owned(path: &Path, uid: u32, gid: u32) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo");
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

fn status_ids(pid: u32, key: &str) -> Vec<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_run_as_the_users_own_account_and_strangers_run_nothing() {
    let Some(s) = site("acct", &["n1"], "tasks", &[]) else {
        return;
    };
    s.nodes_up(1).await;
    let mut alice = s.login("alice").await;
    let home = s.alice.home.display().to_string();

    // A long-running job: the real process's credentials, from the kernel.
    let id = submit(&mut alice, job("/bin/sleep", &["30"]))
        .await
        .unwrap();
    let pid: u32 = until("running", async || {
        let p: u32 = field(&mut alice, id, "pids").await.parse().unwrap_or(0);
        (p > 0).then_some(p)
    })
    .await;
    let (uid, gid) = (s.alice.uid, s.alice.gid);
    assert_eq!(
        status_ids(pid, "Uid:"),
        vec![uid; 4],
        "real, effective, saved, fs"
    );
    assert_eq!(status_ids(pid, "Gid:"), vec![gid; 4]);
    let mut groups = status_ids(pid, "Groups:");
    groups.sort();
    let mut want = vec![gid, s.group.gid];
    want.sort();
    assert_eq!(groups, want, "exactly the account's groups, none of root's");
    alice
        .ok(&Request::Kil {
            pid,
            node: "n1".into(),
        })
        .await
        .unwrap();

    // What the job sees: its own identity, its home as base directory, none of the agent's
    // environment (where the agent's secret is); no output file: the spool keeps it.
    let id = submit(&mut alice, job("/bin/sh", &["-c", "id -u; pwd; env"]))
        .await
        .unwrap();
    assert_eq!(ended(&mut alice, id).await.0, "done");
    let out = tail(&mut alice, id, "out").await.unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(uid.to_string().as_str()), "{out}");
    assert_eq!(lines.next(), Some(home.as_str()), "{out}");
    assert!(
        !out.contains(AGENT_SECRET),
        "the job saw the agent's secret:\n{out}"
    );
    assert!(out.contains(&format!("USER={}", s.alice.name)), "{out}");
    assert!(out.contains("GANTRY_JOB_ID="), "{out}");
    // A long output is read through the agent in pieces as large as asked.
    let id = submit(
        &mut alice,
        job("/bin/sh", &["-c", "head -c 100000 /dev/zero | tr '\\0' x"]),
    )
    .await
    .unwrap();
    assert_eq!(ended(&mut alice, id).await.0, "done");
    let long = tail(&mut alice, id, "out").await.unwrap();
    assert_eq!(long.len(), 65536, "{}", &long[..long.len().min(80)]);
    assert!(long.bytes().all(|b| b == b'x'));
    // Spooled output belongs to its owner: bob may not read it.
    let mut bob = s.login("bob").await;
    let e = tail(&mut bob, id, "out").await.unwrap_err();
    assert!(e.starts_with("403"), "{e}");

    // A manager user without a Unix account may watch, not run.
    let mut mallory = s.login("mallory").await;
    let (code, why) = submit(&mut mallory, job("/usr/bin/id", &[]))
        .await
        .unwrap_err();
    assert_eq!(code, 403, "{why}");
    assert!(why.contains("has no Unix account"), "{why}");
    assert!(mallory.ok(&Request::Nodes).await.is_ok());
    // root's jobs would run as root: not unless the configuration says so.
    let mut root = s.login("root").await;
    let (code, why) = submit(&mut root, job("/usr/bin/id", &[]))
        .await
        .unwrap_err();
    assert_eq!(code, 403, "{why}");
    assert!(why.contains("would run as root"), "{why}");
    // Nothing ran for either: alice's two jobs are all the manager knows.
    match root.ok(&Request::Jobs { user: "*".into() }).await.unwrap() {
        Reply::Jobs(j) => assert_eq!(j.len(), 3, "{j:?}"),
        r => panic!("{r:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn files_are_opened_as_the_user_and_tail_reads_only_what_the_user_could() {
    let Some(s) = site("file", &["n1"], "tasks", &[]) else {
        return;
    };
    s.nodes_up(1).await;
    let mut alice = s.login("alice").await;
    // A root-only file and one of bob's, with contents that must survive.
    let root_only = s.path("root-only.txt");
    std::fs::write(&root_only, "root's\n").unwrap();
    std::fs::set_permissions(&root_only, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bobs = s.bob.home.join("notes.txt");
    s.bob.write_file(&bobs, "bob's\n");
    // The manager's own secret beside its store (this manager has it from its environment).
    let secret = s.path("cm/cm.secret");
    std::fs::write(&secret, AGENT_SECRET).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();

    let cases: Vec<(&str, JobSpec, String)> = vec![
        (
            "the shadow file as input",
            JobSpec {
                input: Some("/etc/shadow".into()),
                output: Some("copy".into()),
                ..job("/bin/cat", &[])
            },
            "input file /etc/shadow: Permission denied".into(),
        ),
        (
            "a relative path out of the base directory",
            JobSpec {
                input: Some("../../../../../../../../etc/shadow".into()),
                output: Some("copy2".into()),
                ..job("/bin/cat", &[])
            },
            "Permission denied".into(),
        ),
        (
            "a root-only file as output",
            JobSpec {
                output: Some(root_only.display().to_string()),
                ..job("/bin/echo", &["overwritten"])
            },
            format!("output file {}: Permission denied", root_only.display()),
        ),
        (
            "another user's file as error log",
            JobSpec {
                error: Some(bobs.display().to_string()),
                ..job("/bin/echo", &["overwritten"])
            },
            format!("error file {}: Permission denied", bobs.display()),
        ),
        (
            "a base directory the user may not enter",
            JobSpec {
                dir: Some(s.bob.home.display().to_string()),
                ..job("/bin/ls", &[])
            },
            format!("base directory {}: Permission denied", s.bob.home.display()),
        ),
    ];
    // A FIFO nobody reads: the job fails at once instead of hanging the agent.
    let fifo = s.alice.home.join("fifo");
    mkfifo_owned(&fifo, s.alice.uid, s.alice.gid);
    let mut cases = cases;
    cases.push((
        "a FIFO nobody reads as output",
        JobSpec {
            output: Some(fifo.display().to_string()),
            ..job("/bin/echo", &["x"])
        },
        format!("output file {}: No such device or address", fifo.display()),
    ));
    for (what, spec, want) in cases {
        let id = submit(&mut alice, spec).await.unwrap();
        let (state, reason) = ended(&mut alice, id).await;
        assert_eq!(state, "failed", "{what}: {reason}");
        assert!(reason.contains(&want), "{what}: {reason:?} lacks {want:?}");
    }
    assert_eq!(std::fs::read_to_string(&root_only).unwrap(), "root's\n");
    assert_eq!(std::fs::read_to_string(&bobs).unwrap(), "bob's\n");
    assert!(
        !s.alice.home.join("copy").exists() || {
            std::fs::read_to_string(s.alice.home.join("copy"))
                .unwrap()
                .is_empty()
        }
    );

    // TAIL of a job whose output names the shadow file, the manager's secret, or bob's file:
    // read as alice, so refused by the kernel — never read by the manager.
    for path in [
        "/etc/shadow".to_string(),
        secret.display().to_string(),
        bobs.display().to_string(),
    ] {
        let id = submit(
            &mut alice,
            JobSpec {
                output: Some(path.clone()),
                ..job("/bin/true", &[])
            },
        )
        .await
        .unwrap();
        ended(&mut alice, id).await;
        let e = tail(&mut alice, id, "out").await.unwrap_err();
        assert!(e.contains("Permission denied"), "{path}: {e}");
        assert!(!e.contains(AGENT_SECRET) && !e.contains("root:"), "{e}");
    }
    let shadow_before = std::fs::read("/etc/shadow").unwrap();
    assert_eq!(std::fs::read("/etc/shadow").unwrap(), shadow_before);

    // A job that cannot start says why, instead of a bare 127.
    let id = submit(&mut alice, job("/no/such/program", &[]))
        .await
        .unwrap();
    let (state, reason) = ended(&mut alice, id).await;
    assert_eq!(state, "failed");
    assert!(
        reason.contains("cannot execute /no/such/program: No such file or directory"),
        "{reason}"
    );
    let id = submit(&mut alice, job(&root_only.display().to_string(), &[]))
        .await
        .unwrap();
    let (_, reason) = ended(&mut alice, id).await;
    assert!(reason.contains("Permission denied"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_reach_only_what_the_caller_could_signal_on_the_node() {
    let Some(s) = site("sig", &["m1"], "machine", &["--legacy-unauthenticated"]) else {
        return;
    };
    s.nodes_up(1).await;
    let as_user = |u: &UnixUser| {
        Proc(
            Command::new("setpriv")
                .args([
                    &format!("--reuid={}", u.uid),
                    &format!("--regid={}", u.gid),
                    "--init-groups",
                    "sleep",
                    "60",
                ])
                .spawn()
                .unwrap(),
        )
    };
    let bobs = as_user(&s.bob);
    let alices = as_user(&s.alice);
    let roots = Proc(Command::new("sleep").arg("60").spawn().unwrap());
    let mut alice = s.login("alice").await;
    let mut root = s.login("root").await;
    // Wait until the agent has reported them.
    let want = [bobs.0.id(), alices.0.id(), roots.0.id()];
    until("processes reported", async || {
        match root.ok(&Request::Ps { user: "*".into() }).await.ok()? {
            Reply::Ps(p) => want
                .iter()
                .all(|w| p.iter().any(|x| x.pid == *w))
                .then_some(()),
            _ => None,
        }
    })
    .await;
    let kil = |pid: u32| Request::Kil {
        pid,
        node: "m1".into(),
    };
    // alice may not kill bob's process; root (an administrator, not allowed to act as root)
    // may not kill a root process that is no job; a login-less KCMS request neither.
    let e = alice.call(&kil(bobs.0.id())).await.unwrap();
    assert!(matches!(e, Reply::Error { code: 403, .. }), "{e:?}");
    let e = root.call(&kil(roots.0.id())).await.unwrap();
    assert!(matches!(e, Reply::Error { code: 403, .. }), "{e:?}");
    let mut kcms = CmClient::connect(&s.addr).await.unwrap();
    let e = kcms
        .raw(format!("KIL|{}|m1\n", roots.0.id()).as_bytes())
        .await
        .unwrap();
    assert!(e.starts_with("ERR|403|"), "{e}");
    // A login-less REQ lists no process that is not a job.
    let listed = kcms.raw(b"REQ|root\n").await.unwrap();
    assert!(
        !listed.contains(&format!("|{}|sleep|", roots.0.id())),
        "{listed}"
    );
    std::thread::sleep(Duration::from_millis(300));
    for p in [&bobs, &roots] {
        assert!(
            std::fs::read_to_string(format!("/proc/{}/stat", p.0.id()))
                .is_ok_and(|s| !s.contains(") Z")),
            "a process the caller could not signal was killed"
        );
    }
    // alice's own process is hers to kill, as on the node.
    alice.ok(&kil(alices.0.id())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_and_task_caps_are_clear_refusals() {
    let Some(s) = site("ro", &["r1"], "tasks", &["--read-only"]) else {
        return;
    };
    let mut alice = s.login("alice").await;
    let (code, why) = submit(&mut alice, job("/bin/true", &[])).await.unwrap_err();
    assert_eq!(code, 409, "{why}");
    assert!(why.contains("read-only"), "{why}");
    drop(s);
    let Some(s) = site("cap", &["c1"], "tasks", &[]) else {
        return;
    };
    let mut alice = s.login("alice").await;
    let (code, why) = submit(
        &mut alice,
        JobSpec {
            class: JobClass::Batch,
            total_tasks: 100,
            tasks_per_node: 100,
            ..job("/bin/true", &[])
        },
    )
    .await
    .unwrap_err();
    assert_eq!(code, 413, "{why}");
    assert!(why.contains("max_tasks_per_node"), "{why}");
    // A raised priority is for administrators.
    let (code, why) = submit(
        &mut alice,
        JobSpec {
            priority: 10,
            ..job("/bin/true", &[])
        },
    )
    .await
    .unwrap_err();
    assert_eq!(code, 403, "{why}");
    // Cancelling: a queued job (it never fits) never starts; only its owner may cancel it; a
    // running one is stopped and ends killed.
    s.nodes_up(1).await;
    let queued = submit(
        &mut alice,
        JobSpec {
            memory: 1 << 60,
            ..job("/bin/true", &[])
        },
    )
    .await
    .unwrap();
    let mut bob = s.login("bob").await;
    let r = bob.call(&Request::Cancel { id: queued }).await.unwrap();
    assert!(matches!(r, Reply::Error { code: 403, .. }), "{r:?}");
    alice.ok(&Request::Cancel { id: queued }).await.unwrap();
    let (state, reason) = ended(&mut alice, queued).await;
    assert_eq!(state, "killed");
    assert!(reason.contains("before it started"), "{reason}");
    let running = submit(&mut alice, job("/bin/sleep", &["60"]))
        .await
        .unwrap();
    let pid: u32 = until("running", async || {
        let p: u32 = field(&mut alice, running, "pids")
            .await
            .parse()
            .unwrap_or(0);
        (p > 0).then_some(p)
    })
    .await;
    alice.ok(&Request::Cancel { id: running }).await.unwrap();
    assert_eq!(ended(&mut alice, running).await.0, "killed");
    assert!(
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z")),
        "the cancelled job's process is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_guessing_is_limited_like_sequential_guessing() {
    let dir = tempfile::tempdir().unwrap();
    users_file(dir.path());
    let (_cm, addr, _) = start_cm(dir.path(), &[]);
    // 30 wrong passwords at once, from 127.0.0.1.
    let mut tries = Vec::new();
    for _ in 0..30 {
        let addr = addr.clone();
        tries.push(tokio::spawn(async move {
            let mut c = CmClient::connect(&addr).await.unwrap();
            match c
                .call(&Request::Login {
                    user: "alice".into(),
                    password: "guess".into(),
                })
                .await
                .unwrap()
            {
                Reply::Error { code, .. } => code,
                r => panic!("{r:?}"),
            }
        }));
    }
    let mut codes = Vec::new();
    for t in tries {
        codes.push(t.await.unwrap());
    }
    let checked = codes.iter().filter(|c| **c == 401).count();
    let limited = codes.iter().filter(|c| **c == 429).count();
    assert!(checked <= 5, "{checked} passwords were checked: {codes:?}");
    assert_eq!(checked + limited, 30, "{codes:?}");
    // The right password from elsewhere is not locked out; from here it waits.
    let from = |ip: &str| {
        let (ip, addr) = (ip.to_string(), addr.clone());
        async move {
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            sock.bind(format!("{ip}:0").parse().unwrap()).unwrap();
            let stream = sock.connect(addr.parse().unwrap()).await.unwrap();
            let mut c = CmClient::from_stream(stream, &addr);
            c.call(&Request::Login {
                user: "alice".into(),
                password: "alicepw".into(),
            })
            .await
            .unwrap()
        }
    };
    let r = from("127.0.0.2").await;
    assert!(matches!(r, Reply::LoggedIn { .. }), "{r:?}");
    let r = from("127.0.0.1").await;
    assert!(matches!(r, Reply::Error { code: 429, .. }), "{r:?}");
    // Another user from the guessing address is not locked out either.
    let r = CmClient::login(&addr, "bob", "bobpw").await;
    assert!(r.is_ok(), "{:?}", r.err());
}

#[test]
fn the_store_lock_and_damaged_files_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    users_file(dir.path());
    let start = |d: &Path| {
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["cm", "--listen", "127.0.0.1:0"])
            .env("GANTRY_CONFIG_DIR", d)
            .env("GANTRY_STATE_DIR", d)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, _, _) = start_cm(dir.path(), &[]);
    // Deleting the pid file beside the store does not let a second manager in.
    let _ = std::fs::remove_file(dir.path().join("cm/cm.pid"));
    let _ = std::fs::remove_file(dir.path().join("cm/cm.lock"));
    let out = start(dir.path()).wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another gantry cm"), "{err}");
    // The store, the secret and the log are the manager's alone.
    for f in [
        "cm/jobs.sqlite",
        "cm/tls/ca.key",
        "cm/tls/cm.key",
        "gantry.log",
    ] {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{f} is {mode:o}");
    }
    drop(first);

    // A zero-byte store is refused, naming the file; nothing replaces it.
    let d2 = tempfile::tempdir().unwrap();
    users_file(d2.path());
    std::fs::create_dir(d2.path().join("cm")).unwrap();
    std::fs::write(d2.path().join("cm/jobs.sqlite"), b"").unwrap();
    let out = start(d2.path()).wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("jobs.sqlite: the file is empty"), "{err}");
    assert_eq!(
        std::fs::metadata(d2.path().join("cm/jobs.sqlite"))
            .unwrap()
            .len(),
        0
    );

    // A users file cut in the middle of a hash is refused with its line.
    let d3 = tempfile::tempdir().unwrap();
    let h = bcrypt::hash("x", 4).unwrap();
    std::fs::write(
        d3.path().join("users.htpasswd"),
        format!("alice:{h}\nbob:{}\n", &h[..30]),
    )
    .unwrap();
    let out = start(d3.path()).wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("users.htpasswd:2:"), "{err}");
}
