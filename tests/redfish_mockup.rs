//! Reading BMCs against the DMTF Redfish Mockup Server (a real Redfish service) with its
//! `public-rackmount1` mockup: the current `Sensors` model (expanded in one request), the
//! legacy `Thermal` and `Power` layout, readings that change between polls, a slow BMC, a dead
//! one, and HTTPS trusted by CA or by a pinned certificate.

mod common;

use std::time::Duration;

use common::redfish::{available, copy_mockup, start};
use gantry::cm::tls::Trust;
use gantry::redfish::client::{Bmc, BmcConfig, BmcError};
use gantry::redfish::poll::poll;
use gantry::redfish::{Kind, Level, Reading};

fn bmc(url: &str, trust: Option<Trust>, timeout: Duration) -> Bmc {
    Bmc::new(BmcConfig {
        host: "node01".into(),
        url: url.into(),
        user: "root".into(),
        password: "calvin".into(),
        trust,
        timeout,
    })
    .expect("a client")
}

fn find<'a>(r: &'a [Reading], metric: &str) -> &'a Reading {
    r.iter().find(|x| x.metric == metric).unwrap_or_else(|| {
        panic!(
            "{metric} in {:?}",
            r.iter().map(|x| &x.metric).collect::<Vec<_>>()
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sensors_of_the_mockup_become_named_readings_with_thresholds() {
    let Some((server, py)) = available() else {
        return;
    };
    let m = start(&server, &py, None, &[]);
    let b = bmc(&m.url, None, Duration::from_secs(10));
    let p = poll(&b).await.expect("a poll");
    assert_eq!(p.layout, ["Sensors", "ThermalSubsystem", "PowerSubsystem"]);
    // Root, chassis list, the chassis, its sensors expanded in one request; the thermal and
    // power subsystems with their fans and supplies, expanded likewise.
    assert_eq!(p.requests, 8, "{p:?}");
    let t = find(&p.readings, "temp_cpu1");
    assert_eq!(
        (t.kind, t.value, t.units.as_str()),
        (Kind::Temperature, Some(37.0), "C")
    );
    assert_eq!(t.thresholds.upper_caution, Some(42.0));
    assert_eq!(t.thresholds.upper_critical, Some(45.0));
    assert_eq!(t.thresholds.upper_fatal, Some(50.0));
    assert_eq!(t.level(), Level::Normal);
    assert_eq!(t.health.as_deref(), Some("OK"));
    // A fan's speed in RPM from its Fan resource, in percent from its sensor.
    let f = find(&p.readings, "fan_bay1");
    assert_eq!(
        (f.kind, f.value, f.units.as_str()),
        (Kind::Fan, Some(2200.0), "RPM")
    );
    let f = find(&p.readings, "fan_bay1_pct");
    assert_eq!((f.value, f.units.as_str()), (Some(45.0), "%"));
    assert_eq!(f.thresholds.lower_caution, Some(5.0));
    // A power supply's health: the mockup's first one says Warning.
    let psu = find(&p.readings, "psu_bay1");
    assert_eq!(psu.level(), Level::Caution);
    assert!(!find(&p.readings, "psu_bay2").present());
    let w = find(&p.readings, "power_consumed");
    assert_eq!((w.value, w.units.as_str()), (Some(374.0), "W"));
    // The second supply is absent: listed, with no value to record.
    let absent = find(&p.readings, "power_ps2_input");
    assert!(!absent.present(), "{absent:?}");
    let names: std::collections::HashSet<_> = p.readings.iter().map(|r| &r.metric).collect();
    assert_eq!(names.len(), p.readings.len(), "metric names are unique");
    // 41 sensors, 4 fans, 2 power supplies.
    assert_eq!(p.readings.len(), 47);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bmc_with_only_the_legacy_thermal_and_power_resources() {
    let Some((server, py)) = available() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let data = copy_mockup(&server, dir.path());
    // Only `Thermal` and `Power`: the current resources and the chassis's links to them gone.
    let idx = data.join("Chassis/1U/index.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&idx).expect("read")).expect("json");
    for r in ["Sensors", "ThermalSubsystem", "PowerSubsystem"] {
        std::fs::remove_dir_all(data.join("Chassis/1U").join(r)).expect("rm");
        doc.as_object_mut().expect("object").remove(r);
    }
    std::fs::write(&idx, doc.to_string()).expect("write");
    let m = start(&server, &py, Some(&data), &[]);
    let p = poll(&bmc(&m.url, None, Duration::from_secs(10)))
        .await
        .expect("a poll");
    assert_eq!(p.layout, vec!["Thermal".to_string(), "Power".to_string()]);
    let t = find(&p.readings, "temp_cpu1");
    assert_eq!(t.value, Some(41.0));
    assert_eq!(t.thresholds.upper_caution, Some(42.0));
    let w = find(&p.readings, "power_consumed");
    assert_eq!(w.value, Some(344.0));
    // A disabled sensor is listed without a value.
    assert!(!find(&p.readings, "temp_cpu2").present());
}

#[tokio::test(flavor = "multi_thread")]
async fn readings_that_change_between_polls_and_pass_their_thresholds() {
    let Some((server, py)) = available() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let data = copy_mockup(&server, dir.path());
    let m = start(&server, &py, Some(&data), &[]);
    let b = bmc(&m.url, None, Duration::from_secs(10));
    assert_eq!(
        find(&poll(&b).await.expect("poll").readings, "temp_cpu1").value,
        Some(37.0)
    );
    let f = data.join("Chassis/1U/Sensors/CPU1Temp/index.json");
    let text = std::fs::read_to_string(&f).expect("read");
    std::fs::write(&f, text.replace("\"Reading\": 37,", "\"Reading\": 47,")).expect("write");
    let p = poll(&b).await.expect("poll");
    let t = find(&p.readings, "temp_cpu1");
    assert_eq!(t.value, Some(47.0));
    assert_eq!(t.level(), Level::Critical);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_bmc_times_out_and_a_dead_one_says_so() {
    let Some((server, py)) = available() else {
        return;
    };
    let m = start(&server, &py, None, &["-t", "2"]);
    let e = poll(&bmc(&m.url, None, Duration::from_millis(700)))
        .await
        .expect_err("too slow");
    assert!(matches!(e, BmcError::Link { .. }), "{e}");
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let e = poll(&bmc(&dead, None, Duration::from_secs(2)))
        .await
        .expect_err("nobody there");
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn https_by_the_sites_ca_or_by_a_pinned_certificate() {
    let Some((server, py)) = available() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let tls = dir.path().join("tls");
    gantry::cm::tls::init(&tls, &["127.0.0.1".into()]).expect("a CA and a certificate");
    let (cert, key) = (tls.join("cm.crt"), tls.join("cm.key"));
    let m = start(
        &server,
        &py,
        None,
        &[
            "--ssl",
            "--cert",
            &cert.display().to_string(),
            "--key",
            &key.display().to_string(),
        ],
    );
    let by_ca = bmc(
        &m.url,
        Some(Trust::Ca(tls.join("ca.crt"))),
        Duration::from_secs(10),
    );
    assert!(!poll(&by_ca).await.expect("by CA").readings.is_empty());
    let fp = gantry::cm::tls::fingerprint_of_file(&cert).expect("fingerprint");
    let pinned = bmc(&m.url, Some(Trust::Pin(fp)), Duration::from_secs(10));
    assert!(!poll(&pinned).await.expect("by pin").readings.is_empty());
    let wrong = bmc(
        &m.url,
        Some(Trust::Pin(format!("sha256:{}", "0".repeat(64)))),
        Duration::from_secs(10),
    );
    let e = poll(&wrong).await.expect_err("another certificate");
    assert!(e.to_string().contains("not the pinned"), "{e}");
    // HTTPS without a way to trust the BMC is refused before anything is sent.
    assert!(
        Bmc::new(BmcConfig {
            host: "n".into(),
            url: m.url.clone(),
            user: "u".into(),
            password: "p".into(),
            trust: None,
            timeout: Duration::from_secs(1),
        })
        .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn many_bmcs_at_once_where_a_dead_or_slow_one_holds_up_no_other() {
    use gantry::redfish::pool::{Health, poll_all};
    let Some((server, py)) = available() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let data = copy_mockup(&server, dir.path());
    // Three nodes' BMCs (one with a hotter CPU), a slow one and a dead one.
    let hot = dir.path().join("hot");
    std::fs::create_dir_all(&hot).expect("dir");
    let hot = copy_mockup(&server, &hot);
    let f = hot.join("Chassis/1U/Sensors/CPU1Temp/index.json");
    let text = std::fs::read_to_string(&f).expect("read");
    std::fs::write(&f, text.replace("\"Reading\": 37,", "\"Reading\": 43,")).expect("write");
    let good: Vec<_> = [None, Some(data.as_path()), Some(hot.as_path())]
        .into_iter()
        .map(|d| start(&server, &py, d, &[]))
        .collect();
    let slow = start(&server, &py, None, &["-t", "3"]);
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let mut urls: Vec<String> = good.iter().map(|m| m.url.clone()).collect();
    urls.push(slow.url.clone());
    urls.push(dead);
    let bmcs: Vec<_> = urls
        .iter()
        .map(|u| std::sync::Arc::new(bmc(u, None, Duration::from_millis(800))))
        .collect();
    let st = poll_all(&bmcs, 2, gantry::redfish::pool::PATIENCE).await;
    assert_eq!(st.len(), 5);
    for s in &st[..3] {
        assert_ne!(s.health, Health::Failing, "{s:?}");
        assert_eq!(s.readings.len(), 47);
    }
    assert_eq!(find(&st[2].readings, "temp_cpu1").level(), Level::Caution);
    assert_eq!(st[3].health, Health::Failing, "{:?}", st[3]);
    assert_eq!(st[4].health, Health::Failing, "{:?}", st[4]);
    assert!(
        st[4]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("127.0.0.1"))
    );
}

/// A `[[bmc]]` table as config.toml would give it, with a credentials file made 0600 in `dir`.
fn bmc_table(dir: &std::path::Path, addresses: &[(&str, String)], extra: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let cred = dir.join("bmc.cred");
    std::fs::write(&cred, "root:calvin\n").expect("credentials");
    std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let table: Vec<String> = addresses
        .iter()
        .map(|(h, a)| format!("\"{h}\" = \"{a}\""))
        .collect();
    let hosts: Vec<String> = addresses.iter().map(|(h, _)| format!("\"{h}\"")).collect();
    format!(
        "[[bmc]]\ncluster = \"alpha\"\nscheme = \"http\"\ncredentials_file = \"{}\"\n\
         addresses = {{ {} }}\nhosts = [{}]\ntimeout = 2\ninterval = 3\nconcurrency = 2\n{extra}",
        cred.display(),
        table.join(", "),
        hosts.join(", ")
    )
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aggregator_puts_each_bmcs_sensors_on_its_host_with_history() {
    use gantry::aggregator::{Aggregator, BmcHealth, SourceConfig};
    use gantry::history::{HistoryStore, Range};
    use gantry::sim::{ClusterSpec, SimHandle, SimOptions};
    use std::sync::Arc;

    let Some((server, py)) = available() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    // Three nodes' BMCs: the mockup as shipped, a copy whose CPU runs past critical, and one
    // that is down; a fourth node has no BMC configured.
    let hot = copy_mockup(&server, dir.path());
    let cpu1 = hot.join("Chassis/1U/Sensors/CPU1Temp/index.json");
    let text = std::fs::read_to_string(&cpu1).expect("read");
    std::fs::write(&cpu1, text.replace("\"Reading\": 37,", "\"Reading\": 47,")).expect("write");
    let m1 = start(&server, &py, None, &[]);
    let m2 = start(&server, &py, Some(&hot), &[]);
    let dead = format!("127.0.0.1:{}", common::free_port());
    let text = bmc_table(
        dir.path(),
        &[
            ("alpha-node0001", host_port(&m1.url)),
            ("alpha-node0002", host_port(&m2.url)),
            ("alpha-node0003", dead.clone()),
        ],
        "",
    );
    let cfg = gantry::config::Config::parse(&dir.path().join("config.toml"), &text)
        .expect("the table is valid");
    let mut agg_cfg = cfg.aggregator_config();
    let sim = SimHandle::start(
        vec![ClusterSpec {
            name: "alpha".into(),
            hosts: 4,
            down: 0,
            port: 0,
        }],
        SimOptions::default(),
    )
    .await
    .expect("sim");
    let addr = sim.addr("alpha").expect("sim address").to_string();
    agg_cfg.sources = vec![SourceConfig::network(
        "alpha",
        vec![addr.parse().expect("address")],
    )];
    let history = Arc::new(HistoryStore::new());
    agg_cfg.history = Some(history.clone());
    let agg = Aggregator::start(agg_cfg);

    // Wait for two polls of the BMCs after the cluster is known.
    let mut snaps = agg.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let snap = loop {
        let s = snaps.borrow_and_update().clone();
        if s.sensors
            .first()
            .is_some_and(|v| v.generation >= 2 && v.bmcs.len() == 3)
            && s.cluster("alpha").is_some()
        {
            break s;
        }
        assert!(tokio::time::Instant::now() < deadline, "no BMC polls");
        let _ = tokio::time::timeout(Duration::from_secs(5), snaps.changed()).await;
    };
    let cv = snap.cluster("alpha").expect("cluster");
    let temp = |h: &str| {
        cv.cluster
            .host(h)
            .and_then(|h| h.metric("temp_cpu1"))
            .map(|m| m.num)
    };
    assert_eq!(temp("alpha-node0001"), Some(37.0));
    assert_eq!(temp("alpha-node0002"), Some(47.0));
    assert_eq!(temp("alpha-node0003"), None, "its BMC is down");
    assert_eq!(temp("alpha-node0004"), None, "no BMC configured");
    let m = cv
        .cluster
        .host("alpha-node0002")
        .and_then(|h| h.metric("temp_cpu1"))
        .expect("metric");
    let extra = |k: &str| {
        m.meta
            .extra
            .iter()
            .find(|(n, _)| &**n == k)
            .map(|(_, v)| v.to_string())
    };
    assert_eq!(extra("CRITICAL_HIGH").as_deref(), Some("45"));
    assert_eq!(extra("GROUP").as_deref(), Some("sensors"));
    // Sensors count in the cluster's summary like any metric.
    let s = cv
        .summary()
        .metrics
        .iter()
        .find(|s| &*s.meta.name == "temp_cpu1")
        .expect("summarised");
    assert_eq!((s.sum, s.num), (84.0, 2));
    // Each BMC's health, like a source's.
    let (_, b1) = snap.bmc("alpha", "alpha-node0001").expect("bmc 1");
    assert!(
        matches!(b1.health, BmcHealth::Ok | BmcHealth::Slow),
        "{b1:?}"
    );
    let (_, b3) = snap.bmc("alpha", "alpha-node0003").expect("bmc 3");
    assert_eq!(b3.health, BmcHealth::Failing);
    assert!(
        b3.error.as_deref().is_some_and(|e| e.contains(&dead)),
        "the error names the BMC: {:?}",
        b3.error
    );
    // Recorded as history of the host.
    let now = gantry::aggregator::now_epoch();
    let series = history
        .host_series(
            "alpha",
            "alpha-node0002",
            "temp_cpu1",
            Range::Hour,
            now + 60,
        )
        .expect("a series");
    let seen: Vec<f64> = series.points.iter().flatten().map(|p| p.max).collect();
    assert!(seen.contains(&47.0), "{seen:?}");

    // The hot CPU cools: the next poll shows it.
    let text = std::fs::read_to_string(&cpu1).expect("read");
    std::fs::write(&cpu1, text.replace("\"Reading\": 47,", "\"Reading\": 39,")).expect("write");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = snaps.borrow_and_update().clone();
        let v = s.cluster("alpha").and_then(|c| {
            c.cluster
                .host("alpha-node0002")
                .and_then(|h| h.value("temp_cpu1"))
        });
        if v == Some(39.0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {v:?}");
        let _ = tokio::time::timeout(Duration::from_secs(5), snaps.changed()).await;
    }
    agg.stop();
    sim.stop();
}

const PARENT: &str = "a_parent_gmetad_sees_the_sensors_gantry_aggregator_serves";

/// `gantry aggregator` with a `[[bmc]]` table serves each host's sensors in its gmetad XML,
/// thresholds as extra data; Debian's gmetad above it passes them on; `gantry status` lists the
/// BMCs. gmetad binds every interface, so this runs in a private network namespace.
#[test]
fn a_parent_gmetad_sees_the_sensors_gantry_aggregator_serves() {
    if available().is_none() {
        return;
    }
    if !std::path::Path::new("/usr/sbin/gmetad").exists() {
        common::skip("gmetad is not installed (apt-get install gmetad)");
        return;
    }
    match common::netns::run_inside(PARENT) {
        common::netns::NetNs::Inside => parent_inside(),
        common::netns::NetNs::Done => {}
        common::netns::NetNs::Unavailable(why) => println!("SKIPPED: {why}"),
    }
}

fn dump(port: u16) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.read_to_end(&mut out);
    }
    out
}

fn parse(doc: &[u8]) -> gantry::model::Document {
    use gantry::ganglia::{Interner, Limits, parse_bytes};
    parse_bytes(doc, &mut Interner::default(), Limits::default())
        .map(|p| p.document)
        .unwrap_or_default()
}

/// The text of `metric` on `host` anywhere in `doc`, with its extra data.
fn sensor_in(
    doc: &gantry::model::Document,
    host: &str,
    metric: &str,
) -> Option<(String, Vec<(String, String)>)> {
    doc.clusters().into_iter().find_map(|c| {
        let m = c.host(host)?.metric(metric)?;
        Some((
            m.text.to_string(),
            m.meta
                .extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    })
}

fn parent_inside() {
    use common::Proc;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    let (server, py) = available().expect("checked outside");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sim = rt
        .block_on(gantry::sim::SimHandle::start(
            vec![gantry::sim::ClusterSpec {
                name: "alpha".into(),
                hosts: 3,
                down: 0,
                port: 0,
            }],
            gantry::sim::SimOptions::default(),
        ))
        .expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let m1 = start(&server, &py, None, &[]);
    let dead = format!("127.0.0.1:{}", common::free_port());
    let table = bmc_table(
        dir.path(),
        &[
            ("alpha-node0001", host_port(&m1.url)),
            ("alpha-node0002", dead.clone()),
        ],
        "",
    );
    std::fs::write(
        dir.path().join("config.toml"),
        format!("grid_name = \"lower\"\n{table}"),
    )
    .expect("config");
    let source = format!("alpha {}", sim.addr("alpha").expect("sim address"));
    let ours = common::free_port();
    let _agg = Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["aggregator", "--no-history", "--source", &source])
            .args(["--xml-listen", &format!("127.0.0.1:{ours}")])
            .args(["--interactive-listen", "off"])
            .env("GANTRY_CONFIG_DIR", dir.path())
            .env("GANTRY_STATE_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry aggregator"),
    );
    let (xml, interactive) = (common::free_port(), common::free_port());
    let rrds = dir.path().join("rrds");
    std::fs::create_dir_all(&rrds).expect("rrd dir");
    let conf = dir.path().join("gmetad.conf");
    std::fs::write(
        &conf,
        format!(
            "data_source \"lower\" 5 127.0.0.1:{ours}\ngridname \"upper\"\nxml_port {xml}\n\
             interactive_port {interactive}\nscalable off\nsetuid off\nwrite_rrds off\n\
             rrd_rootdir \"{}\"\n",
            rrds.display()
        ),
    )
    .expect("gmetad.conf");
    let _gmetad = Proc(
        Command::new("/usr/sbin/gmetad")
            .args(["-d", "1", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gmetad"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let (ours_doc, theirs) = loop {
        let o = parse(&dump(ours));
        let t = parse(&dump(xml));
        if sensor_in(&o, "alpha-node0001", "temp_cpu1").is_some()
            && sensor_in(&t, "alpha-node0001", "temp_cpu1").is_some()
        {
            break (o, t);
        }
        assert!(
            Instant::now() < deadline,
            "the sensors never reached gmetad (ours: {:?})",
            sensor_in(&o, "alpha-node0001", "temp_cpu1")
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    for (who, doc) in [("gantry", &ours_doc), ("gmetad", &theirs)] {
        let (text, extra) = sensor_in(doc, "alpha-node0001", "temp_cpu1").expect("sensor");
        assert_eq!(text, "37", "{who}");
        for want in [
            ("GROUP", "sensors"),
            ("CAUTION_HIGH", "42"),
            ("CRITICAL_HIGH", "45"),
        ] {
            assert!(
                extra.contains(&(want.0.to_string(), want.1.to_string())),
                "{who}: {want:?} in {extra:?}"
            );
        }
        assert!(
            sensor_in(doc, "alpha-node0001", "power_consumed").is_some(),
            "{who}"
        );
        assert!(
            sensor_in(doc, "alpha-node0002", "temp_cpu1").is_none(),
            "{who}: a dead BMC gives no readings"
        );
    }
    // `gantry status` polls the BMCs once and names the one that does not answer.
    let status = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["status", "--source", &source])
        .env("GANTRY_CONFIG_DIR", dir.path())
        .env("GANTRY_STATE_DIR", dir.path())
        .output()
        .expect("gantry status");
    let text = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(1), "a BMC fails:\n{text}");
    assert!(text.contains("BMCS OF"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("alpha-node0002") && l.contains("failing") && l.contains(&dead)),
        "{text}"
    );
    drop(sim);
}

/// A BMC that accepts connections and never answers is polled in a lane of its own once it
/// has failed: the next round's healthy readings are published before its time runs out.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_bmc_never_holds_up_the_healthy_ones() {
    use gantry::aggregator::{Aggregator, BmcHealth, SourceConfig};
    use gantry::sim::{ClusterSpec, SimHandle, SimOptions};

    let Some((server, py)) = available() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let m1 = start(&server, &py, None, &[]);
    // Connections complete in the kernel's backlog; nothing ever reads or answers them.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hung_addr = hung.local_addr().expect("addr").to_string();
    let text = bmc_table(
        dir.path(),
        &[
            ("alpha-node0001", host_port(&m1.url)),
            ("alpha-node0002", hung_addr),
        ],
        "",
    )
    .replace("timeout = 2\ninterval = 3", "timeout = 1\ninterval = 2");
    let cfg = gantry::config::Config::parse(&dir.path().join("config.toml"), &text)
        .expect("the table is valid");
    let mut agg_cfg = cfg.aggregator_config();
    let sim = SimHandle::start(
        vec![ClusterSpec {
            name: "alpha".into(),
            hosts: 2,
            down: 0,
            port: 0,
        }],
        SimOptions::default(),
    )
    .await
    .expect("sim");
    let addr = sim.addr("alpha").expect("sim address").to_string();
    agg_cfg.sources = vec![SourceConfig::network(
        "alpha",
        vec![addr.parse().expect("address")],
    )];
    let agg = Aggregator::start(agg_cfg);
    let mut snaps = agg.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    // The state between the lanes of a round after the first: the healthy BMC read again
    // (and published) while the hung one is still at its previous failure. With one lane for
    // all, both would always change in the same snapshot.
    let mut last: Option<(u64, u64)> = None;
    loop {
        let s = snaps.borrow_and_update().clone();
        let b1 = s.bmc("alpha", "alpha-node0001").map(|b| b.1.clone());
        let b2 = s.bmc("alpha", "alpha-node0002").map(|b| b.1.clone());
        if let (Some(b1), Some(b2)) = (&b1, &b2) {
            let now = (b1.polls_ok, b2.polls_failed);
            if let Some((ok, failed)) = last
                && failed >= 1
                && now.0 > ok
                && now.1 == failed
            {
                assert!(matches!(b1.health, BmcHealth::Ok | BmcHealth::Slow));
                assert_eq!(b2.health, BmcHealth::Failing);
                assert!(
                    b2.error.as_deref().is_some_and(|e| e.contains("timed out")),
                    "{:?}",
                    b2.error
                );
                break;
            }
            last = Some(now);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never saw healthy readings published ahead of the hung BMC: {b1:?} {b2:?}"
        );
        let _ = tokio::time::timeout(Duration::from_secs(5), snaps.changed()).await;
    }
    agg.stop();
    sim.stop();
    drop(hung);
}

/// How many sessions the mockup at `url` holds.
async fn sessions_on(url: &str) -> usize {
    let url = format!("{url}/redfish/v1/SessionService/Sessions");
    let text = reqwest::get(&url)
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    doc["Members"].as_array().map(Vec::len).unwrap_or_default()
}

/// The real console in a pseudo-terminal, over `gantry sim` and a mockup as one node's BMC:
/// the tiles coloured by temperature, the host's sensor panel, and the sources overlay.
#[test]
fn the_console_shows_a_real_bmcs_sensors() {
    use common::pty::PtyApp;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    let Some((server, py)) = available() else {
        return;
    };
    let port = common::free_port();
    let _sim = common::Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args([
                "sim",
                "--cluster",
                &format!("alpha:4:{port}"),
                "--step",
                "1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry sim starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "gantry sim never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    let m1 = start(&server, &py, None, &[]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sessions_before = rt.block_on(sessions_on(&m1.url));
    let home = tempfile::tempdir().expect("dir");
    let table = bmc_table(home.path(), &[("alpha-node0001", host_port(&m1.url))], "");
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[[source]]\nname = \"alpha\"\nstep = 1\naddresses = [\"127.0.0.1:{port}\"]\n{table}"
        ),
    )
    .expect("config");
    let dir = home.path().to_str().expect("utf-8 path");
    let mut app = PtyApp::gantry(&[], dir, 140, 40);
    app.wait_for("alpha", Duration::from_secs(20))
        .expect("grid");
    app.send("\r");
    app.wait_for("› alpha", Duration::from_secs(10))
        .expect("cluster");
    // Load, CPU, memory, network, temperature: the mockup's hottest sensor on its tile.
    let hottest = rt
        .block_on(async {
            let b = bmc(&m1.url, None, Duration::from_secs(10));
            poll(&b).await.expect("a poll").readings
        })
        .iter()
        .filter(|r| r.kind == Kind::Temperature)
        .filter_map(|r| r.value)
        .fold(f64::MIN, f64::max);
    app.send("cccc");
    let s = app
        .wait_for(
            &format!("alpha-node0001 {:>3.0}C", hottest),
            Duration::from_secs(30),
        )
        .expect("the tile shows the hottest sensor");
    assert!(s.contains("colour: temperature"), "{s}");
    app.send("/");
    app.send("node0001$");
    app.send("\r");
    app.wait_for("filter: /node0001$", Duration::from_secs(10))
        .expect("filtered");
    app.send("\r");
    let s = app
        .wait_for("CPU #1 Temperature", Duration::from_secs(10))
        .expect("the sensor panel");
    assert!(s.contains(&format!("BMC {}", m1.url)), "{s}");
    assert!(s.contains("temp_cpu1"), "{s}");
    app.send("s");
    app.wait_for("BMCs of alpha", Duration::from_secs(10))
        .expect("the BMCs in the sources overlay");
    app.send("\x1b");
    app.send("q");
    app.send("q");
    app.send("q");
    let out = app.wait_exit(Duration::from_secs(15)).expect("exit");
    assert!(out.contains("__EXIT 0"), "{out}");
    assert_eq!(
        rt.block_on(sessions_on(&m1.url)),
        sessions_before + 1,
        "the console's session ended on the way out (the test's own poll left one)"
    );
}

/// A BMC whose documents link to another host: nothing is sent there (credentials least of
/// all), and the error says which link. Another whose one sensor is garbled: the others are
/// read, and the BMC is degraded, naming the member.
#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_bmcs_links_and_garbled_sensors() {
    let Some((server, py)) = available() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    // A listener standing for another host: it must never be contacted.
    let evil = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    evil.set_nonblocking(true).expect("nonblocking");
    let evil_port = evil.local_addr().expect("addr").port();
    let away = dir.path().join("away");
    std::fs::create_dir_all(&away).expect("dir");
    let data = copy_mockup(&server, &away);
    let list = data.join("Chassis/index.json");
    let text = std::fs::read_to_string(&list).expect("read");
    for link in [
        format!("//127.0.0.1:{evil_port}/redfish/v1/Chassis/1U"),
        format!("@127.0.0.1:{evil_port}/redfish/v1/Chassis/1U"),
    ] {
        std::fs::write(
            &list,
            text.replace("\"/redfish/v1/Chassis/1U\"", &format!("\"{link}\"")),
        )
        .expect("write");
        let m = start(&server, &py, Some(&data), &[]);
        let e = poll(&bmc(&m.url, None, Duration::from_secs(5)))
            .await
            .expect_err("refused");
        let said = e.to_string();
        assert!(said.contains("does not stay on the BMC"), "{said}");
        assert!(
            evil.accept().is_err(),
            "{link}: the other host was contacted"
        );
    }

    let garbled = dir.path().join("garbled");
    std::fs::create_dir_all(&garbled).expect("dir");
    let data = copy_mockup(&server, &garbled);
    let f = data.join("Chassis/1U/Sensors/CPU1Temp/index.json");
    let text = std::fs::read_to_string(&f).expect("read");
    std::fs::write(
        &f,
        text.replace("\"Reading\": 37,", "\"Reading\": \"hot\\u001b[2J\","),
    )
    .expect("write");
    let m = start(&server, &py, Some(&data), &[]);
    let b = std::sync::Arc::new(bmc(&m.url, None, Duration::from_secs(5)));
    let st = gantry::redfish::pool::poll_all(&[b], 1, gantry::redfish::pool::PATIENCE).await;
    assert_eq!(
        st[0].health,
        gantry::redfish::pool::Health::Degraded,
        "{st:?}"
    );
    let note = st[0].error.clone().unwrap_or_default();
    assert!(
        note.contains("1 unreadable") && note.contains("Sensors"),
        "{note}"
    );
    assert!(
        !note.contains('\u{1b}'),
        "no escape reaches a terminal: {note:?}"
    );
    assert!(st[0].readings.iter().all(|r| r.metric != "temp_cpu1"));
    assert!(
        st[0]
            .readings
            .iter()
            .any(|r| r.metric == "temp_cpu2" || r.metric == "fan_bay1")
    );
}

/// A poll opens a session on the BMC; ending the poller ends it (BMCs keep few sessions, and
/// every console started would otherwise leave one behind).
#[tokio::test(flavor = "multi_thread")]
async fn the_session_is_ended_on_the_bmc() {
    let Some((server, py)) = available() else {
        return;
    };
    let m = start(&server, &py, None, &[]);
    let sessions = || sessions_on(&m.url);
    let before = sessions().await;
    let b = bmc(&m.url, None, Duration::from_secs(5));
    poll(&b).await.expect("a poll");
    assert_eq!(sessions().await, before + 1, "logged in with a session");
    b.logout().await;
    assert_eq!(sessions().await, before, "the session is gone");
}
