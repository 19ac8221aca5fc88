//! Builds consoles over fixture data and renders them to text for snapshot tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gantry::aggregator::{FetchReport, Fetched, Snapshot, SourceConfig, SourceState};
use gantry::ganglia::parse_bytes;
use gantry::history::{HistoryStore, Range};
use gantry::tui::app::{App, AppSetup, Glyphs};
use gantry::tui::bands::LoadBands;
use gantry::tui::keymap::Keymap;
use gantry::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The poll time used for fixture data.
pub const POLLED_AT: u64 = 1_795_354_180;

/// A snapshot made from real documents, one source per document.
pub fn snapshot_from(docs: &[(&str, Vec<u8>)], now: u64) -> Snapshot {
    snapshot_failing(docs, now, &[])
}

/// Like [`snapshot_from`], but the sources named in `failing` answered five minutes before
/// `now` and have been refusing connections since: dead, their data kept and stale.
pub fn snapshot_failing(docs: &[(&str, Vec<u8>)], now: u64, failing: &[&str]) -> Snapshot {
    let mut sources = Vec::new();
    let mut summary = gantry::model::Summary::default();
    for (name, bytes) in docs {
        let cfg = SourceConfig::network(name, vec!["127.0.0.1:1".parse().unwrap()]);
        let mut st = SourceState::new(Arc::new(cfg));
        let parsed = parse_bytes(bytes, &mut st.interner, Default::default()).unwrap();
        let report = FetchReport {
            fetched: Some(Fetched {
                parsed,
                address: 0,
                latency: Duration::from_millis(4),
                incomplete: None,
            }),
            failures: vec![],
        };
        let fails = failing.contains(name);
        let mut v = st.apply(report, if fails { now - 300 } else { now }, None);
        if fails {
            for t in [now - 15, now] {
                let refused = FetchReport {
                    fetched: None,
                    failures: vec![gantry::aggregator::Failure {
                        address: "127.0.0.1:1".into(),
                        error: "connection refused".into(),
                    }],
                };
                v = st.apply(refused, t, None);
            }
        }
        summary.absorb(&v.summary);
        sources.push(v);
    }
    Snapshot {
        grid_name: "TestGrid".into(),
        authority: "http://localhost/".into(),
        taken_at: now,
        generation: 1,
        sources,
        summary,
        sensors: Vec::new(),
    }
}

/// Three hours of made-up history for every host and cluster of `snap`, ending at `now`: values
/// swing around the snapshot's, and minutes 40–45 before `now` are a gap (the aggregator was
/// down), so graphs and their gaps show in snapshots.
pub fn history_for(snap: &Snapshot, now: u64) -> HistoryStore {
    let h = HistoryStore::new();
    for m in (0..180u64).rev() {
        if (40..46).contains(&m) {
            continue;
        }
        let t = now - m * 60;
        let wave = |i: usize| 1.0 + 0.35 * ((m as f64 / 9.0) + i as f64).sin();
        for src in &snap.sources {
            for cv in &src.clusters {
                let c = &cv.cluster;
                let hosts: Vec<(usize, Vec<gantry::model::Metric>)> = c
                    .hosts
                    .iter()
                    .enumerate()
                    .map(|(i, host)| {
                        let ms = host
                            .metrics
                            .iter()
                            .map(|mt| {
                                let mut mt = mt.clone();
                                mt.num *= wave(i);
                                mt
                            })
                            .collect();
                        (i, ms)
                    })
                    .collect();
                h.record_cluster(
                    &c.name,
                    t,
                    hosts.iter().map(|(i, ms)| gantry::history::HostSample {
                        host: &c.hosts[*i].name,
                        up: c.hosts[*i].is_up(c.localtime, 0),
                        metrics: ms,
                    }),
                );
                let mut s = cv.summary().clone();
                for ms in s.metrics.iter_mut().filter(|m| &*m.meta.name != "cpu_num") {
                    ms.sum *= wave(0);
                }
                h.record_summary(&format!("cluster:{}", c.name), t, &s);
            }
        }
    }
    h
}

/// A console over `snap` with the dark theme (or none) and default keys.
pub fn app(snap: Snapshot, now: u64, size: (u16, u16), color: bool, unicode: bool) -> App {
    let history = history_for(&snap, now);
    app_with_history(snap, now, size, color, unicode, history)
}

/// Like [`app`], with the history given (made-up history of 10,000 hosts takes long to build).
pub fn app_with_history(
    snap: Snapshot,
    now: u64,
    size: (u16, u16),
    color: bool,
    unicode: bool,
    history: HistoryStore,
) -> App {
    let theme = Theme::load("dark", &PathBuf::from("/nonexistent")).unwrap();
    let setup = AppSetup {
        thresholds: gantry::triage::Thresholds::default(),
        notice: None,
        managers: Vec::new(),
        read_only: false,
        templates_dir: std::env::temp_dir(),
        export_dir: std::env::temp_dir(),
        theme: if color { theme } else { theme.without_color() },
        keymap: Keymap::shipped("default").unwrap(),
        bands: LoadBands::default(),
        glyphs: Glyphs { unicode },
        range: Range::Hour,
        theme_dir: PathBuf::from("/nonexistent"),
        history: Arc::new(history),
    };
    App::new(setup, Arc::new(snap), now, size)
}

/// The screen as text, one line per row.
pub fn render(app: &App) -> String {
    let mut term = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    term.draw(|f| gantry::tui::views::draw(app, f)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
