//! The Slurm backend through slurmrestd (`transport = "rest"`) against a real slurmctld, slurmd
//! "nodes" and slurmrestd on 127.0.0.1 (Debian's 22.05 packages, JWT as the second
//! authentication): the poll, a submission, cancel, one array task cancelled while the others
//! run, a signal reaching the batch shell's trap, what the API lacks done by the commands, a
//! missing token asked for at login, and a controller outage shown then gone — the tests of
//! slurm_real.rs, where the API allows. The links that must not fall back are given an empty
//! command directory, so only slurmrestd can have answered. Skipped, with the reason, where
//! slurmrestd or the JWT plugin is not installed.

mod common;

use common::slurm_link::{
    Rx, cancelled, ended_cancelled, sbatch, squeue_states, state_of, view, wait,
};

use std::time::{Duration, Instant};

use common::slurm::{Shape, SlurmCluster, rest_skip_reason};
use gantry::cm::job::{JobSpec, Signal};
use gantry::jobs::{JobCommand, JobEvent, LinkState};
use gantry::slurm::act::{SlurmAct, SlurmCommand};
use gantry::slurm::link::{Runner, spawn};
use gantry::slurm::rest::{Rest, RestConfig};
use gantry::slurm::view::Controller;

/// A cluster with slurmrestd, a REST link polling it every second, and a runner for the
/// test's own checks with the commands.
struct Setup {
    cluster: SlurmCluster,
    link: gantry::jobs::link::LinkHandle,
    rx: Rx,
    cli: Runner,
}

/// How the REST link is made.
#[derive(Clone, Copy, PartialEq)]
enum Link {
    /// No command-line tools at all: only slurmrestd can answer.
    RestOnly,
    /// The commands too, for what the API lacks.
    WithCommands,
    /// No token file (and none in the keyring for this URL).
    NoToken,
}

