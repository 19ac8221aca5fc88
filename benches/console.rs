//! The console's speed: frame times of each view with 10,000 hosts at 200×60, key press to
//! updated frame, first frame after start, and idle CPU. Run with:
//!
//!     cargo bench --bench console
//!
//! Frames are drawn into ratatui's TestBackend (the real views, minus the terminal's own I/O);
//! first frame and idle CPU run the real binary in a pseudo-terminal against `gantry sim`.
//! Results are printed and written to target/bench/console.json.

mod support;

use support::median;

#[path = "../tests/common/pty.rs"]
mod pty;
#[path = "../tests/common/tui.rs"]
mod tui;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gantry::sim::{ClusterSpec, SimCluster};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round2(v: f64) -> serde_json::Value {
    ((v * 100.0).round() / 100.0).into()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn proc_cpu(pid: i32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// The program's CPU use over `secs` seconds, in percent of one core.
fn cpu_percent(app: &pty::PtyApp, secs: u64) -> Option<f64> {
    let pid = app.program_pid()?;
    let c0 = proc_cpu(pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    Some((proc_cpu(pid) - c0) / t0.elapsed().as_secs_f64() * 100.0)
}

struct Sim(Child);
impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18_649)
}

fn start_sim(hosts: usize) -> (Sim, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["sim", "--cluster", &format!("big:{hosts}:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gantry sim");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "sim never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Sim(child), port)
}

fn console(dir: &std::path::Path, port: u16, step: u32) -> pty::PtyApp {
    let conf =
        format!("[[source]]\nname = \"big\"\nstep = {step}\naddresses = [\"127.0.0.1:{port}\"]\n");
    std::fs::write(dir.join("config.toml"), conf).expect("config");
    let d = dir.to_str().unwrap_or(".");
    pty::PtyApp::gantry(&[], d, 200, 60)
}

fn main() {
    let hosts = 10_000;
    let mut report = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        println!("{k:<52} {v}");
        report.insert(k.to_string(), v);
    };

    // A 10,000-host snapshot with three hours of history, as the console would hold it.
    let now = tui::POLLED_AT;
    let spec = ClusterSpec {
        name: "big".into(),
        hosts,
        down: hosts / 100,
        port: 0,
    };
    let mut doc = Vec::new();
    SimCluster::new(&spec, 1, now).render(&mut doc);
    let snap = tui::snapshot_from(&[("big", doc)], now);
    let mut app = tui::app(snap, now, (200, 60), true, true);
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let mut frame = |app: &gantry::tui::app::App| {
        let t = Instant::now();
        term.draw(|f| gantry::tui::views::draw(app, f))
            .expect("draw");
        t.elapsed()
    };
    let grid: Vec<f64> = (0..50).map(|_| ms(frame(&app))).collect();
    put(
        "grid view frame ms, 10k hosts, 200x60 (median of 50)",
        round2(median(grid)),
    );
    // Triage over the same 10,000 hosts: what each new snapshot costs the open list.
    let th = gantry::triage::Thresholds::default();
    let problems: Vec<f64> = (0..50)
        .map(|_| {
            let t = Instant::now();
            let rows = gantry::triage::problems::problems(&app.snap, now, &th, &[], &[]);
            std::hint::black_box(rows);
            ms(t.elapsed())
        })
        .collect();
    put(
        "problems over 10k hosts, per snapshot ms (median of 50)",
        round2(median(problems)),
    );
    let by = gantry::triage::top::TopBy::Load;
    let top: Vec<f64> = (0..50)
        .map(|_| {
            let t = Instant::now();
            let rows = gantry::triage::top::top_hosts(&app.snap, now, &by, 200);
            std::hint::black_box(rows);
            ms(t.elapsed())
        })
        .collect();
    put(
        "top list over 10k hosts, per snapshot ms (median of 50)",
        round2(median(top)),
    );
    app.on_key(key(KeyCode::Char('!')));
    let problems_frame: Vec<f64> = (0..50).map(|_| ms(frame(&app))).collect();
    put(
        "problems view frame ms, 10k hosts, 200x60 (median of 50)",
        round2(median(problems_frame)),
    );
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Char('t')));
    let top_frame: Vec<f64> = (0..50).map(|_| ms(frame(&app))).collect();
    put(
        "top list frame ms, 10k hosts, 200x60 (median of 50)",
        round2(median(top_frame)),
    );
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Enter));
    let cluster: Vec<f64> = (0..50).map(|_| ms(frame(&app))).collect();
    put(
        "cluster view frame ms, 10k hosts, 200x60 (median of 50)",
        round2(median(cluster)),
    );
    let keys: Vec<f64> = (0..200)
        .map(|i| {
            let t = Instant::now();
            app.on_key(key(if i % 40 < 20 {
                KeyCode::Down
            } else {
                KeyCode::Up
            }));
            let _ = frame(&app);
            ms(t.elapsed())
        })
        .collect();
    let worst = keys.iter().copied().fold(0.0, f64::max);
    put(
        "key to updated cluster frame ms (median of 200)",
        round2(median(keys)),
    );
    put(
        "key to updated cluster frame ms (worst of 200)",
        round2(worst),
    );
    let resort: Vec<f64> = (0..20)
        .map(|_| {
            let t = Instant::now();
            app.on_key(key(KeyCode::Char('o')));
            let _ = frame(&app);
            ms(t.elapsed())
        })
        .collect();
    put(
        "re-sort 10k tiles + frame ms (median of 20)",
        round2(median(resort)),
    );
    app.on_key(key(KeyCode::Enter));
    let host: Vec<f64> = (0..50).map(|_| ms(frame(&app))).collect();
    put(
        "host view frame ms, 200x60 (median of 50)",
        round2(median(host)),
    );
    drop(app);

    // The real binary: first frame, then idle CPU with a 15 s step.
    let (_sim, port) = start_sim(hosts);
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let first = console(dir.path(), port, 15);
    let mut first_frame = None;
    while t.elapsed() < Duration::from_secs(30) {
        if first.screen().contains("Grid ") {
            first_frame = Some(t.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    match first_frame {
        Some(d) => put(
            "first frame ms after start (real binary, pty)",
            round2(ms(d)),
        ),
        None => put(
            "first frame ms after start (real binary, pty)",
            "never".into(),
        ),
    }
    let loaded = first.wait_for("10000 up", Duration::from_secs(60)).is_ok()
        || first.wait_for("9900 up", Duration::from_secs(5)).is_ok();
    put("10k-host source shown", loaded.into());
    std::thread::sleep(Duration::from_secs(5));
    if let Some(pct) = cpu_percent(&first, 60) {
        put(
            "console % of a core, 10k hosts polled every 15 s, no keys (60 s)",
            round2(pct),
        );
    }
    drop(first);

    let small_dir = tempfile::tempdir().expect("tempdir");
    let (_small, small_port) = start_sim(40);
    let idle = console(small_dir.path(), small_port, 15);
    let _ = idle.wait_for("40 up", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    if let Some(pct) = cpu_percent(&idle, 60) {
        put(
            "console % of a core, 40 hosts polled every 15 s, no keys (60 s)",
            round2(pct),
        );
    }
    drop(idle);

    // The embedded default: no configuration, this machine plus the in-process central manager
    // and agent.
    let bare = tempfile::tempdir().expect("tempdir");
    let d = bare.path().to_str().unwrap_or(".");
    let first_run = pty::PtyApp::gantry(&[], d, 120, 40);
    let _ = first_run.wait_for("Grid", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(5));
    if let Some(pct) = cpu_percent(&first_run, 30) {
        put(
            "console % of a core, embedded default with its manager and agent (30 s)",
            round2(pct),
        );
    }
    drop(first_run);

    support::write_results(
        "console.json",
        &serde_json::to_string_pretty(&serde_json::Value::Object(report)).unwrap_or_default(),
    );
}
