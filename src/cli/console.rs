//! `gantry` with no subcommand: the console, on the configured sources or, with no
//! configuration, on the embedded default — this machine, plus a gmond on 127.0.0.1:8649 if one
//! answers.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::aggregator::{Aggregator, AggregatorConfig, SourceConfig};
use crate::cli::history_file::PersistentHistory;
use crate::config::{Config, Paths};
use crate::history::{HistoryStore, Range};
use crate::tui::app::{AppSetup, Glyphs};
use crate::tui::bands::LoadBands;
use crate::tui::keymap::Keymap;
use crate::tui::run::{Backend, run};
use crate::tui::theme::{Theme, no_color_requested};

/// Whether the locale says UTF-8.
pub fn locale_is_utf8() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

/// How the console was started.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// Add a gmond on 127.0.0.1:8649 if one answers (the embedded default).
    pub probe_gmond: bool,
    /// No dangerous actions.
    pub read_only: bool,
    /// Managers run by the caller (the embedded default's, the demo's).
    pub extra_managers: Vec<crate::jobs::ManagerConfig>,
    /// The demo's published account (user, password), logged in at start so the demo's job
    /// control is there at once. Never set from a configuration.
    pub demo_login: Option<(String, String)>,
    /// Serve the ports `[aggregator]` sets, as `gantry aggregator` does (the console on the
    /// configured grid; not the demo, whose grid is made up).
    pub serve_ports: bool,
}

/// Starts one link per job backend (a central manager or Slurm) and logs in what can log in
/// by itself: a password remembered for the configured user (or who runs the console), or
/// the demo's account.
pub fn start_job_backends(
    managers: &[crate::jobs::ManagerConfig],
    demo_login: Option<&(String, String)>,
) -> (
    Vec<Option<crate::jobs::link::LinkHandle>>,
    tokio::sync::mpsc::UnboundedReceiver<(String, crate::jobs::JobEvent)>,
) {
    use crate::jobs::{BackendKind, JobCommand};
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let links = managers
        .iter()
        .map(|m| {
            let link = match &m.kind {
                BackendKind::Slurm {
                    poll_secs,
                    conf,
                    bin_dir,
                    rest,
                } => {
                    let runner = crate::slurm::link::Runner::new(conf.clone(), bin_dir.clone());
                    let runner = match rest {
                        Some(r) => runner.with_rest(crate::slurm::rest::Rest::new(r.clone())),
                        None => runner,
                    };
                    crate::slurm::link::spawn(
                        m.clone(),
                        runner,
                        Duration::from_secs(*poll_secs),
                        tx.clone(),
                    )
                }
                BackendKind::CentralManager => crate::jobs::link::spawn(m.clone(), tx.clone()),
            };
            match demo_login {
                Some((user, password)) if m.user.as_deref() == Some(user.as_str()) => {
                    link.send(JobCommand::Login {
                        user: user.clone(),
                        password: password.clone(),
                        remember: false,
                    });
                }
                _ => {
                    // Nothing remembered: the login dialog asks when job control opens.
                    let user = m.user.clone().or_else(|| {
                        matches!(m.kind, BackendKind::CentralManager)
                            .then(|| crate::cm::account::name_of(crate::cm::account::euid()))
                            .flatten()
                    });
                    if let Some(user) = user {
                        link.send(JobCommand::LoginFromKeyring { user });
                    }
                }
            }
            Some(link)
        })
        .collect();
    (links, rx)
}

/// Job control per `[[manager]]` of the configuration.
pub fn manager_configs(config: &Config) -> Vec<crate::jobs::ManagerConfig> {
    config
        .file
        .manager
        .iter()
        .map(|m| crate::jobs::ManagerConfig {
            cluster: m.cluster.clone(),
            addresses: m.addresses.clone(),
            user: m.user.clone(),
            read_only: m.read_only,
            login_hint: None,
            kind: match m.kind.as_str() {
                "slurm" => crate::jobs::BackendKind::Slurm {
                    poll_secs: m.poll.max(1),
                    conf: m.slurm_conf.clone(),
                    bin_dir: m.slurm_bin.clone(),
                    rest: m.rest_config(),
                },
                _ => crate::jobs::BackendKind::CentralManager,
            },
            trust: m.trust(),
            queue: m.queue_rule(),
        })
        .collect()
}

