//! The elastic rule on a real `gantry cm`: no agent at first, jobs wait past the rule's time,
//! and the manager runs the site's provisioning command, which starts a real agent; the node
//! joins and takes the jobs. The command's run is shown (`QUEUE`: its exit and output), a
//! failing one is reported, and in dry-run nothing is run at all.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use gantry::cm::client::CmClient;
use gantry::cm::job::{JobClass, JobSpec};
use gantry::cm::proto::{Reply, Request};
use gantry::queue::QueueReport;

fn config(dir: &Path, provision: &str, dry_run: bool, more: &str) {
    let h = bcrypt::hash("alicepw", 4)
        .unwrap_or_default()
        .replacen("$2b$", "$2y$", 1);
    let hb = bcrypt::hash("bobpw", 4)
        .unwrap_or_default()
        .replacen("$2b$", "$2y$", 1);
    std::fs::write(dir.join("users.htpasswd"), format!("alice:{h}\nbob:{hb}\n"))
        .expect("users file");
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[cm]\naccounts = {{ alice = \"root\" }}\nroot_users = [\"alice\"]\nadmins = [\"alice\"]\n\
queue_wait = 2\nqueue_idle = 30\nqueue_every = 1\nelastic_min_interval = 3\n\
elastic_dry_run = {dry_run}\nprovision_command = {provision:?}\n{more}"
        ),
    )
    .expect("config file");
}

fn job(name: &str) -> JobSpec {
    JobSpec {
        name: name.into(),
        exec: "/bin/sh".into(),
        args: vec!["-c".into(), "sleep 1".into()],
        class: JobClass::Single,
        output: Some("/dev/null".into()),
        tasks_per_node: 1,
        total_tasks: 1,
        ..JobSpec::default()
    }
}

async fn queue(c: &mut CmClient) -> QueueReport {
    match c.call(&Request::Queue).await {
        Ok(Reply::Queue(q)) => *q,
        r => panic!("QUEUE: {r:?}"),
    }
}

