//! `gantry aggregator`: the headless aggregator. Polls the configured sources and serves what
//! it knows in gmetad's format until SIGINT or SIGTERM.

use crate::aggregator::Aggregator;
use crate::cli::history_file::PersistentHistory;
use crate::config::{Config, Paths, parse_data_source};

/// Options of `gantry aggregator`.
#[derive(Debug, Clone, clap::Args)]
pub struct AggregatorArgs {
    /// Address of the xml port (full dump on connect); "off" disables it.
    #[arg(long, value_name = "ADDR")]
    pub xml_listen: Option<String>,
    /// Address of the interactive port (path queries); "off" disables it.
    #[arg(long, value_name = "ADDR")]
    pub interactive_listen: Option<String>,
    /// Poll this source instead of the configured ones: "NAME [STEP] ADDRESS…" (repeatable).
    #[arg(long = "source", value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// Keep no history (nothing read from or written to the state directory).
    #[arg(long)]
    pub no_history: bool,
}

fn listen(v: &str) -> Option<&str> {
    (v != "off" && !v.is_empty()).then_some(v)
}

/// Runs until a termination signal.
pub async fn run(args: AggregatorArgs, config: Config, paths: &Paths) -> anyhow::Result<()> {
    let mut cfg = config.aggregator_config();
    if !args.sources.is_empty() {
        cfg.sources = args
            .sources
            .iter()
            .map(|s| parse_data_source(s).map_err(|e| anyhow::anyhow!("--source {s:?}: {e}")))
            .collect::<anyhow::Result<_>>()?;
    }
    let xml = args
        .xml_listen
        .unwrap_or_else(|| config.file.aggregator.xml_listen().to_string());
    let interactive = args
        .interactive_listen
        .unwrap_or_else(|| config.file.aggregator.interactive_listen().to_string());
    let keep = config.file.history.enabled && !args.no_history;
    let mut history = PersistentHistory::open(
        keep.then(|| paths.history_file.clone()),
        &config.file.history,
    )
    .await;
    if let Some(n) = history.notice.take() {
        eprintln!("gantry: {n}");
    }
    if keep {
        cfg.history = Some(history.store.clone());
        history.start_saving();
    }
    let events =
        super::events::start(&config, paths, keep.then(|| history.store.clone()), keep).await?;
    if let Some(n) = events.as_ref().and_then(|e| e.notice.as_ref()) {
        eprintln!("gantry: {n}");
    }
    let agg = Aggregator::start(cfg.clone());
    let served_history = keep.then(|| history.store.clone());
    let servers = crate::server::serve(
        listen(&xml),
        listen(&interactive),
        agg.subscribe(),
        served_history,
    )
    .await?;
    for s in &cfg.sources {
        let what: Vec<String> = s.addresses().iter().map(ToString::to_string).collect();
        let what = if what.is_empty() {
            "this machine".to_string()
        } else {
            what.join(" ")
        };
        println!("source {} every {} s: {what}", s.name, s.step);
    }
    if let Some(a) = servers.xml {
        println!("xml port          {a}");
    }
    if let Some(a) = servers.interactive {
        println!("interactive port  {a}");
    }
    if let Some(e) = &events {
        for (what, a) in [("udp", e.udp), ("tcp", e.tcp), ("tls", e.tls)] {
            if let Some(a) = a {
                println!("syslog {what:<10} {a}");
            }
        }
    }
    wait_for_termination().await;
    tracing::info!("stopping");
    drop(servers);
    agg.shutdown().await;
    if let Some(e) = events {
        e.shutdown().await;
    }
    history.finish().await;
    Ok(())
}

/// Resolves on SIGINT, SIGTERM or SIGHUP.
pub async fn wait_for_termination() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
        _ = async { match hup.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
    }
}
