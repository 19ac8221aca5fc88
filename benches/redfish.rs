//! Polling 1,000 BMCs. Run with:
//!
//!     cargo bench --bench redfish
//!
//! The BMCs are a fast local stand-in that replays the DMTF mockup's documents
//! (`../shared/peers/redfish-mockup-server/public-rackmount1`): one HTTP server on loopback
//! where BMC N lives under `/bmcN`, answering each request from the mockup's files (collections
//! expanded for `$expand=.($levels=1)`, as the mockup server does) — a thousand Python mockup
//! servers would measure Python. Gantry's client polls all of them with a fixed concurrency,
//! as it would each step; the bench reports the wall time against the 60 s step, the CPU time
//! Gantry's client spent (its thread's alone: the client runs on this thread, the stand-in on
//! another), and the memory the readings take. Results also land in target/bench/redfish.json.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn mockup() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/peers/redfish-mockup-server/public-rackmount1");
    d.exists().then_some(d)
}

/// Every document of the mockup by its path (`/redfish/v1/Chassis/1U`).
fn load(dir: &Path) -> HashMap<String, serde_json::Value> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "index.json") {
                let rel = p
                    .parent()
                    .and_then(|x| x.strip_prefix(dir).ok())
                    .map(|x| x.display().to_string())
                    .unwrap_or_default();
                let key = if rel.is_empty() {
                    "/redfish/v1".to_string()
                } else {
                    format!("/redfish/v1/{rel}")
                };
                if let Ok(v) =
                    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_default())
                {
                    out.insert(key, v);
                }
            }
        }
    }
    out
}

/// The answer for `path` (with its query), expanded one level when asked.
fn answer(docs: &HashMap<String, serde_json::Value>, path: &str) -> Option<String> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let path = path.trim_end_matches('/');
    let mut doc = docs.get(path)?.clone();
    if query.contains("$expand")
        && let Some(members) = doc.get_mut("Members").and_then(|m| m.as_array_mut())
    {
        for m in members.iter_mut() {
            let id = m
                .get("@odata.id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            if let Some(full) = docs.get(id.trim_end_matches('/')) {
                *m = full.clone();
            }
        }
    }
    Some(doc.to_string())
}

