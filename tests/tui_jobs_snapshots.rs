//! Job control screens as snapshots, every list and dialog at 80×24 and 200×60 with node
//! names of 30 characters: login, process monitor (whole cluster and one host), kill dialogs
//! (count, node name, Slurm), migrate, the submit form (errors, preview), job results and the
//! pager; read-only mode; and keymap tests that the pager and dialogs follow `vim.toml`.

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

/// A node name of 30 characters, as sites name them.
fn long(n: u32) -> String {
    let name = format!("rack12-compute-node-{n:04}.site1");
    assert_eq!(name.chars().count(), 30);
    name
}

fn job(id: u64, name: &str, user: &str, state: &str, exit: Option<i32>) -> JobSummary {
    JobSummary {
        id,
        name: name.into(),
        user: user.into(),
        state: state.into(),
        nodes: format!("{},{}", long(7), long(11)),
        submitted: POLLED_AT - 3600 + id * 60,
        started: Some(POLLED_AT - 3500 + id * 60),
        ended: exit.map(|_| POLLED_AT - 100),
        exit,
        reason: if exit == Some(127) {
            "exec failed: /home/bob/bin/analysis: No such file or directory".into()
        } else {
            String::new()
        },
    }
}

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 60)];

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
        queue: Default::default(),
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
        proc(&long(7), 4711, "solver", "alice", 98.5, "12"),
        proc(&long(7), 4712, "solver-io", "alice", 3.0, "12"),
        proc(&long(3), 901, "sshd", "root", 0.1, ""),
        proc(&long(11), 5120, "analysis", "bob", 45.2, "13"),
    ];
    j.nodes = vec![
        node(&long(3), true, 0.4),
        node(&long(7), true, 7.9),
        node(&long(11), true, 11.5),
        node(&long(12), false, 0.0),
    ];
    j.jobs = vec![
        job(11, "nightly", "alice", "done", Some(0)),
        job(12, "solver", "alice", "running", None),
        job(13, "analysis", "bob", "failed", Some(127)),
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

fn press_code(a: &mut App, code: KeyCode) {
    a.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn name(what: &str, size: (u16, u16)) -> String {
    format!("jobs_{what}_{}x{}", size.0, size.1)
}

/// At 200 columns every node name shows whole; at 80, as much as fits.
fn names_whole(s: &str, size: (u16, u16)) {
    if size.0 >= 200 {
        assert!(s.contains(&long(7)), "full node names at {size:?}:\n{s}");
    } else {
        assert!(
            s.contains("rack12-compute"),
            "node names start at {size:?}:\n{s}"
        );
    }
}

#[test]
fn process_monitor_and_results() {
    for size in SIZES {
        // Process monitor, with a tag.
        let mut a = console(size, "admin");
        press(&mut a, ' ');
        let s = render(&a);
        names_whole(&s, size);
        insta::assert_snapshot!(name("processes", size), s);
        // One host's processes: the title says which.
        let mut a = console(size, "admin");
        a.jobs[0].host_scope = Some(long(7));
        let s = render(&a);
        assert!(s.contains("Processes on rack12-compute"), "{s}");
        assert!(!s.contains("sshd"), "other hosts' processes are not listed");
        insta::assert_snapshot!(name("processes_host", size), s);
        // Job results.
        let mut a = console(size, "admin");
        a.act(Action::JobResults);
        let s = render(&a);
        insta::assert_snapshot!(name("results", size), s);
    }
}

#[test]
fn kill_dialogs() {
    for size in SIZES {
        // Two processes: the count must be typed.
        let mut a = console(size, "admin");
        press(&mut a, ' ');
        press(&mut a, ' ');
        press(&mut a, 'k');
        let s = render(&a);
        assert!(
            s.contains("type the number of processes (2) to confirm"),
            "{s}"
        );
        names_whole(&s, size);
        insta::assert_snapshot!(name("kill_two", size), s);
        // Another user's process: the node name must be typed.
        let mut a = console(size, "admin");
        a.jobs[0].sort = gantry::tui::jobs::ProcSort::Node;
        a.jobs[0].selected = 3;
        press(&mut a, 'k');
        let s = render(&a);
        assert!(s.contains("owned by another user: bob"), "{s}");
        assert!(
            s.contains(&format!("({})", long(11))),
            "the whole node name to type:\n{s}"
        );
        insta::assert_snapshot!(name("kill_foreign", size), s);
        // Slurm: the job dialog names the array task, switches to the whole array on `a`,
        // asks for the number of jobs, and shows what Slurm did (its message line by line).
        let mut a = console(size, "admin");
        slurm_array(&mut a);
        press(&mut a, 'k');
        let s = render(&a);
        assert!(s.contains("acts on the chosen task only"), "{s}");
        assert!(s.contains("10_2"), "{s}");
        press(&mut a, 'a');
        press(&mut a, 'k');
        for c in "3".chars() {
            press(&mut a, c);
        }
        press_code(&mut a, KeyCode::Tab);
        press_code(&mut a, KeyCode::Tab);
        press_code(&mut a, KeyCode::Enter);
        let sent = matches!(
            &a.jobs[0].modal,
            Some(Modal::Slurm(d)) if d.results.is_some()
        );
        assert!(sent, "{}", render(&a));
        a.jobs[0].on_event(gantry::jobs::JobEvent::SlurmDone {
            act: "cancel".into(),
            outcomes: vec![(
                "10".into(),
                Err(
                    "scancel: error: Kill job error on job id 10:\nAccess/permission denied".into(),
                ),
            )],
        });
        let s = render(&a);
        assert!(s.contains("WHOLE array 10 (3 jobs)"), "{s}");
        assert!(s.contains("Access/permission denied"), "{s}");
        insta::assert_snapshot!(name("kill_slurm_sent", size), s);
    }
}

/// Makes the console's first job control a Slurm one whose selected job is task 2 of array 10
/// (three tasks live).
fn slurm_array(a: &mut App) {
    use gantry::slurm::jobs::{Array, SlurmJob};
    let j = &mut a.jobs[0];
    j.manager.kind = gantry::jobs::BackendKind::Slurm {
        poll_secs: 5,
        conf: None,
        bin_dir: None,
        rest: None,
    };
    for p in j.procs.iter_mut().filter(|p| p.job == "12") {
        p.job = "10_2".into();
    }
    let task = |id, t| SlurmJob {
        id,
        array: Array::Task { job: 10, task: t },
        state: "RUNNING".into(),
        user: "alice".into(),
        ..SlurmJob::default()
    };
    j.slurm = Some(std::sync::Arc::new(gantry::slurm::view::SlurmView {
        jobs: vec![task(10, 3), task(11, 1), task(12, 2)],
        ..Default::default()
    }));
}

#[test]
fn migrate_and_login_dialogs() {
    for size in SIZES {
        // Migrate: source excluded, down and overloaded marked.
        let mut a = console(size, "admin");
        press(&mut a, 'M');
        let s = render(&a);
        assert!(s.contains("overloaded") && s.contains("down"), "{s}");
        names_whole(&s, size);
        insta::assert_snapshot!(name("migrate", size), s);
        // Login, after a failure.
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
        insta::assert_snapshot!(name("login", size), s);
    }
}

#[test]
fn submit_form_errors_whole_and_preview_names_nodes() {
    use gantry::tui::jobs::dialogs::field;
    use gantry::tui::jobs::form::at;
    for size in SIZES {
        // Errors, each shown whole.
        let mut a = console(size, "user");
        press(&mut a, 'n');
        if let Some(Modal::Submit(f)) = &mut a.jobs[0].modal {
            f.choice[at::CLASS] = 1;
            f.inputs[at::TOTAL] = field("", "4000000000");
            f.inputs[at::MEMORY] = field("", "lots");
            f.inputs[at::ARGS] = field("", "-n 4 'in put'");
        }
        let s = render(&a);
        assert!(!s.contains('…'), "no error is cut:\n{s}");
        let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        for whole in [
            "Total Tasks: 4000000000 is more tasks than a job may have (at most 1000000)",
            "Memory Size: 'lots' is not a size (e.g. 512M, 2G)",
            "Executing File: required",
        ] {
            let words: String = whole.split_whitespace().collect::<Vec<_>>().join(" ");
            // Wrapped lines sit between the dialog's borders: compare without them.
            let text = flat.replace(" │ │ ", " ");
            assert!(text.contains(&words), "'{whole}' whole at {size:?}:\n{s}");
        }
        insta::assert_snapshot!(name("submit_errors", size), s);
        // A valid job: where it would run and where its output goes, then the preview.
        let mut a = console(size, "user");
        press(&mut a, 'n');
        if let Some(Modal::Submit(f)) = &mut a.jobs[0].modal {
            f.inputs[1] = field("", "/bin/solver");
            f.choice[at::CLASS] = 1;
            f.inputs[at::TOTAL] = field("", "4");
            f.inputs[at::PER_NODE] = field("", "2");
            f.inputs[at::MEMORY] = field("", "8G");
        }
        let s = render(&a);
        assert!(
            s.contains("output kept by the manager; read it from Jobs"),
            "{s}"
        );
        assert!(s.contains("would run on"), "{s}");
        insta::assert_snapshot!(name("submit_ready", size), s);
        // Alt-Enter submits from any field: first the preview.
        a.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
        if let Some(Modal::Submit(f)) = &a.jobs[0].modal {
            assert!(f.preview.is_some(), "{:?}", f.note);
        }
        let s = render(&a);
        assert!(s.contains("exactly this will be sent"), "{s}");
        insta::assert_snapshot!(name("submit_preview", size), s);
    }
}

#[test]
fn pager() {
    for size in SIZES {
        let mut a = console(size, "user");
        let j = &mut a.jobs[0];
        j.screen = JobScreen::Pager;
        j.pager = gantry::tui::jobs::Pager::open(12, "out");
        let text: String = (1..=80)
            .map(|i| format!("step {i}: residual {:.4}\n", 1.0 / f64::from(i)))
            .collect();
        let n = text.len() as u64;
        j.pager.append(&text, n, n);
        j.pager.search = "step 80".into();
        insta::assert_snapshot!(name("pager", size), render(&a));
    }
}

/// The top line of the pager's text on screen (its first row under the header).
fn pager_top(a: &App) -> usize {
    a.jobs[0].pager.top()
}

#[test]
fn pager_and_dialogs_follow_the_vim_keymap() {
    let mut a = console((80, 24), "admin");
    a.keymap = gantry::tui::keymap::Keymap::shipped("vim").expect("vim keymap ships");
    let j = &mut a.jobs[0];
    j.screen = JobScreen::Pager;
    j.pager = gantry::tui::jobs::Pager::open(12, "out");
    let text: String = (1..=80).map(|i| format!("line {i}\n")).collect();
    let n = text.len() as u64;
    j.pager.append(&text, n, n);
    render(&a);
    let end = pager_top(&a);
    assert!(end > 0, "following shows the end");
    press(&mut a, 'k');
    assert_eq!(pager_top(&a), end - 1, "k moves up");
    assert!(!a.jobs[0].pager.follow, "moving up stops following");
    press(&mut a, 'g');
    assert_eq!(pager_top(&a), 0, "g goes to the top");
    press(&mut a, 'j');
    assert_eq!(pager_top(&a), 1, "j moves down");
    press(&mut a, 'G');
    assert_eq!(pager_top(&a), end, "G goes to the end");
    assert_eq!(
        a.jobs[0].screen,
        JobScreen::Pager,
        "the list behind did not move"
    );
    press(&mut a, 'q');
    assert_eq!(
        a.jobs[0].screen,
        JobScreen::Results,
        "q closes the pager, not the console"
    );
    assert!(a.jobs_open.is_some());

    // The kill dialog: j/k move the signal chooser, K is SIGKILL.
    a.jobs[0].screen = JobScreen::Processes;
    press(&mut a, 'x');
    let Some(Modal::Kill(_)) = &a.jobs[0].modal else {
        panic!("x opens the kill dialog under vim.toml");
    };
    // From Cancel back to the chooser.
    a.on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    press(&mut a, 'j');
    press(&mut a, 'j');
    press(&mut a, 'k');
    if let Some(Modal::Kill(d)) = &a.jobs[0].modal {
        assert_eq!(d.signal, 1, "j j k: the second signal");
        assert_eq!(d.focus, 0);
    }
    press(&mut a, 'g');
    press(&mut a, 'K');
    match &a.jobs[0].modal {
        Some(Modal::Kill(d)) => {
            assert_eq!(
                gantry::cm::job::Signal::ALL[d.signal],
                gantry::cm::job::Signal::Kill,
                "K chooses SIGKILL"
            );
            assert_eq!(d.focus, 3, "then Send has the focus");
        }
        _ => panic!("the dialog stays open"),
    }
    let hints = render(&a);
    assert!(
        hints.lines().last().unwrap_or("").contains("K KILL"),
        "{hints}"
    );
    press(&mut a, 'q');
    assert!(a.jobs[0].modal.is_none(), "q closes the dialog");
    assert!(a.jobs_open.is_some(), "and only the dialog");
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

#[test]
fn long_process_lists_scroll_with_the_selection() {
    let mut a = console((80, 24), "admin");
    a.jobs[0].procs = (0..60)
        .map(|i| {
            proc(
                &long(i % 7),
                1000 + i,
                "worker",
                "alice",
                90.0 - i as f32,
                "12",
            )
        })
        .collect();
    render(&a);
    press_code(&mut a, KeyCode::End);
    let s = render(&a);
    assert_eq!(a.jobs[0].selected, 59);
    assert!(s.contains(" 1059 "), "the last process is in view:\n{s}");
    assert!(!s.contains(" 1000 "), "the first has scrolled off:\n{s}");
    assert!(
        s.contains('█') || s.contains('║'),
        "a scrollbar shows:\n{s}"
    );
    press_code(&mut a, KeyCode::PageUp);
    let page = a.jobs[0].page.get();
    assert_eq!(
        a.jobs[0].selected,
        59 - page,
        "a page is what the list shows"
    );
    let s = render(&a);
    assert!(s.contains(&format!(" {} ", 1059 - page)), "{s}");
    press_code(&mut a, KeyCode::Home);
    let s = render(&a);
    assert!(s.contains(" 1000 "), "back at the top:\n{s}");
}

#[test]
fn an_unreachable_slurm_controller_shows_on_the_grid_the_problems_and_the_sources() {
    let mut a = console((160, 40), "admin");
    a.jobs[0].manager.kind = gantry::jobs::BackendKind::Slurm {
        poll_secs: 5,
        conf: None,
        bin_dir: None,
        rest: None,
    };
    a.jobs_open = None;
    let view = gantry::slurm::view::SlurmView {
        at: a.now,
        controller: gantry::slurm::view::Controller::Unreachable {
            since: a.now - 125,
            message: "Slurmctld(primary) at head is DOWN".into(),
        },
        ..Default::default()
    };
    a.on_job_event(
        "*",
        gantry::jobs::JobEvent::Slurm(std::sync::Arc::new(view)),
    );
    let grid = render(&a);
    assert!(grid.contains("Slurm controller DOWN 2m"), "{grid}");
    // The cluster's header says its tiles' scheduler marks are the last known.
    a.act(Action::Drill);
    let cluster = render(&a);
    assert!(
        cluster.contains("Slurm controller DOWN 2m05s: scheduler marks last known"),
        "{cluster}"
    );
    a.act(Action::Back);
    a.act(Action::Problems);
    let s = render(&a);
    assert!(s.contains("scheduler"), "{s}");
    assert!(
        s.contains("unreachable: Slurmctld(primary) at head is DOWN"),
        "{s}"
    );
    a.act(Action::Close);
    a.act(Action::Sources);
    let s = render(&a);
    assert!(
        s.contains("Slurm controller of job control unreachable since 2m"),
        "{s}"
    );
    // Back up: the marks go.
    a.act(Action::Close);
    let view = gantry::slurm::view::SlurmView {
        at: a.now,
        controller: gantry::slurm::view::Controller::Up,
        ..Default::default()
    };
    a.on_job_event(
        "*",
        gantry::jobs::JobEvent::Slurm(std::sync::Arc::new(view)),
    );
    assert!(!render(&a).contains("DOWN"));
}

#[test]
fn help_begins_with_what_the_screen_under_it_offers() {
    let mut a = console((120, 60), "admin");
    a.act(Action::Help);
    let s = render(&a);
    let here = s.find("│Here").expect("a Here section");
    let section = &s[here..];
    // The section ends where the layers' full lists begin.
    let end = section
        .find("[jobs]")
        .expect("the job control layer's list");
    let kill = section
        .find("Signal the selected")
        .expect("kill is on the page");
    assert!(
        kill < end,
        "the process monitor's kill is offered first:\n{s}"
    );
}

#[test]
fn slurm_partitions_nodes_detail_and_pending_arrays() {
    use gantry::slurm::jobs::{Array, SlurmJob};
    for size in SIZES {
        let mut a = console(size, "admin");
        slurm_array(&mut a);
        let nodes = gantry::slurm::parse::sinfo(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/slurm/sinfo_multinode_drain_down.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let mut parts = gantry::slurm::view::parse_partitions(
            "debug|up|infinite|3/0/1/4|5/1/2/8\ngpu|drain|1-00:00:00|0/0/2/2|0/0/16/16\n",
        );
        let pending = SlurmJob {
            id: 20,
            array: Array::Pending {
                job: 20,
                tasks: "1-3".into(),
            },
            state: "PENDING".into(),
            partition: "debug".into(),
            user: "alice".into(),
            submit: a.now - 600,
            ..SlurmJob::default()
        };
        gantry::slurm::view::add_queue(&mut parts, std::slice::from_ref(&pending), a.now);
        let j = &mut a.jobs[0];
        let mut view = (**j.slurm.as_ref().unwrap()).clone();
        view.nodes = nodes;
        view.partitions = parts;
        view.jobs.push(pending);
        j.slurm = Some(std::sync::Arc::new(view));
        let mut row = j.procs[0].clone();
        (row.cpu_pct, row.rss_kb) = (0.0, 0);
        (row.node, row.pid, row.state, row.job, row.name) = (
            "pending".into(),
            20,
            'P',
            "20_[1-3]".into(),
            "sweep (3 tasks, JobHeldUser)".into(),
        );
        let mut sent = j.procs.clone();
        sent.push(row);
        j.sent_procs = sent;
        j.unfold();

        press(&mut a, 'P');
        let s = render(&a);
        assert!(s.contains("partitions") && s.contains("3/0/1/4"), "{s}");
        assert!(s.contains("0 running, 3 pending"), "{s}");
        let debug = &a.jobs[0].visible_partitions()[0];
        assert_eq!(
            (debug[6].as_str(), debug[7].as_str()),
            ("3", "10m00s"),
            "{debug:?}"
        );
        insta::assert_snapshot!(name("slurm_partitions", size), s);
        press(&mut a, 'N');
        let s = render(&a);
        assert!(
            s.contains("mixed+drain") && s.contains("maintenance test"),
            "{s}"
        );
        insta::assert_snapshot!(name("slurm_nodes", size), s);
        // Two nodes tagged and powered down: both run jobs, so Slurm is asked to power them
        // down once those end, and their count must be typed.
        for _ in 0..2 {
            press_code(&mut a, KeyCode::Down);
        }
        press(&mut a, ' ');
        press(&mut a, ' ');
        assert_eq!(a.jobs[0].tagged_nodes.len(), 2);
        press(&mut a, 'D');
        let s = render(&a);
        assert!(
            s.contains("Power down 2 nodes") && s.contains("POWER_DOWN_ASAP"),
            "{s}"
        );
        insta::assert_snapshot!(name("slurm_power_down", size), s);
        press_code(&mut a, KeyCode::Esc);
        assert!(a.jobs[0].modal.is_none());
        // One idle node, powered up: the selected one when none is tagged.
        press_code(&mut a, KeyCode::Up);
        press(&mut a, ' ');
        press(&mut a, ' ');
        assert!(a.jobs[0].tagged_nodes.is_empty());
        press_code(&mut a, KeyCode::Home);
        press_code(&mut a, KeyCode::Down);
        press(&mut a, 'U');
        let s = render(&a);
        assert!(s.contains("Power up 1 node") && s.contains("c2"), "{s}");
        press_code(&mut a, KeyCode::Esc);
        // The filter keeps a state.
        press(&mut a, '/');
        for c in "drain".chars() {
            press(&mut a, c);
        }
        press_code(&mut a, KeyCode::Enter);
        assert_eq!(a.jobs[0].visible_nodes().len(), 1, "{}", render(&a));

        // The pending array, folded then task by task, each its own row to act on.
        press(&mut a, 'p');
        press_code(&mut a, KeyCode::End);
        let labels = |a: &App| -> Vec<String> {
            a.jobs[0]
                .visible_procs()
                .iter()
                .map(|p| p.job.clone())
                .collect()
        };
        assert!(
            labels(&a).contains(&"20_[1-3]".to_string()),
            "{:?}",
            labels(&a)
        );
        press(&mut a, 'e');
        let l = labels(&a);
        assert!(
            l.contains(&"20_1".into())
                && l.contains(&"20_3".into())
                && !l.contains(&"20_[1-3]".into()),
            "{l:?}"
        );
        press_code(&mut a, KeyCode::End);
        press(&mut a, 'k');
        match &a.jobs[0].modal {
            Some(Modal::Slurm(d)) => {
                assert_eq!(d.targets[0].label, "20_3");
                assert_eq!(d.targets[0].state, "PENDING");
            }
            _ => panic!("no Slurm dialog: {}", render(&a)),
        }
        press_code(&mut a, KeyCode::Esc);
        press(&mut a, 'e');
        assert!(labels(&a).contains(&"20_[1-3]".to_string()));

        // Detail: asked of Slurm, shown field by field; Esc goes back.
        press_code(&mut a, KeyCode::End);
        press(&mut a, 'i');
        assert_eq!(a.jobs[0].screen, JobScreen::Detail, "{}", render(&a));
        a.jobs[0].on_event(gantry::jobs::JobEvent::SlurmDetail {
            label: "20_[1-3]".into(),
            fields: Ok(vec![
                ("Job id".into(), "20".into()),
                ("State".into(), "PENDING".into()),
                ("Expected start".into(), "2026-12-03T01:00:00".into()),
            ]),
        });
        let s = render(&a);
        assert!(
            s.contains("Expected start") && s.contains("Job 20_[1-3]"),
            "{s}"
        );
        insta::assert_snapshot!(name("slurm_detail", size), s);
        press_code(&mut a, KeyCode::Esc);
        assert_eq!(a.jobs[0].screen, JobScreen::Processes);

        // Migrate names the job as Slurm does: a running task is requeued, only that task.
        press_code(&mut a, KeyCode::Home);
        assert_eq!(a.jobs[0].visible_procs()[0].job, "10_2");
        press(&mut a, 'M');
        let s = render(&a);
        assert!(
            s.contains("move job 10_2 (this array task only) to:"),
            "{s}"
        );
        assert!(s.contains("requeued"), "{s}");
        press_code(&mut a, KeyCode::Esc);
        // A pending array record is pinned, all its tasks, not requeued.
        press_code(&mut a, KeyCode::End);
        press(&mut a, 'M');
        let s = render(&a);
        assert!(
            s.contains("move job 20_[1-3] (all 3 of its pending tasks)"),
            "{s}"
        );
        assert!(!s.contains("Slurm cannot move a running job"), "{s}");
        press_code(&mut a, KeyCode::Esc);
    }
}

#[test]
fn a_manager_pair_shows_who_is_active_and_a_shadow_that_is_away() {
    use gantry::cm::proto::HaStatus;
    use gantry::jobs::JobEvent;
    let mut a = console((160, 40), "admin");
    let status = HaStatus {
        role: "active".into(),
        epoch: 3,
        name: "cm2:8660".into(),
        active: "cm2:8660".into(),
        shadow: "in sync".into(),
        seq: 42,
        why: "took over at epoch 3".into(),
        following: 3,
        members: 3,
    };
    a.on_job_event("*", JobEvent::Ha(status.clone()));
    let s = render(&a);
    assert!(
        s.contains("active cm cm2:8660 · epoch 3 · shadow in sync"),
        "{s}"
    );
    let away = HaStatus {
        shadow: format!("away since {}", a.now - 90),
        ..status
    };
    a.on_job_event("*", JobEvent::Ha(away));
    let s = render(&a);
    assert!(s.contains("shadow away 1m30s"), "{s}");
    a.jobs_open = None;
    // A warning, not an outage: no DOWN mark on the grid.
    assert!(!render(&a).contains("DOWN"));
    a.act(Action::Problems);
    let s = render(&a);
    assert!(s.contains("cm pair"), "{s}");
    assert!(s.contains("runs without its shadow"), "{s}");
    a.act(Action::Close);
    // No manager answers as active: job control is down.
    a.on_job_event(
        "*",
        JobEvent::State(LinkState::Down(
            "no active manager: cm1:8660: standby at epoch 3".into(),
        )),
    );
    let s = render(&a);
    assert!(
        s.contains("central manager") && s.contains("unreachable: no active manager"),
        "{s}"
    );
}
