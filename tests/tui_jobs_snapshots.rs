//! Job control screens as snapshots: login, process monitor, kill and migrate dialogs, the
//! submit form with validation errors, job results and the pager; and read-only mode.

mod common;

use common::fixture;
use common::tui::{POLLED_AT, app, render, snapshot_from};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gantry::cm::proto::{JobSummary, NodeInfo, ProcInfo};
use gantry::jobs::{LinkState, ManagerConfig};
use gantry::tui::action::Action;
use gantry::tui::app::App;
use gantry::tui::jobs::{JobScreen, JobsUi, Modal};

fn proc(node: &str, pid: u32, name: &str, user: &str, cpu: f32, job: &str) -> ProcInfo {
    ProcInfo {
        node: node.into(),
        pid,
        state: if cpu > 50.0 { 'R' } else { 'S' },
        name: name.into(),
        user: user.into(),
        cpu_pct: cpu,
        rss_kb: u64::from(pid % 97) * 10_240,
        job: job.into(),
        start: 0,
    }
}

fn node(name: &str, up: bool, load: f32) -> NodeInfo {
    NodeInfo {
        name: name.into(),
        up,
        cpus: 8,
        load1: load,
        runqueue: load as u32,
        mem_total_kb: 64 << 20,
        mem_free_kb: 40 << 20,
        procs: 200,
    }
}

fn job(id: u64, name: &str, user: &str, state: &str, exit: Option<i32>) -> JobSummary {
    JobSummary {
        id,
        name: name.into(),
        user: user.into(),
        state: state.into(),
        nodes: "node07".into(),
        submitted: POLLED_AT - 3600 + id * 60,
        started: Some(POLLED_AT - 3500 + id * 60),
        ended: exit.map(|_| POLLED_AT - 100),
        exit,
        reason: String::new(),
    }
}

fn console(size: (u16, u16), role: &str) -> App {
    let snap = snapshot_from(
        &[("A", fixture("ganglia/gmond-8649-clusterA.xml"))],
        POLLED_AT,
    );
    let mut a = app(snap, POLLED_AT + 7, size, true, true);
    let m = ManagerConfig {
        cluster: "*".into(),
        addresses: vec!["127.0.0.1:8660".into()],
        user: Some("alice".into()),
        read_only: false,
        login_hint: Some("demo account: user demo, password demo".into()),
        kind: Default::default(),
        trust: None,
    };
    let mut j = JobsUi::new(
        "*",
        m,
        None,
        JobScreen::Processes,
        a.read_only,
        std::env::temp_dir(),
    );
    j.state = LinkState::LoggedIn("127.0.0.1:8660".into(), "alice".into(), role.into());
    j.login = Some(("alice".into(), role.into()));
    j.procs = vec![
        proc("node07", 4711, "solver", "alice", 98.5, "12"),
        proc("node07", 4712, "solver-io", "alice", 3.0, "12"),
        proc("node03", 901, "sshd", "root", 0.1, ""),
        proc("node11", 5120, "analysis", "bob", 45.2, "13"),
    ];
    j.nodes = vec![
        node("node03", true, 0.4),
        node("node07", true, 7.9),
        node("node11", true, 11.5),
        node("node12", false, 0.0),
    ];
    j.jobs = vec![
        job(11, "nightly", "alice", "done", Some(0)),
        job(12, "solver", "alice", "running", None),
        job(13, "analysis", "bob", "failed", Some(3)),
    ];
    a.jobs.push(j);
    a.jobs_open = Some(0);
    a
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn press(a: &mut App, c: char) {
    a.on_key(key(c));
}

#[test]
fn job_control_screens() {
    let size = (120, 36);
    // Process monitor, with a tag.
    let mut a = console(size, "admin");
    press(&mut a, ' ');
    insta::assert_snapshot!("jobs_processes", render(&a));
    // Kill dialog for two processes: the count must be typed.
    press(&mut a, ' ');
    press(&mut a, 'k');
    insta::assert_snapshot!("jobs_kill_two", render(&a));
    // Kill dialog for another user's process: the node name must be typed.
    let mut a = console(size, "admin");
    a.jobs[0].selected = 3;
    a.jobs[0].sort = gantry::tui::jobs::ProcSort::Node;
    a.jobs[0].selected = 3;
    press(&mut a, 'k');
    insta::assert_snapshot!("jobs_kill_foreign", render(&a));
    // Migrate dialog: source excluded, down and overloaded marked.
    let mut a = console(size, "admin");
    press(&mut a, 'M');
    insta::assert_snapshot!("jobs_migrate", render(&a));
    // Submit form with validation errors.
    let mut a = console(size, "user");
    press(&mut a, 'n');
    if let Some(Modal::Submit(f)) = &mut a.jobs[0].modal {
        f.inputs[10] = gantry::tui::jobs::dialogs::field("", "zero");
        f.inputs[9] = gantry::tui::jobs::dialogs::field("", "lots");
        f.inputs[2] = gantry::tui::jobs::dialogs::field("", "-n 4 'in put'");
    }
    insta::assert_snapshot!("jobs_submit_errors", render(&a));
    // Job results.
    let mut a = console(size, "admin");
    a.act(Action::JobResults);
    press(&mut a, 'J');
    insta::assert_snapshot!("jobs_results", render(&a));
    // The pager, searching.
    let mut a = console(size, "user");
    let j = &mut a.jobs[0];
    j.screen = JobScreen::Pager;
    j.pager.id = 12;
    j.pager.stream = "out".into();
    j.pager.text = (1..=60)
        .map(|i| format!("step {i}: residual {:.4}\n", 1.0 / f64::from(i)))
        .collect();
    j.pager.next = j.pager.text.len() as u64;
    j.pager.size = j.pager.next;
    j.pager.follow = true;
    j.pager.search = "step 60".into();
    insta::assert_snapshot!("jobs_pager", render(&a));
    // Login.
    let mut a = console(size, "user");
    a.jobs[0].login = None;
    a.jobs[0].state = LinkState::Connected("127.0.0.1:8660".into());
    a.jobs[0].open_login();
    if let Some(Modal::Login(d)) = &mut a.jobs[0].modal {
        d.password.insert_str("secret");
        d.error = Some("invalid user name or password (401)".into());
    }
    let s = render(&a);
    assert!(!s.contains("secret"), "the password is never shown");
    insta::assert_snapshot!("jobs_login", s);
}

#[test]
fn slurm_node_states_show_on_the_host_and_its_tile() {
    let mut a = console((120, 36), "admin");
    a.jobs[0].node_states = [(
        "a-node01".to_string(),
        ("mixed+drain".to_string(), "maintenance".to_string()),
    )]
    .into();
    a.jobs_open = None;
    a.act(Action::Drill);
    // The tile is struck through.
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 36)).unwrap();
    term.draw(|f| gantry::tui::views::draw(&a, f)).unwrap();
    let buf = term.backend().buffer().clone();
    let struck = (0..buf.area.height).any(|y| {
        let row: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        row.contains("a-node01")
            && (0..buf.area.width).any(|x| {
                buf[(x, y)]
                    .modifier
                    .contains(ratatui::style::Modifier::CROSSED_OUT)
            })
    });
    assert!(struck, "drained node's tile is struck through");
    // …and says so in words, where its load would be.
    let tiles = render(&a);
    let row = tiles.lines().find(|l| l.contains("a-node01")).unwrap_or("");
    assert!(row.contains("a-node01") && row.contains("drn"), "{tiles}");
    a.act(Action::Drill);
    let s = render(&a);
    assert!(s.contains("slurm: mixed+drain (maintenance)"), "{s}");
}

