//! The aggregator over TCP against `gantry sim` on 127.0.0.1: failover, a source that accepts
//! and never writes, truncated, malformed and gzip documents, and serving back what it knows.

mod common;

use std::sync::Arc;
use std::time::Duration;

use gantry::aggregator::{
    Aggregator, AggregatorConfig, FetchSettings, Health, SourceConfig, SourceState, fetch,
    now_epoch,
};
use gantry::sim::{ClusterSpec, Fault, SimHandle, SimOptions};

fn spec(name: &str, hosts: usize) -> ClusterSpec {
    ClusterSpec {
        name: name.into(),
        hosts,
        down: 2,
        port: 0,
    }
}

async fn sim(specs: Vec<ClusterSpec>, gzip: bool) -> SimHandle {
    SimHandle::start(
        specs,
        SimOptions {
            gzip,
            ..SimOptions::default()
        },
    )
    .await
    .expect("sim starts")
}

fn quick() -> FetchSettings {
    FetchSettings {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(1),
        attempt_deadline: Duration::from_secs(5),
        ..FetchSettings::default()
    }
}

/// A port nobody listens on.
fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a.to_string()
}

async fn poll(
    state: &mut SourceState,
    settings: FetchSettings,
) -> Arc<gantry::aggregator::SourceView> {
    let cfg = state.config.clone();
    let mut st = std::mem::replace(state, SourceState::new(cfg.clone()));
    let st = tokio::task::spawn_blocking(move || {
        let report = fetch(cfg.addresses(), st.last_good, &settings, &mut st.interner);
        st.apply(report, now_epoch(), None);
        st
    })
    .await
    .unwrap();
    *state = st;
    state.view.clone()
}

