//! Gantry's aggregator against Debian's gmetad 3.7.2, side by side in one run on the same
//! simulated 10,000-host source. Run with:
//!
//!     cargo bench --bench versus_gmetad                 # 10,000 hosts
//!     cargo bench --bench versus_gmetad -- --hosts 2000 --window 20
//!
//! gmetad binds every interface, so the whole run moves into a private network namespace
//! (`unshare --net`, root only) where only its loopback exists. Without gmetad installed, or
//! without the namespace, only Gantry's figures are measured, and the report says why.
//! Results are printed and written to target/bench/versus_gmetad.json.

mod support;

use support::median;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gantry::aggregator::{FetchSettings, SourceConfig, SourceState, fetch, now_epoch};
use gantry::ganglia::{Interner, Limits, StreamParser};
use gantry::sim::{ClusterSpec, SimHandle, SimOptions};

struct Opts {
    hosts: usize,
    window: u64,
    step: u64,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str, d: u64| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    Opts {
        hosts: get("--hosts", 10_000) as usize,
        window: get("--window", 45),
        step: get("--step", 15),
    }
}

/// Re-runs this program inside a fresh network namespace, once, when it can.
fn enter_netns() -> Option<String> {
    if std::env::var_os("GANTRY_BENCH_NETNS").is_some() {
        return None;
    }
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: gmetad cannot be kept off the network, so it is not run".into());
    }
    let me = std::env::current_exe().ok()?;
    let status = Command::new("unshare")
        .args([
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(&me)
        .args(std::env::args().skip(1))
        .env("GANTRY_BENCH_NETNS", "1")
        .status();
    match status {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => Some(format!("unshare failed ({e}): gmetad is not run")),
    }
}

fn clk_tck() -> f64 {
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// CPU seconds used by a process so far.
fn proc_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / clk_tck()
}

/// Resident memory in MB.
fn proc_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn read_all(addr: SocketAddr, request: Option<&str>) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    if let Some(r) = request {
        s.write_all(r.as_bytes())?;
    }
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

/// A daemon started for the run, killed by its pid at the end.
struct Daemon {
    child: Child,
    name: &'static str,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until an xml port serves a dump with `hosts` hosts.
fn wait_ready(addr: SocketAddr, hosts: usize, within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(d) = read_all(addr, None) {
            let n = memchr::memmem::find_iter(&d, b"<HOST ").count();
            if n >= hosts {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(format!(
        "{addr} did not serve {hosts} hosts within {within:?}"
    ))
}

/// CPU seconds per poll and RSS of a daemon over about `window` seconds of `step`-second
/// polls. Polls are counted, not assumed: a poll is a burst of CPU after a quiet second (at
/// least 30 % of the biggest burst), and the CPU is taken from the start of the first poll to
/// the start of the last one, so it spans whole poll cycles only (assuming window ÷ step polls
/// was off by up to one in three).
fn measure_daemon(d: &Daemon, window: u64, step: u64) -> (f64, f64) {
    let pid = d.child.id();
    let tick = Duration::from_millis(20);
    let quiet = (1000 / 20) as usize; // samples in a quiet second
    let mut samples = Vec::new();
    let end = Instant::now() + Duration::from_secs(window + step);
    while Instant::now() < end {
        samples.push(proc_cpu(pid));
        std::thread::sleep(tick);
    }
    let begins: Vec<usize> = (quiet..samples.len())
        .filter(|&i| {
            samples[i] > samples[i - 1] && samples[i - quiet..i].windows(2).all(|w| w[1] <= w[0])
        })
        .collect();
    // A burst's CPU runs to the next quiet second; small ones (a timer, a save) are not polls,
    // though their CPU still counts between the polls around them.
    let burst_cpu = |i: usize| {
        let mut end = i;
        while end + quiet < samples.len() && samples[end + quiet] > samples[end] {
            end += 1;
        }
        samples[(end + quiet).min(samples.len() - 1)] - samples[i - 1]
    };
    let biggest = begins.iter().map(|&i| burst_cpu(i)).fold(0.0, f64::max);
    let starts: Vec<usize> = begins
        .into_iter()
        .filter(|&i| burst_cpu(i) >= 0.3 * biggest)
        .collect();
    let secs = |i: usize| i as f64 * tick.as_secs_f64();
    eprintln!(
        "  {}: polls began at {:?} s; CPU per poll {:?}",
        d.name,
        starts
            .iter()
            .map(|&i| (secs(i) * 10.0).round() / 10.0)
            .collect::<Vec<_>>(),
        starts
            .windows(2)
            .map(|w| ((samples[w[1] - 1] - samples[w[0] - 1]) * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>()
    );
    let per_poll = match (starts.first(), starts.last()) {
        (Some(&a), Some(&b)) if starts.len() >= 2 => {
            (samples[b - 1] - samples[a - 1]) / (starts.len() - 1) as f64
        }
        // No quiet gaps to tell polls apart: the whole window over the polls it should hold.
        _ => {
            let n = samples.len();
            (samples[n - 1] - samples[0]) / ((window + step) as f64 / step as f64).max(1.0)
        }
    };
    (per_poll, proc_rss_mb(pid))
}

fn serve_rate(addr: SocketAddr) -> (f64, usize) {
    let mut rates = Vec::new();
    let mut size = 0;
    for _ in 0..3 {
        let t = Instant::now();
        if let Ok(d) = read_all(addr, None) {
            size = d.len();
            rates.push(d.len() as f64 / t.elapsed().as_secs_f64() / 1e6);
        }
    }
    (median(rates), size)
}

fn summary_ms(addr: SocketAddr) -> f64 {
    let mut v = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        if read_all(addr, Some("/?filter=summary\n")).is_ok_and(|d| !d.is_empty()) {
            v.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    median(v)
}

fn start_gantry(
    bin: &str,
    dir: &Path,
    source: &str,
    xml: u16,
    interactive: u16,
) -> std::io::Result<Daemon> {
    let child = Command::new(bin)
        .args(["aggregator", "--source", source])
        .args([
            "--xml-listen",
            &format!("127.0.0.1:{xml}"),
            "--interactive-listen",
            &format!("127.0.0.1:{interactive}"),
        ])
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(Daemon {
        child,
        name: "gantry",
    })
}

fn start_gmetad(
    dir: &Path,
    source: SocketAddr,
    step: u64,
    xml: u16,
    interactive: u16,
) -> Result<Daemon, String> {
    let bin = ["/usr/sbin/gmetad", "/usr/bin/gmetad"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("gmetad is not installed (apt-get install gmetad)")?;
    let rrds = dir.join("rrds");
    std::fs::create_dir_all(&rrds).map_err(|e| e.to_string())?;
    let conf = dir.join("gmetad.conf");
    let text = format!(
        "data_source \"bench\" {step} {source}\ngridname \"Bench\"\nxml_port {xml}\ninteractive_port {interactive}\nsetuid off\nwrite_rrds off\nrrd_rootdir \"{}\"\nserver_threads 4\n",
        rrds.display()
    );
    std::fs::write(&conf, text).map_err(|e| e.to_string())?;
    let child = Command::new(bin)
        .args(["-d", "1", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("gmetad.log")).map_err(|e| e.to_string())?,
        ))
        .spawn()
        .map_err(|e| format!("cannot start gmetad: {e}"))?;
    Ok(Daemon {
        child,
        name: "gmetad",
    })
}

fn main() -> anyhow::Result<()> {
    let why_no_gmetad = enter_netns();
    let o = opts();
    let bin = env!("CARGO_BIN_EXE_gantry");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let tmp = tempfile::tempdir()?;
    let mut report = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        println!("{k:<44} {v}");
        report.insert(k.to_string(), v);
    };
    println!(
        "== {} hosts, step {} s, measuring window {} s",
        o.hosts, o.step, o.window
    );

    let spec = ClusterSpec {
        name: "bench".into(),
        hosts: o.hosts,
        down: o.hosts / 100,
        port: 0,
    };
    let sim = rt.block_on(SimHandle::start(
        vec![spec.clone()],
        SimOptions {
            step: o.step,
            ..SimOptions::default()
        },
    ))?;
    let src = sim
        .addr("bench")
        .ok_or_else(|| anyhow::anyhow!("sim has no address"))?;
    let doc = read_all(src, None)?;
    put("document bytes", doc.len().into());

    // 1. Parse speed on one core.
    let mut interner = Interner::default();
    let mut rates = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut p = StreamParser::new(&mut interner, Limits::default());
        for c in doc.chunks(256 * 1024) {
            p.feed(c)?;
        }
        let parsed = p.finish()?;
        rates.push(doc.len() as f64 / t.elapsed().as_secs_f64() / 1e6);
        assert_eq!(parsed.document.host_count(), o.hosts);
    }
    put(
        "gantry parse MB/s (median of 5, one core)",
        (median(rates).round()).into(),
    );

    // 2. One full poll in-process: read, parse, merge, summaries, history.
    let history = Arc::new(gantry::history::HistoryStore::new());
    let cfg = Arc::new(SourceConfig::network(
        "bench",
        vec![src.to_string().parse()?],
    ));
    let mut st = SourceState::new(cfg.clone());
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let (t, c) = (Instant::now(), thread_cpu());
        let r = fetch(
            cfg.addresses(),
            st.last_good,
            &FetchSettings::default(),
            &mut st.interner,
        );
        let sink: &dyn gantry::aggregator::HistorySink = &*history;
        st.apply(r, now_epoch() + i * o.step, Some(sink));
        walls.push(t.elapsed().as_secs_f64());
        cpus.push(thread_cpu() - c);
    }
    put(
        "gantry full poll wall s (median of 5)",
        ((median(walls) * 1000.0).round() / 1000.0).into(),
    );
    put(
        "gantry full poll cpu s (median of 5)",
        ((median(cpus) * 1000.0).round() / 1000.0).into(),
    );
    drop(st);

    // 2b. A full day of history for this source, saved where the daemon will load it, so its
    // resident memory below is measured with a day of history held.
    let parsed = gantry::ganglia::parse_bytes(&doc, &mut Interner::default(), Limits::default())?;
    let cluster = parsed.document.clusters()[0].clone();
    let day = gantry::history::HistoryStore::new();
    let now = now_epoch();
    let mut records = Vec::new();
    for m in 0..1440u64 {
        let t = Instant::now();
        gantry::aggregator::HistorySink::record_cluster(&day, &cluster, now - 86_400 + m * 60);
        records.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    put(
        "history record ms per poll (median)",
        ((median(records) * 100.0).round() / 100.0).into(),
    );
    let st = day.stats();
    put("history series", st.series.into());
    put(
        "history MB held, full day",
        ((st.bytes as f64 / 1e6).round()).into(),
    );
    let t = Instant::now();
    let file_bytes = day.save(&tmp.path().join("history.bin"))?;
    put(
        "history save s, full day",
        ((t.elapsed().as_secs_f64() * 100.0).round() / 100.0).into(),
    );
    put(
        "history file MB, full day",
        ((file_bytes as f64 / 1e6).round()).into(),
    );
    drop(day);
    let t = Instant::now();
    let back = gantry::history::HistoryStore::load(&tmp.path().join("history.bin"))?;
    put(
        "history load s, full day",
        ((t.elapsed().as_secs_f64() * 100.0).round() / 100.0).into(),
    );
    drop(back);

    // 2c. A full year: one poll in every bin each level keeps (a level holds rows only for bins
    // that saw a sample, so one sample per bin fills it as much as sixty would), oldest first.
    let year = gantry::history::HistoryStore::new();
    let rss_before = proc_rss_mb(std::process::id());
    let mut polls = 0u64;
    let mut t = now - 366 * 86_400;
    for (until, step) in [
        (now - 30 * 86_400, 172_800),
        (now - 7 * 86_400, 21_600),
        (now - 86_400, 7_200),
        (now - 3_600, 1_200),
        (now + 1, 60),
    ] {
        while t < until {
            gantry::aggregator::HistorySink::record_cluster(&year, &cluster, t);
            polls += 1;
            t += step;
        }
    }
    let st = year.stats();
    put("history polls to fill a year", polls.into());
    put(
        "history MB held, full year (store's count)",
        ((st.bytes as f64 / 1e6).round()).into(),
    );
    put(
        "history MB resident, full year (RSS growth)",
        ((proc_rss_mb(std::process::id()) - rss_before).round()).into(),
    );
    let t = Instant::now();
    let file_bytes = year.save(&tmp.path().join("history-year.bin"))?;
    put(
        "history save s, full year",
        ((t.elapsed().as_secs_f64() * 100.0).round() / 100.0).into(),
    );
    put(
        "history file MB, full year",
        ((file_bytes as f64 / 1e6).round()).into(),
    );
    drop(year);
    let t = Instant::now();
    let back = gantry::history::HistoryStore::load(&tmp.path().join("history-year.bin"))?;
    put(
        "history load s, full year",
        ((t.elapsed().as_secs_f64() * 100.0).round() / 100.0).into(),
    );
    drop(back);
    let _ = std::fs::remove_file(tmp.path().join("history-year.bin"));
    drop(parsed);

    // 3. The two daemons side by side.
    let (gx, gi, mx, mi) = (free_port(), free_port(), free_port(), free_port());
    let gantry = start_gantry(bin, tmp.path(), &format!("bench {} {src}", o.step), gx, gi)?;
    let gmetad = match &why_no_gmetad {
        Some(why) => Err(why.clone()),
        None => start_gmetad(tmp.path(), src, o.step, mx, mi),
    };
    let gx_addr: SocketAddr = format!("127.0.0.1:{gx}").parse()?;
    let mx_addr: SocketAddr = format!("127.0.0.1:{mx}").parse()?;
    wait_ready(gx_addr, o.hosts, Duration::from_secs(120)).map_err(anyhow::Error::msg)?;
    let gmetad =
        gmetad.and_then(
            |d| match wait_ready(mx_addr, o.hosts, Duration::from_secs(180)) {
                Ok(()) => Ok(d),
                Err(e) => {
                    let log =
                        std::fs::read_to_string(tmp.path().join("gmetad.log")).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(8).collect();
                    Err(format!(
                        "{e}; gmetad's log ends: {}",
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    ))
                }
            },
        );
    // Measure both over the same window, in parallel.
    let (ours, theirs) = std::thread::scope(|s| {
        let a = s.spawn(|| measure_daemon(&gantry, o.window, o.step));
        let b = s.spawn(|| {
            gmetad
                .as_ref()
                .ok()
                .map(|d| measure_daemon(d, o.window, o.step))
        });
        (a.join().unwrap_or((0.0, 0.0)), b.join().ok().flatten())
    });
    put(
        "gantry aggregator cpu s per poll",
        ((ours.0 * 1000.0).round() / 1000.0).into(),
    );
    put("gantry aggregator rss MB", (ours.1.round()).into());
    let (rate, size) = serve_rate(gx_addr);
    put("gantry xml dump MB/s", (rate.round()).into());
    put("gantry xml dump bytes", size.into());
    put(
        "gantry ?filter=summary ms (median of 30)",
        ((summary_ms(format!("127.0.0.1:{gi}").parse()?) * 100.0).round() / 100.0).into(),
    );
    match (&gmetad, theirs) {
        (Ok(d), Some((cpu, rss))) => {
            put(
                "gmetad cpu s per poll (write_rrds off)",
                ((cpu * 1000.0).round() / 1000.0).into(),
            );
            put("gmetad rss MB", (rss.round()).into());
            let (rate, size) = serve_rate(mx_addr);
            put("gmetad xml dump MB/s", (rate.round()).into());
            put("gmetad xml dump bytes", size.into());
            put(
                "gmetad ?filter=summary ms (median of 30)",
                ((summary_ms(format!("127.0.0.1:{mi}").parse()?) * 100.0).round() / 100.0).into(),
            );
            put(
                "cpu per poll: gantry / gmetad",
                (((ours.0 / cpu.max(1e-9)) * 1000.0).round() / 1000.0).into(),
            );
            let _ = d.name;
        }
        (Err(why), _) => put("gmetad", format!("not measured: {why}").into()),
        _ => put("gmetad", "not measured".into()),
    }
    drop(gantry);
    drop(gmetad);

    // 4. An idle aggregator: a small source that does not change, no clients.
    let small = rt.block_on(SimHandle::start(
        vec![ClusterSpec {
            name: "idle".into(),
            hosts: 10,
            down: 0,
            port: 0,
        }],
        SimOptions {
            step: 3600,
            ..SimOptions::default()
        },
    ))?;
    let idle_src = small
        .addr("idle")
        .ok_or_else(|| anyhow::anyhow!("no idle sim"))?;
    let idle_dir = tempfile::tempdir()?;
    let idle = start_gantry(
        bin,
        idle_dir.path(),
        &format!("idle 15 {idle_src}"),
        free_port(),
        free_port(),
    )?;
    std::thread::sleep(Duration::from_secs(3));
    let c0 = proc_cpu(idle.child.id());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(o.window.max(30)));
    let pct = (proc_cpu(idle.child.id()) - c0) / t0.elapsed().as_secs_f64() * 100.0;
    put(
        "idle gantry aggregator % of a core",
        ((pct * 1000.0).round() / 1000.0).into(),
    );
    drop(idle);

    support::write_results(
        "versus_gmetad.json",
        &serde_json::to_string_pretty(&serde_json::Value::Object(report))?,
    );
    Ok(())
}