/// The whole help page as text, scrolled or not.
fn help_text(app: &gantry::tui::app::App) -> String {
    gantry::tui::overlays::help_lines(app)
        .iter()
        .map(|l| {
            l.spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn read_only_removes_dangerous_actions_everywhere() {
    let snap = snapshot_from(
        &[("A", fixture("ganglia/gmond-8649-clusterA.xml"))],
        POLLED_AT,
    );
    let mut a = app(snap, POLLED_AT + 7, (120, 36), true, true);
    a.keymap = a.keymap.clone().read_only();
    a.read_only = true;
    let help = help_text(&a);
    for word in ["Signal the selected", "Submit a job", "Move the selected"] {
        assert!(
            !help.contains(word),
            "help lists '{word}' in read-only mode"
        );
    }
    assert!(
        help.contains("Processes: of the selected host"),
        "watching stays"
    );
    let mut ro = console((120, 36), "admin");
    ro.keymap = ro.keymap.clone().read_only();
    ro.jobs[0].read_only = true;
    press(&mut ro, 'k');
    press(&mut ro, 'M');
    press(&mut ro, 'n');
    assert!(ro.jobs[0].modal.is_none(), "no dialog opens");
    let s = render(&ro);
    assert!(s.contains("READ-ONLY"));
    for hint in [" kill ", " migrate ", " submit "] {
        assert!(
            !s.lines().last().unwrap_or("").contains(hint),
            "hint bar shows{hint}"
        );
    }

    // Read-only for one cluster only (its [[manager]]), the keymap untouched: its help page
    // leaves the dangerous actions out too, and says why.
    let mut one = console((120, 36), "admin");
    one.jobs[0].read_only = true;
    let help = help_text(&one);
    assert!(help.contains("read-only here"), "{help}");
    for word in ["Signal the selected", "Submit a job", "Move the selected"] {
        assert!(
            !help.contains(word),
            "help lists '{word}' for a read-only cluster"
        );
    }
    press(&mut one, 'k');
    assert!(one.jobs[0].modal.is_none(), "no dialog opens");
}