/// The stand-in: answers `/bmcN/redfish/v1/…` from the mockup, keep-alive.
async fn serve(listener: tokio::net::TcpListener, docs: Arc<HashMap<String, serde_json::Value>>) {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            continue;
        };
        let docs = docs.clone();
        let _ = sock.set_nodelay(true);
        tokio::spawn(async move {
            let (r, mut w) = sock.into_split();
            let mut r = BufReader::new(r);
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if h == "\r\n" {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; length];
                if length > 0
                    && tokio::io::AsyncReadExt::read_exact(&mut r, &mut body)
                        .await
                        .is_err()
                {
                    return;
                }
                // `/bmcN/redfish/v1/…` → `/redfish/v1/…`
                let path = target
                    .splitn(3, '/')
                    .nth(2)
                    .map(|p| format!("/{p}"))
                    .unwrap_or_default();
                // `/hungN/…`: a BMC that accepted the connection and never answers.
                if target.starts_with("/hung") {
                    std::future::pending::<()>().await;
                }
                let (status, text) = if line.starts_with("POST") {
                    (
                        "201 Created\r\nX-Auth-Token: 1234567890ABCDEF",
                        "{}".to_string(),
                    )
                } else {
                    match answer(&docs, &path) {
                        Some(t) => ("200 OK", t),
                        None => ("404 Not Found", "{}".to_string()),
                    }
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    text.len()
                );
                // One write: a head and a body written apart meet Nagle and the client's
                // delayed ACK, 40 ms a request — the stand-in's cost, not the client's.
                let whole = [head.as_bytes(), text.as_bytes()].concat();
                if w.write_all(&whole).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// CPU seconds of this thread (the client's; the stand-in runs on its own).
fn cpu_secs() -> f64 {
    // SAFETY: getrusage on a local struct.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// The aggregator's own work on one poll's readings, in CPU milliseconds of this thread (the
/// median of 5): merging them into the snapshot of a 1,000-host cluster (each reading a metric
/// of its host, the cluster's summary recomputed), and recording them as history.
fn aggregator_side(polled: &[gantry::redfish::pool::BmcStatus]) -> (f64, f64) {
    use gantry::aggregator::{
        BmcHealth, BmcView, FetchReport, Fetched, HistorySink, SensorView, Snapshot, SourceConfig,
        SourceState, with_sensors,
    };
    let n = polled.len();
    let now = 1_800_000_000;
    let spec = gantry::sim::ClusterSpec {
        name: "bench".into(),
        hosts: n,
        down: 0,
        port: 0,
    };
    let mut doc = Vec::new();
    gantry::sim::SimCluster::new(&spec, 7, now).render(&mut doc);
    let cfg = SourceConfig::network("bench", vec!["127.0.0.1:1".parse().expect("address")]);
    let mut st = SourceState::new(Arc::new(cfg));
    let parsed = gantry::ganglia::parse_bytes(&doc, &mut st.interner, Default::default())
        .expect("the simulated document parses");
    let report = FetchReport {
        fetched: Some(Fetched {
            parsed,
            address: 0,
            latency: Duration::from_millis(1),
            incomplete: None,
        }),
        failures: vec![],
    };
    let view = st.apply(report, now, None);
    let hosts: Vec<String> = view.clusters[0]
        .cluster
        .hosts
        .iter()
        .map(|h| h.name.to_string())
        .collect();
    let snap = Snapshot {
        sources: vec![view],
        ..Snapshot::default()
    };
    let sensors = SensorView {
        cluster: "bench".into(),
        interval: 60,
        polled_at: now,
        error: None,
        bmcs: polled
            .iter()
            .zip(&hosts)
            .map(|(p, h)| BmcView {
                host: h.as_str().into(),
                url: p.url.as_str().into(),
                health: BmcHealth::Ok,
                error: None,
                took: p.took,
                requests: p.requests,
                last_success: Some(now),
                polls_ok: 1,
                polls_failed: 0,
                readings: p.readings.clone(),
            })
            .collect(),
        generation: 1,
    };
    let sensors = Arc::new(sensors);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let merge = median(
        (0..5)
            .map(|_| {
                let c = cpu_secs();
                let merged = with_sensors(&snap, vec![sensors.clone()], now);
                std::hint::black_box(&merged);
                (cpu_secs() - c) * 1000.0
            })
            .collect(),
    );
    let store = gantry::history::HistoryStore::new();
    let record = median(
        (0..5)
            .map(|round| {
                let c = cpu_secs();
                let metrics: Vec<Vec<gantry::model::Metric>> = polled
                    .iter()
                    .map(|p| {
                        p.readings
                            .iter()
                            .filter_map(|r| gantry::redfish::metric::to_metric(r, 60, 0))
                            .collect()
                    })
                    .collect();
                let rows: Vec<(&str, &[gantry::model::Metric])> = hosts
                    .iter()
                    .zip(&metrics)
                    .map(|(h, m)| (h.as_str(), m.as_slice()))
                    .collect();
                store.record_hosts("bench", now + 60 * round, &rows);
                (cpu_secs() - c) * 1000.0
            })
            .collect(),
    );
    (merge, record)
}

/// 1,000 BMCs of which every tenth hangs (accepts, never answers), polled by the aggregator's
/// sensor task with 2 s timeouts: the seconds from a round's start until (1) the first round
/// published everything (one lane: nothing is known to be failing yet), (2) the next round
/// published the healthy BMCs' readings, (3) it settled the hung ones; (2) and (3) from the
/// second round's start, one interval (10 s) after the first's.
fn lanes(addr: std::net::SocketAddr, rt: &tokio::runtime::Runtime) -> (f64, f64, f64) {
    use gantry::aggregator::{Aggregator, AggregatorConfig, BmcFactory, SensorSource};
    let hosts: Vec<String> = (0..1000).map(|i| format!("node{i:04}")).collect();
    let factory: BmcFactory = Arc::new(move |h: &str| {
        let i: usize = h.trim_start_matches("node").parse().unwrap_or(0);
        let base = if i.is_multiple_of(10) { "hung" } else { "bmc" };
        gantry::redfish::client::BmcConfig {
            host: h.to_string(),
            url: format!("http://{addr}/{base}{i}"),
            user: "monitor".into(),
            password: "pw".into(),
            trust: None,
            timeout: Duration::from_secs(2),
        }
    });
    let cfg = AggregatorConfig {
        sensors: vec![SensorSource {
            cluster: "bench".into(),
            interval: 10,
            concurrency: 32,
            hosts,
            bmc: Ok(factory),
        }],
        ..AggregatorConfig::default()
    };
    rt.block_on(async {
        let agg = Aggregator::start(cfg);
        let mut rx = agg.subscribe();
        let t0 = Instant::now();
        let mut at = Vec::new();
        let mut seen = 0;
        while at.len() < 3 {
            if rx.changed().await.is_err() {
                break;
            }
            let g = rx.borrow().sensors.first().map_or(0, |s| s.generation);
            if g > seen {
                seen = g;
                at.push(t0.elapsed().as_secs_f64());
            }
        }
        agg.stop();
        // The second round starts one interval after the first did.
        let round2 = 10.0;
        (
            at.first().copied().unwrap_or(0.0),
            at.get(1).map_or(0.0, |t| t - round2),
            at.get(2).map_or(0.0, |t| t - round2),
        )
    })
}

fn main() {
    let Some(dir) = mockup() else {
        println!("SKIPPED: the Redfish mockup is not in ../shared/peers/redfish-mockup-server");
        return;
    };
    let docs = Arc::new(load(&dir));
    // The stand-in runs in a thread with a runtime of its own; its CPU is measured apart.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().expect("addr");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let served = docs.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            serve(l, served).await;
        });
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let n = 1000;
    let concurrency = 32;
    let rss0 = rss_mb();
    // As the aggregator makes them: the BMCs of one table share one HTTP client.
    let mut bmcs: Vec<Arc<gantry::redfish::client::Bmc>> = Vec::with_capacity(n);
    for i in 0..n {
        let cfg = gantry::redfish::client::BmcConfig {
            host: format!("node{i:04}"),
            url: format!("http://{addr}/bmc{i}"),
            user: "monitor".into(),
            password: "pw".into(),
            trust: None,
            timeout: Duration::from_secs(5),
        };
        let b = match bmcs.first() {
            Some(first) => gantry::redfish::client::Bmc::like(cfg, first),
            None => gantry::redfish::client::Bmc::new(cfg),
        };
        bmcs.push(Arc::new(b.expect("client")));
    }
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let (cpu0, t0) = (cpu_secs(), Instant::now());
        let st = rt.block_on(gantry::redfish::pool::poll_all(
            &bmcs,
            concurrency,
            gantry::redfish::pool::PATIENCE,
        ));
        let wall = t0.elapsed().as_secs_f64();
        let ok = st
            .iter()
            .filter(|s| s.health != gantry::redfish::pool::Health::Failing)
            .count();
        let readings: usize = st.iter().map(|s| s.readings.len()).sum();
        let requests: usize = st.iter().map(|s| s.requests).sum();
        rounds.push((wall, cpu_secs() - cpu0, ok, readings, requests));
        std::hint::black_box(&st);
    }
    let rss = rss_mb();
    let (wall, cpu, ok, readings, requests) = rounds[rounds.len() - 1];
    let last = rt.block_on(gantry::redfish::pool::poll_all(
        &bmcs,
        concurrency,
        gantry::redfish::pool::PATIENCE,
    ));
    let (merge_ms, record_ms) = aggregator_side(&last);
    let (one_lane, healthy, settled) = lanes(addr, &rt);
    println!(
        "every tenth of 1000 BMCs hangs (2 s timeouts, 32 at a time): first round, one lane, everything published after {one_lane:.1} s; next round, healthy readings published after {healthy:.2} s, the hung ones settled after {settled:.1} s"
    );
    println!(
        "{n} BMCs, {concurrency} at a time: {ok} answered, {readings} readings in {requests} requests; wall {wall:.2} s of a 60 s step; client CPU {cpu:.2} s (wall of each run {:?}); resident memory {rss0:.0} → {rss:.0} MB ({:.1} KB per BMC)",
        rounds
            .iter()
            .map(|r| (r.0 * 100.0).round() / 100.0)
            .collect::<Vec<_>>(),
        (rss - rss0) * 1024.0 / n as f64
    );
    println!(
        "aggregator side, per poll of the {n} BMCs: readings merged into a {n}-host cluster's snapshot (metrics, summary) {merge_ms:.1} ms CPU; recorded as history {record_ms:.1} ms CPU"
    );
    let v = serde_json::json!({
        "bmcs": n, "concurrency": concurrency, "answered": ok, "readings": readings,
        "requests": requests, "wall_s": wall, "cpu_s": cpu,
        "merge_cpu_ms": merge_ms, "history_cpu_ms": record_ms,
        "hung_tenth": { "one_lane_s": one_lane, "healthy_lane_s": healthy, "hung_lane_s": settled },
        "rss_mb_before": rss0, "rss_mb_after": rss,
    });
    support::write_results("redfish.json", &format!("{v:#}\n"));
}
