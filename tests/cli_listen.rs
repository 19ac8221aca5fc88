//! Listening sockets as an operator meets them: every "address in use" names the address (the
//! aggregator's ports, the simulator's clusters, the central manager's listeners, the
//! console's), and the console serves the `[aggregator]` ports its configuration sets — or
//! refuses to start, naming the key — instead of ignoring them.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::free_port;
use common::pty::PtyApp;
use common::replay::Replay;
use gantry::ganglia::{Interner, Limits, parse_bytes};

/// Runs the real binary to completion with config and state in `dir` (each command here fails
/// at start, so none runs for long).
fn gantry(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .stdin(Stdio::null())
        .output()
        .expect("gantry runs")
}

/// A port on 127.0.0.1 held by this test.
fn held() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr").to_string();
    (l, a)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_address_in_use_names_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let (_hold, addr) = held();
    let in_use = format!("cannot listen on {addr}: address already in use");

    let o = gantry(
        &[
            "aggregator",
            "--no-history",
            "--source",
            "a 127.0.0.1:1",
            "--xml-listen",
            &addr,
            "--interactive-listen",
            "off",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&in_use),
        "aggregator xml: {}",
        stderr(&o)
    );

    let o = gantry(
        &[
            "aggregator",
            "--no-history",
            "--source",
            "a 127.0.0.1:1",
            "--xml-listen",
            "off",
            "--interactive-listen",
            &addr,
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&in_use),
        "aggregator interactive: {}",
        stderr(&o)
    );

    let port = addr.rsplit_once(':').unwrap().1;
    let o = gantry(
        &["sim", "--cluster", &format!("alpha:2:{port}")],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains(&in_use), "sim: {}", stderr(&o));

    let o = gantry(
        &["cm", "--listen", "127.0.0.1:0", "--plaintext-listen", &addr],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains(&in_use), "cm plaintext: {}", stderr(&o));

    let o = gantry(&["cm", "--listen", &addr], dir.path());
    assert!(!o.status.success());
    assert!(stderr(&o).contains(&in_use), "cm: {}", stderr(&o));
}

#[test]
fn the_console_refuses_an_xml_listen_it_cannot_serve() {
    let dir = tempfile::tempdir().unwrap();
    let (_hold, addr) = held();
    let src = Replay::serve(common::fixture("ganglia/gmond-8649-clusterA.xml"));
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"a\"\naddresses = [\"{}\"]\n[aggregator]\nxml_listen = \"{addr}\"\n",
            src.addr
        ),
    )
    .unwrap();
    // Stops before the screen opens: no terminal needed.
    let o = gantry(&[], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "[aggregator] xml_listen in {}: cannot listen on {addr}: address already in use",
            config.display()
        )),
        "{}",
        stderr(&o)
    );
}

/// Reads a whole answer from a port, or nothing.
fn dump(addr: &str, query: Option<&str>) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    if let Ok(mut s) = std::net::TcpStream::connect(addr) {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        if let Some(q) = query {
            let _ = s.write_all(format!("{q}\n").as_bytes());
        }
        let _ = s.read_to_end(&mut out);
    }
    out
}

#[test]
fn the_console_serves_the_ports_its_configuration_sets() {
    let src = Replay::serve(common::fixture("ganglia/gmond-8649-clusterA.xml"));
    let home = tempfile::tempdir().unwrap();
    let (xml, interactive) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "grid_name = \"console-grid\"\n[[source]]\nname = \"a\"\nstep = 5\naddresses = [\"{}\"]\n\
             [aggregator]\nxml_listen = \"{xml}\"\ninteractive_listen = \"{interactive}\"\n",
            src.addr
        ),
    )
    .unwrap();
    let mut app = PtyApp::gantry(&[], home.path().to_str().unwrap(), 120, 36);
    app.wait_for("clusterA", Duration::from_secs(20)).unwrap();
    // The xml port: gmetad's full dump of what the console shows.
    let deadline = Instant::now() + Duration::from_secs(20);
    let doc = loop {
        let raw = dump(&xml, None);
        let doc = parse_bytes(&raw, &mut Interner::default(), Limits::default())
            .map(|p| p.document)
            .unwrap_or_default();
        if doc.clusters().iter().any(|c| c.hosts.len() == 4) {
            break doc;
        }
        assert!(
            Instant::now() < deadline,
            "the console's xml port never served clusterA: {}",
            String::from_utf8_lossy(&raw)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let Some(gantry::model::Item::Grid(g)) = doc.items.first() else {
        panic!("no root grid: {doc:?}");
    };
    assert_eq!(&*g.name, "console-grid");
    assert!(g.cluster("clusterA").is_some());
    // The interactive port answers gmetad's queries.
    let text =
        String::from_utf8_lossy(&dump(&interactive, Some("/clusterA?filter=summary"))).into_owned();
    assert!(text.contains("<CLUSTER NAME=\"clusterA\""), "{text}");
    assert!(text.contains("<HOSTS UP="), "{text}");
    app.send("q");
    let out = app.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(out.contains("__EXIT 0"), "{out}");
    // Closed with the console.
    assert!(
        std::net::TcpStream::connect(&xml).is_err(),
        "xml port left open"
    );
}