fn source(addrs: &[String]) -> SourceState {
    SourceState::new(Arc::new(SourceConfig::network(
        "s",
        addrs.iter().map(|a| a.parse().unwrap()).collect(),
    )))
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_to_the_second_address_then_back_to_the_last_good() {
    let s = sim(vec![spec("alpha", 30)], false).await;
    let good = s.addr("alpha").unwrap().to_string();
    let mut st = source(&[closed_port(), good.clone()]);
    let v = poll(&mut st, quick()).await;
    assert_eq!(v.status.health, Health::Ok);
    assert_eq!(v.status.active_address.as_deref(), Some(good.as_str()));
    assert!(
        v.status
            .last_error
            .as_deref()
            .unwrap()
            .contains("failed over"),
        "{:?}",
        v.status.last_error
    );
    assert_eq!(v.clusters[0].cluster.hosts.len(), 30);
    assert_eq!(st.last_good, Some(1));
    // Next poll tries the last good address first: no failover note.
    let v = poll(&mut st, quick()).await;
    assert_eq!(v.status.last_error, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_accepts_and_never_writes_stalls_nothing() {
    let s = sim(vec![spec("hung", 10), spec("fine", 10)], false).await;
    s.set_fault("hung", Fault::Hang).await.unwrap();
    let mut hung = source(&[s.addr("hung").unwrap().to_string()]);
    // The error names the read timeout, so that is what ended the attempt.
    let v = poll(&mut hung, quick()).await;
    assert_eq!(v.status.health, Health::Dead);
    let err = v.status.last_error.clone().unwrap();
    assert!(
        err.contains("accepted the connection but sent nothing for 1 s"),
        "{err}"
    );
    // The aggregator polls both concurrently: the healthy one is not held up.
    let cfg = AggregatorConfig {
        sources: vec![
            SourceConfig::network(
                "hung",
                vec![s.addr("hung").unwrap().to_string().parse().unwrap()],
            ),
            SourceConfig::network(
                "fine",
                vec![s.addr("fine").unwrap().to_string().parse().unwrap()],
            ),
        ],
        fetch: FetchSettings {
            read_timeout: Duration::from_secs(30),
            ..quick()
        },
        ..AggregatorConfig::default()
    };
    let agg = Aggregator::start(cfg);
    let mut rx = agg.subscribe();
    loop {
        rx.changed().await.unwrap();
        let snap = rx.borrow().clone();
        if snap.sources[1].status.health == Health::Ok {
            assert_eq!(
                snap.sources[0].status.health,
                Health::Pending,
                "the hung source is still waiting"
            );
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_answer_keeps_what_was_complete_and_what_was_known() {
    let s = sim(vec![spec("alpha", 40)], false).await;
    let mut st = source(&[s.addr("alpha").unwrap().to_string()]);
    let v = poll(&mut st, quick()).await;
    assert_eq!(v.clusters[0].cluster.hosts.len(), 40);
    s.set_fault("alpha", Fault::Truncate(150_000))
        .await
        .unwrap();
    let v = poll(&mut st, quick()).await;
    assert_eq!(v.status.health, Health::Degraded);
    let err = v.status.last_error.clone().unwrap();
    assert!(
        err.contains("incomplete answer") && err.contains("document ended at byte"),
        "{err}"
    );
    assert_eq!(
        v.clusters[0].cluster.hosts.len(),
        40,
        "hosts the cut answer lacked are kept from the last poll"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_gzip_and_garbage() {
    let s = sim(vec![spec("alpha", 25)], false).await;
    let addr = s.addr("alpha").unwrap().to_string();
    s.set_fault("alpha", Fault::Malformed).await.unwrap();
    let v = poll(&mut source(std::slice::from_ref(&addr)), quick()).await;
    assert_eq!(v.status.health, Health::Degraded);
    assert!(
        v.status
            .last_error
            .as_deref()
            .unwrap()
            .contains("unescaped '&' and '<' in OWNER of CLUSTER 'alpha'")
    );
    assert_eq!(
        v.clusters[0].cluster.hosts.len(),
        25,
        "gmetad would have dropped the whole cluster"
    );
    assert_eq!(
        v.clusters[0].cluster.owner.as_deref(),
        Some("Ops <ops@example.com> & co")
    );

    s.set_fault("alpha", Fault::Garbage).await.unwrap();
    let v = poll(&mut source(std::slice::from_ref(&addr)), quick()).await;
    assert_eq!(v.status.health, Health::Dead);
    assert!(
        v.status
            .last_error
            .as_deref()
            .unwrap()
            .contains("not a Ganglia XML document"),
        "{:?}",
        v.status.last_error
    );

    let gz = sim(vec![spec("zipped", 25)], true).await;
    let v = poll(
        &mut source(&[gz.addr("zipped").unwrap().to_string()]),
        quick(),
    )
    .await;
    assert_eq!(v.status.health, Health::Ok);
    assert_eq!(v.clusters[0].cluster.hosts.len(), 25);
    assert!(
        v.status.wire_bytes * 5 < v.status.xml_bytes,
        "gzip on the wire: {} vs {}",
        v.status.wire_bytes,
        v.status.xml_bytes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_drip_is_cut_off_by_the_deadline() {
    let s = sim(vec![spec("slow", 20)], false).await;
    s.set_fault("slow", Fault::Slow(20_000)).await.unwrap();
    // The read timeout is longer than the deadline, so only the deadline can cut it off even
    // when a busy machine delays the drip.
    let settings = FetchSettings {
        attempt_deadline: Duration::from_secs(2),
        read_timeout: Duration::from_secs(10),
        ..quick()
    };
    let v = poll(
        &mut source(&[s.addr("slow").unwrap().to_string()]),
        settings,
    )
    .await;
    assert_eq!(v.status.health, Health::Degraded);
    assert!(
        v.status
            .last_error
            .as_deref()
            .unwrap()
            .contains("answer too slow"),
        "{:?}",
        v.status.last_error
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_port_then_recovery() {
    let s = sim(vec![spec("alpha", 10)], false).await;
    let addr = s.addr("alpha").unwrap().to_string();
    let mut st = source(&[addr]);
    assert_eq!(poll(&mut st, quick()).await.status.health, Health::Ok);
    s.set_fault("alpha", Fault::Refuse).await.unwrap();
    let v = poll(&mut st, quick()).await;
    assert_eq!(v.status.health, Health::Dead);
    assert!(
        v.status
            .last_error
            .as_deref()
            .unwrap()
            .contains("connection refused"),
        "{:?}",
        v.status.last_error
    );
    assert_eq!(v.clusters[0].cluster.hosts.len(), 10, "last good data kept");
    s.set_fault("alpha", Fault::None).await.unwrap();
    assert_eq!(poll(&mut st, quick()).await.status.health, Health::Ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_what_it_knows_in_gmetad_format() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = sim(vec![spec("alpha", 60), spec("beta", 20)], false).await;
    let cfg = AggregatorConfig {
        grid_name: "SimGrid".into(),
        sources: vec![
            SourceConfig::network(
                "alpha",
                vec![s.addr("alpha").unwrap().to_string().parse().unwrap()],
            ),
            SourceConfig::network(
                "beta",
                vec![s.addr("beta").unwrap().to_string().parse().unwrap()],
            ),
        ],
        fetch: quick(),
        ..AggregatorConfig::default()
    };
    let agg = Aggregator::start(cfg);
    let mut rx = agg.subscribe();
    while rx
        .borrow()
        .sources
        .iter()
        .any(|s| s.status.health != Health::Ok)
    {
        rx.changed().await.unwrap();
    }
    let servers = gantry::server::serve(
        Some("127.0.0.1:0"),
        Some("127.0.0.1:0"),
        agg.subscribe(),
        None,
    )
    .await
    .unwrap();
    let read_all = |addr: std::net::SocketAddr, req: Option<&'static str>| async move {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        if let Some(r) = req {
            c.write_all(r.as_bytes()).await.unwrap();
        }
        let mut out = Vec::new();
        c.read_to_end(&mut out).await.unwrap();
        out
    };
    let dump = read_all(servers.xml.unwrap(), None).await;
    let p =
        gantry::ganglia::parse_bytes(&dump, &mut Default::default(), Default::default()).unwrap();
    assert!(p.is_clean());
    assert_eq!(p.document.host_count(), 80);
    let summary = read_all(servers.interactive.unwrap(), Some("/?filter=summary\n")).await;
    let p = gantry::ganglia::parse_bytes(&summary, &mut Default::default(), Default::default())
        .unwrap();
    let gantry::model::Item::Grid(g) = &p.document.items[0] else {
        panic!()
    };
    assert_eq!(&*g.name, "SimGrid");
    let gs = g.summary.as_ref().unwrap();
    assert_eq!(gs.hosts_up + gs.hosts_down, 80);
    assert_eq!(gs.hosts_down, 4);
    let one = read_all(
        servers.interactive.unwrap(),
        Some("/beta/beta-node0003/load_one\n"),
    )
    .await;
    let p =
        gantry::ganglia::parse_bytes(&one, &mut Default::default(), Default::default()).unwrap();
    let c = p.document.clusters()[0].clone();
    assert_eq!(c.hosts[0].metrics.len(), 1);
    assert_eq!(&*c.hosts[0].metrics[0].meta.name, "load_one");
    let status = read_all(servers.interactive.unwrap(), Some("/status\n")).await;
    let text = String::from_utf8_lossy(&status);
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["sources"][0]["health"], "ok");
    assert_eq!(v["hosts"]["up"], 76);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_between_a_source_and_the_aggregator_heals_and_keeps_what_was_known() {
    use common::proxy::Proxy;
    let s = sim(vec![spec("alpha", 30)], false).await;
    let proxy = Proxy::start(&s.addr("alpha").unwrap().to_string());
    proxy.seed(0x50c);
    let mut st = source(&[proxy.addr()]);
    assert_eq!(poll(&mut st, quick()).await.status.health, Health::Ok);
    type Fault = (&'static str, fn(&Proxy), bool);
    // (what, the fault, whether no poll under it can read a whole document)
    let faults: [Fault; 9] = [
        ("latency of 300 ms", |x| x.delay(300), false),
        ("a 200 kB/s link", |x| x.throttle(200_000), false),
        // Plain XML has no checksum of its own (TCP's protects it in life): a flipped byte
        // may read as a value; what matters is that nothing breaks and nothing is lost.
        ("corrupted bytes", |x| x.corrupt(0.3), false),
        ("duplicated bytes", |x| x.duplicate(0.3), false),
        ("lost bytes", |x| x.drop_bytes(0.3), false),
        ("a stream cut mid-document", |x| x.truncate(), true),
        ("resets", |x| x.reset(), true),
        ("a black hole", |x| x.cut(), true),
        ("a half-open connection", |x| x.half_open(), true),
    ];
    for (name, fault, breaks) in faults {
        fault(&proxy);
        let v = poll(&mut st, quick()).await;
        // Whatever came through, the hosts known are all still there.
        assert_eq!(v.clusters.len(), 1, "{name}: {:?}", v.status);
        assert_eq!(
            v.clusters[0].cluster.hosts.len(),
            30,
            "{name}: {:?}",
            v.status
        );
        if breaks {
            assert_ne!(
                v.status.health,
                Health::Ok,
                "{name}: shown as fresh: {:?}",
                v.status
            );
            assert!(
                v.status.last_error.is_some(),
                "{name}: said nothing: {:?}",
                v.status
            );
        }
        proxy.pass();
        let v = poll(&mut st, quick()).await;
        assert_eq!(
            v.status.health,
            Health::Ok,
            "{name}: healed: {:?}",
            v.status
        );
        assert_eq!(v.clusters[0].cluster.hosts.len(), 30);
    }
}