fn setup(shape: Shape, how: Link) -> Option<Setup> {
    if let Some(why) = rest_skip_reason() {
        common::skip(&why);
        return None;
    }
    let cluster = match SlurmCluster::start_rest(shape) {
        Ok(c) => c,
        Err(e) => panic!("the Slurm test cluster with slurmrestd did not start: {e}"),
    };
    let Some(rest) = cluster.rest.as_ref() else {
        panic!("no slurmrestd");
    };
    let nobin = cluster.dir.path().join("no-commands");
    std::fs::create_dir_all(&nobin).unwrap();
    let bin_dir = match how {
        Link::WithCommands => None,
        _ => Some(nobin.display().to_string()),
    };
    let rest_cfg = RestConfig {
        url: rest.url.clone(),
        token_file: (how != Link::NoToken).then(|| rest.token_file.display().to_string()),
        user: "root".into(),
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = common::slurm_link::slurm_manager(
        Some(cluster.conf_str()),
        bin_dir.clone(),
        Some(rest_cfg.clone()),
    );
    let runner = Runner::new(Some(cluster.conf_str()), bin_dir).with_rest(Rest::new(rest_cfg));
    let link = spawn(cfg, runner, Duration::from_secs(1), tx);
    let cli = Runner::new(Some(cluster.conf_str()), None);
    Some(Setup {
        cluster,
        link,
        rx,
        cli,
    })
}

async fn act(s: &mut Setup, jobs: &[&str], act: SlurmAct) -> Vec<(String, Result<String, String>)> {
    s.link.send(JobCommand::Slurm(SlurmCommand {
        jobs: jobs.iter().map(|j| j.to_string()).collect(),
        act,
    }));
    wait(&mut s.rx, "the action's outcome", 60, |e| match e {
        JobEvent::SlurmDone { outcomes, .. } => Some(outcomes.clone()),
        _ => None,
    })
    .await
}

fn job(name: &str, script: &str, out: String) -> JobSpec {
    JobSpec {
        name: name.into(),
        exec: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        output: Some(out),
        tasks_per_node: 1,
        total_tasks: 1,
        ..JobSpec::default()
    }
}

async fn submit(s: &mut Setup, spec: JobSpec) -> u64 {
    s.link.send(JobCommand::Submit(Box::new(spec)));
    wait(&mut s.rx, "submission", 30, |e| match e {
        JobEvent::Submitted(r) => Some(r.clone().expect("slurmrestd accepted it")),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_lists_submits_and_cancels_without_any_command() {
    let Some(mut s) = setup(Shape::default(), Link::RestOnly) else {
        return;
    };
    let state = wait(&mut s.rx, "logged in", 20, |e| match e {
        JobEvent::State(st) => Some(st.clone()),
        _ => None,
    })
    .await;
    match state {
        LinkState::LoggedIn(label, user, role) => {
            assert!(
                label.starts_with("slurmrestd (http://127.0.0.1:"),
                "{label}"
            );
            assert_eq!((user.as_str(), role.as_str()), ("root", "admin"));
        }
        other => panic!("not logged in: {other:?}"),
    }
    // Nodes and partitions from /nodes and /partitions.
    let v = view(&mut s.rx, "three idle nodes", 20, |v| {
        (v.controller == Controller::Up && v.nodes.len() == 3).then(|| v.clone())
    })
    .await;
    let names: Vec<&str> = v.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["c1", "c2", "c3"]);
    assert_eq!(v.partitions.len(), 1, "{:?}", v.partitions);
    assert_eq!(v.partitions[0].name, "debug");
    assert_eq!(v.partitions[0].nodes[3], 3);
    assert_eq!(v.partitions[0].cpus[3], 6);

    // A submission through /job/submit, its output where it was asked for.
    let dir = s.cluster.dir.path().to_path_buf();
    let out = dir.join("hello-%j.out").display().to_string();
    let id = submit(&mut s, job("hello", "echo hello from rest", out)).await;
    let done = view(&mut s.rx, "the job done", 60, |v| {
        v.job(&id.to_string())
            .filter(|j| !j.live())
            .map(|j| j.state.clone())
    })
    .await;
    assert_eq!(done, "COMPLETED");
    let text = std::fs::read_to_string(dir.join(format!("hello-{id}.out"))).unwrap_or_default();
    assert_eq!(text.trim(), "hello from rest");

    // A running job listed as a process row, then cancelled through DELETE /job/ID.
    let out = dir.join("long.out").display().to_string();
    let long = submit(&mut s, job("long", "sleep 300", out)).await;
    wait(&mut s.rx, "its row", 40, |e| match e {
        JobEvent::Lists { procs, .. } => procs
            .iter()
            .find(|p| p.job == long.to_string() && p.state == 'R')
            .map(|_| ()),
        _ => None,
    })
    .await;
    let res = act(&mut s, &[&long.to_string()], SlurmAct::Cancel).await;
    assert!(cancelled(&res[0].1), "{res:?}");
    ended_cancelled(&s.cli, &long.to_string()).await;
    // An unknown job: refused before anything is sent.
    let res = act(&mut s, &["99999"], SlurmAct::Cancel).await;
    assert!(
        res[0].1.as_ref().unwrap_err().contains("does not know"),
        "{res:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_cancels_one_array_task_while_the_others_run() {
    let Some(mut s) = setup(
        Shape {
            nodes: 2,
            cpus: 4,
            ..Shape::default()
        },
        Link::RestOnly,
    ) else {
        return;
    };
    let dir = s.cluster.dir.path().display().to_string();
    let out = format!("--output={dir}/arr-%A_%a.out");
    let a = sbatch(&s.cli, &["--array=1-4", &out, "--wrap=sleep 300"]).await;
    let labels = view(&mut s.rx, "four running tasks", 60, |v| {
        let running: Vec<String> = v
            .jobs
            .iter()
            .filter(|j| j.state == "RUNNING" && j.array_job() == Some(a))
            .map(|j| j.label())
            .collect();
        (running.len() == 4).then_some(running)
    })
    .await;
    assert!(labels.contains(&format!("{a}_4")), "{labels:?}");
    // The last task is the array's own record: DELETE of the raw id would end all four.
    let one = format!("{a}_4");
    let res = act(&mut s, &[&one], SlurmAct::Cancel).await;
    assert!(res[0].0 == one && cancelled(&res[0].1), "{res:?}");
    ended_cancelled(&s.cli, &one).await;
    let st = squeue_states(&s.cli).await;
    for t in 1..=3 {
        assert_eq!(state_of(&st, &format!("{a}_{t}")), "RUNNING", "{st:?}");
    }
    // The whole array: what is left of it ends.
    let res = act(&mut s, &[&a.to_string()], SlurmAct::Cancel).await;
    assert!(res[0].1.is_ok(), "{res:?}");
    for t in 1..=3 {
        ended_cancelled(&s.cli, &format!("{a}_{t}")).await;
    }

    // A held array is one pending record; one task of it cancelled alone, then the rest of
    // the record (task by task through the API), and nothing is left pending.
    let held = sbatch(&s.cli, &["--array=1-5", "--hold", &out, "--wrap=sleep 300"]).await;
    let res = act(&mut s, &[&format!("{held}_2")], SlurmAct::Cancel).await;
    assert!(cancelled(&res[0].1), "pending: at once: {res:?}");
    let rest = view(&mut s.rx, "the pending record without task 2", 20, |v| {
        v.jobs
            .iter()
            .find(|j| j.state == "PENDING" && j.array_job() == Some(held))
            .map(|j| j.label())
            .filter(|l| !l.contains("1-5"))
    })
    .await;
    assert_eq!(rest, format!("{held}_[1,3-5]"));
    let res = act(&mut s, &[&rest], SlurmAct::Cancel).await;
    assert!(cancelled(&res[0].1), "{res:?}");
    let st = squeue_states(&s.cli).await;
    assert!(!st.iter().any(|(_, state, _)| state == "PENDING"), "{st:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_signal_reaches_the_batch_shell_and_cancel_ends_it() {
    let Some(mut s) = setup(Shape::default(), Link::RestOnly) else {
        return;
    };
    let dir = s.cluster.dir.path().to_path_buf();
    let marks = dir.join("trap.out");
    let script = dir.join("trap.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntrap 'echo got-USR1 >> {m}' USR1\necho traps-set >> {m}\nwhile :; do sleep 1; done\n",
            m = marks.display()
        ),
    )
    .unwrap();
    let id = sbatch(
        &s.cli,
        &[
            &format!("--output={}/trap-%j.log", dir.display()),
            &script.display().to_string(),
        ],
    )
    .await
    .to_string();
    let deadline = Instant::now() + Duration::from_secs(40);
    while !std::fs::read_to_string(&marks)
        .unwrap_or_default()
        .contains("traps-set")
    {
        assert!(Instant::now() < deadline, "the script never started");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    view(&mut s.rx, "the trapper running", 20, |v| {
        v.job(&id).filter(|x| x.state == "RUNNING").map(|_| ())
    })
    .await;
    // slurmd reports the launch a moment after the script starts (as in slurm_real.rs).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let res = act(
        &mut s,
        &[&id],
        SlurmAct::Signal {
            signal: Signal::Usr1,
            batch: true,
        },
    )
    .await;
    assert_eq!(res[0].1, Ok("SIGUSR1 sent; RUNNING".to_string()), "{res:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&marks)
        .unwrap_or_default()
        .contains("got-USR1")
    {
        assert!(Instant::now() < deadline, "the trap never ran");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(state_of(&squeue_states(&s.cli).await, &id), "RUNNING");
    let res = act(&mut s, &[&id], SlurmAct::Cancel).await;
    assert!(cancelled(&res[0].1), "{res:?}");
    ended_cancelled(&s.cli, &id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_time_limit_through_the_api_and_hold_release_through_the_commands() {
    let Some(mut s) = setup(Shape::default(), Link::WithCommands) else {
        return;
    };
    let dir = s.cluster.dir.path().display().to_string();
    let out = format!("--output={dir}/tl-%j.out");
    let running = sbatch(&s.cli, &[&out, "--wrap=sleep 300"])
        .await
        .to_string();
    let held = sbatch(&s.cli, &["--hold", &out, "--wrap=sleep 300"])
        .await
        .to_string();
    view(&mut s.rx, "the job running", 40, |v| {
        v.job(&running).filter(|j| j.state == "RUNNING").map(|_| ())
    })
    .await;
    let res = act(&mut s, &[&running], SlurmAct::TimeLimit("1:30:00".into())).await;
    assert!(res[0].1.is_ok(), "{res:?}");
    let limit = view(&mut s.rx, "the new limit", 20, |v| {
        v.job(&running)
            .and_then(|j| j.time_limit)
            .filter(|m| *m == 90)
    })
    .await;
    assert_eq!(limit, 90);
    // Release and hold: 22.05's API refuses them ("Job script not specified"), scontrol does
    // them; the checks read slurmrestd's /jobs.
    let res = act(&mut s, &[&held], SlurmAct::Release).await;
    assert!(res[0].1.is_ok(), "{res:?}");
    let st = squeue_states(&s.cli).await;
    let reason = st.iter().find(|(i, _, _)| *i == held).map(|x| x.2.clone());
    assert!(
        reason.as_deref().is_some_and(|r| !r.contains("Held")),
        "{st:?}"
    );
    let res = act(&mut s, &[&running], SlurmAct::Cancel).await;
    assert!(cancelled(&res[0].1), "{res:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_without_a_token_asks_for_one_at_login() {
    let Some(mut s) = setup(Shape::default(), Link::NoToken) else {
        return;
    };
    let state = wait(&mut s.rx, "a state", 20, |e| match e {
        JobEvent::State(st) => Some(st.clone()),
        _ => None,
    })
    .await;
    assert!(
        matches!(state, LinkState::Connected(ref l) if l.starts_with("slurmrestd")),
        "{state:?}"
    );
    let Some(rest) = s.cluster.rest.as_ref() else {
        return;
    };
    // The login dialog's password is the token (not remembered here: no keyring writes).
    let token = std::fs::read_to_string(&rest.token_file).unwrap();
    s.link.send(JobCommand::Login {
        user: "root".into(),
        password: "not a token".into(),
        remember: false,
    });
    let why = wait(&mut s.rx, "the refusal", 20, |e| match e {
        JobEvent::LoginFailed(w) => Some(w.clone()),
        _ => None,
    })
    .await;
    assert!(why.contains("not a token"), "{why}");
    s.link.send(JobCommand::Login {
        user: "root".into(),
        password: token,
        remember: false,
    });
    wait(&mut s.rx, "logged in", 20, |e| match e {
        JobEvent::State(LinkState::LoggedIn(..)) => Some(()),
        _ => None,
    })
    .await;
    view(&mut s.rx, "a poll", 20, |v| {
        (v.controller == Controller::Up).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_controller_outage_is_shown_then_gone() {
    let Some(mut s) = setup(Shape::default(), Link::RestOnly) else {
        return;
    };
    view(&mut s.rx, "the controller up", 20, |v| {
        (v.controller == Controller::Up).then_some(())
    })
    .await;
    s.cluster.stop_controller();
    let message = view(&mut s.rx, "the outage", 60, |v| match &v.controller {
        Controller::Unreachable { message, .. } => Some(message.clone()),
        _ => None,
    })
    .await;
    assert!(message.contains("slurmrestd"), "{message}");
    s.cluster.start_controller().unwrap();
    view(&mut s.rx, "the controller back", 60, |v| {
        (v.controller == Controller::Up).then_some(())
    })
    .await;
}

/// No cluster needed: a token file others can read is refused (the link is down, saying why,
/// never showing the token), and a URL where nothing listens is said to be unreachable.
#[tokio::test(flavor = "multi_thread")]
async fn rest_refuses_a_readable_token_file_and_names_an_unreachable_url() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let tok = d.path().join("jwt");
    std::fs::write(&tok, "SLURM_JWT=eyJhbGciOi.secret.part\n").unwrap();
    std::fs::set_permissions(&tok, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = format!("http://127.0.0.1:{}", common::free_port());
    let start = |token_file: &std::path::Path| {
        let cfg = RestConfig {
            url: url.clone(),
            token_file: Some(token_file.display().to_string()),
            user: "root".into(),
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let m = common::slurm_link::slurm_manager(None, None, Some(cfg.clone()));
        let runner = Runner::new(None, None).with_rest(Rest::new(cfg));
        (spawn(m, runner, Duration::from_secs(1), tx), rx)
    };
    let (_link, mut rx) = start(&tok);
    let why = wait(&mut rx, "down", 20, |e| match e {
        JobEvent::State(LinkState::Down(w)) => Some(w.clone()),
        _ => None,
    })
    .await;
    assert!(why.contains("can be read by others (mode 644)"), "{why}");
    assert!(!why.contains("eyJ") && !why.contains("secret"), "{why}");
    std::fs::set_permissions(&tok, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (_link, mut rx) = start(&tok);
    let why = wait(&mut rx, "down", 20, |e| match e {
        JobEvent::State(LinkState::Down(w)) => Some(w.clone()),
        _ => None,
    })
    .await;
    assert!(
        why.starts_with(&format!("cannot reach slurmrestd at {url}")),
        "{why}"
    );
    assert!(!why.contains("eyJ"), "{why}");
}