async fn until<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>, log: &Path) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {secs} s; manager said:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// alice submits a job no node can take, and the queue's first elastic action comes.
async fn first_action(cm: &common::CmProc, d: &Path) -> (CmClient, QueueReport) {
    let mut alice = CmClient::login(&cm.plain, "alice", "alicepw")
        .await
        .expect("login");
    match alice.call(&Request::Submit(job("waits"))).await {
        Ok(Reply::Submitted(_)) => {}
        r => panic!("{r:?}"),
    }
    let q = until(
        "a provisioning action",
        60,
        async || {
            let q = queue(&mut alice).await;
            (!q.actions.is_empty()).then_some(q)
        },
        &d.join("gantry.log"),
    )
    .await;
    (alice, q)
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_jobs_make_the_manager_provision_a_node_that_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pidfile = d.join("agent.pid");
    // The site's script: start one agent, whatever the count (its pid kept for the test).
    let script = d.join("provision.sh");
    let cm_addr = d.join("cm.addr");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"asked for $GANTRY_COUNT nodes\"\n\
GANTRY_CONFIG_DIR={d} GANTRY_STATE_DIR={d} {bin} agent --name n1 --cm \"$(cat {addr})\" --scope tasks \
</dev/null >>{d}/agent.log 2>&1 &\necho $! > {pid}\necho started n1\n",
            d = d.display(),
            bin = env!("CARGO_BIN_EXE_gantry"),
            addr = cm_addr.display(),
            pid = pidfile.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    config(d, &script.display().to_string(), false, "");
    // The manager learns its own TLS address only once it listens: the script reads it then.
    let cm = common::start_cm(d, &[]);
    std::fs::write(&cm_addr, &cm.tls).unwrap();
    // Enrolled ahead, as a site's image would carry its certificate.
    common::enroll(d, "n1");
    let _agent = KillByPidFile(pidfile.clone());
    let mut alice = CmClient::login(&cm.plain, "alice", "alicepw")
        .await
        .expect("login");
    let log = d.join("gantry.log");
    let mut ids = Vec::new();
    for i in 0..3 {
        match alice.call(&Request::Submit(job(&format!("j{i}")))).await {
            Ok(Reply::Submitted(id)) => ids.push(id),
            r => panic!("{r:?}"),
        }
    }
    // Past the wait: the manager needs nodes, runs the command, and shows it.
    let q = until(
        "a provisioning run",
        60,
        async || {
            let q = queue(&mut alice).await;
            q.actions.iter().any(|a| a.what == "provision").then_some(q)
        },
        &log,
    )
    .await;
    assert_eq!(q.acts, "commands");
    let a = q.actions.iter().find(|a| a.what == "provision").unwrap();
    assert!(
        !a.dry_run && a.exit == Some(0) && a.error.is_none(),
        "{a:?}"
    );
    assert!(a.count >= 1 && a.output.contains("started n1"), "{a:?}");
    // The node it brought takes the jobs.
    until(
        "the jobs done on n1",
        90,
        async || match alice
            .call(&Request::Jobs {
                user: String::new(),
            })
            .await
        {
            Ok(Reply::Jobs(js)) => js
                .iter()
                .filter(|j| ids.contains(&j.id))
                .all(|j| j.state == "done" && j.nodes == "n1")
                .then_some(()),
            _ => None,
        },
        &log,
    )
    .await;
    let q = queue(&mut alice).await;
    assert_eq!(
        (q.pressure.pending, q.pressure.needs_nodes),
        (0, 0),
        "{q:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_runs_nothing_and_a_failing_command_is_reported() {
    for dry in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let marker = d.join("ran");
        let cmd = format!("touch {}; echo no cloud here >&2; exit 7", marker.display());
        config(d, &cmd, dry, "");
        let cm = common::start_cm(d, &[]);
        let (_alice, q) = first_action(&cm, d).await;
        let a = &q.actions[0];
        assert_eq!(a.dry_run, dry, "{a:?}");
        if dry {
            assert!(!marker.exists(), "a dry run runs nothing");
            assert!(a.error.is_none() && a.exit.is_none(), "{a:?}");
        } else {
            assert!(marker.exists());
            assert_eq!(a.exit, Some(7), "{a:?}");
            let e = a.error.as_deref().unwrap_or_default();
            assert!(
                e.contains("exit status: 7") && e.contains("no cloud here"),
                "{e}"
            );
            // Who is not an administrator learns that it failed, not what it printed.
            let mut bob = CmClient::login(&cm.plain, "bob", "bobpw")
                .await
                .expect("bob logs in");
            let q = queue(&mut bob).await;
            let b = &q.actions[0];
            assert!(b.output.is_empty(), "{b:?}");
            assert_eq!(b.error.as_deref(), Some("the command failed (exit 7)"));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_past_its_time_is_killed_with_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (shell, child) = (d.join("sh.pid"), d.join("child.pid"));
    // A cloud client that hangs: the script waits on a child of its own.
    let cmd = format!(
        "echo $$ > {}; sleep 300 & echo $! > {}; wait",
        shell.display(),
        child.display()
    );
    config(d, &cmd, false, "elastic_timeout = 1\n");
    let cm = common::start_cm(d, &[]);
    let _kill = (KillByPidFile(shell.clone()), KillByPidFile(child.clone()));
    let (mut alice, q) = first_action(&cm, d).await;
    let log = d.join("gantry.log");
    let a = &q.actions[0];
    let e = a.error.as_deref().unwrap_or_default();
    assert!(e.contains("took more than 1 s; killed"), "{a:?}");
    // The script and the child it started are both gone.
    let pid = |f: &Path| -> u32 {
        std::fs::read_to_string(f)
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{} not written", f.display()))
    };
    let alive = |p: u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| !s.contains(") Z"))
    };
    let (sh, sleep) = (pid(&shell), pid(&child));
    until(
        "the command and its child killed",
        20,
        async || (!alive(sh) && !alive(sleep)).then_some(()),
        &log,
    )
    .await;
    // The manager goes on: it still answers.
    assert!(queue(&mut alice).await.pressure.pending >= 1);
}

/// Kills the agent the provisioning script started, by the pid it kept.
struct KillByPidFile(std::path::PathBuf);

impl Drop for KillByPidFile {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            .filter(|p| *p > 1)
        {
            // SAFETY: the pid of the agent this test's script started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}