/// Everything the console needs from the configuration, checked before the screen opens.
pub fn setup(
    config: &Config,
    paths: &Paths,
    history: Arc<HistoryStore>,
    read_only: bool,
) -> anyhow::Result<AppSetup> {
    let ui = &config.file.ui;
    let theme = Theme::load(&ui.theme, &paths.themes_dir)?;
    let theme = if no_color_requested() {
        theme.without_color()
    } else {
        theme
    };
    let keymap = Keymap::load(&ui.keymap, &paths.keymap_file)?;
    let read_only = ui.read_only || read_only;
    let keymap = if read_only {
        keymap.read_only()
    } else {
        keymap
    };
    let managers = manager_configs(config);
    let unicode = match ui.glyphs.as_str() {
        "unicode" => true,
        "ascii" => false,
        _ => locale_is_utf8(),
    };
    Ok(AppSetup {
        theme,
        keymap,
        bands: LoadBands(ui.load_bands.map(|p| p / 100.0)),
        thresholds: crate::triage::Thresholds {
            load: ui.problem_load / 100.0,
            memory: ui.problem_memory / 100.0,
        },
        glyphs: Glyphs { unicode },
        range: ui.range.parse().unwrap_or(Range::Hour),
        theme_dir: paths.themes_dir.clone(),
        history,
        notice: None,
        managers,
        read_only,
        templates_dir: paths.config_dir.join("templates"),
        export_dir: if ui.export_dir.is_empty() {
            std::env::current_dir().unwrap_or_else(|_| paths.state_dir.clone())
        } else {
            PathBuf::from(&ui.export_dir)
        },
    })
}

/// The embedded default's extra source: a gmond on 127.0.0.1:8649, if one answers quickly.
fn local_gmond() -> Option<SourceConfig> {
    let addr: SocketAddr = "127.0.0.1:8649".parse().ok()?;
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    Some(SourceConfig::network(
        "gmond@127.0.0.1",
        vec!["127.0.0.1:8649".parse().ok()?],
    ))
}

/// Serves the xml and interactive ports the configuration file sets. Unset ones are not
/// served: with defaults, two consoles on one login node (or a console beside
/// `gantry aggregator`) would fight over 127.0.0.1:8651. A port that cannot be opened stops the
/// console before the screen opens, naming the key, the file and the address.
async fn serve_configured(
    config: &Config,
    paths: &Paths,
    agg: &Aggregator,
    history: &Arc<HistoryStore>,
) -> anyhow::Result<Vec<crate::server::Servers>> {
    let ag = &config.file.aggregator;
    let mut servers = Vec::new();
    for (key, value, xml) in [
        ("xml_listen", &ag.xml_listen, true),
        ("interactive_listen", &ag.interactive_listen, false),
    ] {
        let Some(addr) = value.as_deref().filter(|v| *v != "off") else {
            continue;
        };
        let (x, i) = if xml {
            (Some(addr), None)
        } else {
            (None, Some(addr))
        };
        let s = crate::server::serve(x, i, agg.subscribe(), Some(history.clone()))
            .await
            .map_err(|e| {
                anyhow::anyhow!("[aggregator] {key} in {}: {e}", paths.config_file.display())
            })?;
        if let Some(a) = s.xml.or(s.interactive) {
            tracing::info!("console serves [aggregator] {key} on {a}");
        }
        servers.push(s);
    }
    Ok(servers)
}

/// Runs the console over `cfg`; `probe_gmond` adds a gmond on 127.0.0.1:8649 if one answers
/// (the embedded default does, a configured or demo grid does not).
pub async fn run_console(
    config: &Config,
    paths: &Paths,
    mut cfg: AggregatorConfig,
    mut history: PersistentHistory,
    opts: ConsoleOptions,
) -> anyhow::Result<()> {
    let probe_gmond = opts.probe_gmond;
    let mut setup = setup(config, paths, history.store.clone(), opts.read_only)?;
    setup.managers.extend(opts.extra_managers.clone());
    setup.notice = history.notice.take();
    cfg.history = Some(history.store.clone());
    if probe_gmond
        && let Some(g) = tokio::task::spawn_blocking(local_gmond)
            .await
            .ok()
            .flatten()
    {
        cfg.sources.push(g);
    }
    let agg = Aggregator::start(cfg);
    let servers = if opts.serve_ports {
        match serve_configured(config, paths, &agg, &history.store).await {
            Ok(s) => s,
            Err(e) => {
                agg.stop();
                return Err(e);
            }
        }
    } else {
        Vec::new()
    };
    // Syslog is received by the console on the configured grid (not the demo's).
    let events = if opts.serve_ports {
        match super::events::start(config, paths, Some(history.store.clone()), true).await {
            Ok(e) => e,
            Err(e) => {
                agg.stop();
                return Err(e);
            }
        }
    } else {
        None
    };
    if let Some(n) = events.as_ref().and_then(|e| e.notice.clone()) {
        setup.notice = Some(match setup.notice.take() {
            Some(before) => format!("{before}; {n}"),
            None => n,
        });
    }
    history.start_saving();
    let (job_links, job_events) = start_job_backends(&setup.managers, opts.demo_login.as_ref());
    let job_events = crate::queue::stage::spawn(job_events, Some(history.store.clone()));
    let backend = Backend {
        snapshots: agg.subscribe(),
        poll_now: Box::new(agg.poll_trigger()),
        job_links,
        job_events,
        events: events.as_ref().map(|e| e.subscribe()),
    };
    let r = run(setup, backend, config.file.ui.mouse).await;
    drop(servers);
    agg.shutdown().await;
    if let Some(e) = events {
        e.shutdown().await;
    }
    history.finish().await;
    r
}
