//! The `gantry` binary: parses the command line and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gantry::cli;
use gantry::config::{Config, Paths, parse_data_source};

/// Gantry: a keyboard-driven operations console for compute clusters.
#[derive(Debug, Parser)]
#[command(name = "gantry", about, long_about = None, disable_version_flag = true)]
struct Cli {
    /// Print the version and the configuration and state paths in use.
    #[arg(short = 'V', long)]
    version: bool,
    /// Configuration directory (default: $GANTRY_CONFIG_DIR, else the XDG config dir).
    #[arg(long, global = true, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// Read-only: no kill, migrate or submit anywhere (keys, hints and help included).
    #[arg(long, global = true)]
    read_only: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the headless aggregator: poll the sources, serve gmetad-compatible XML.
    Aggregator(cli::aggregator::AggregatorArgs),
    /// Poll every source once and print the grid: status, down hosts, most loaded hosts.
    #[command(visible_alias = "hosts")]
    Status(cli::status::StatusArgs),
    /// The console on a simulated grid: several clusters, hundreds of hosts, on this machine.
    Demo,
    /// Serve synthetic clusters in gmond's format (for demos, tests and benchmarks).
    Sim(gantry::sim::SimArgs),
    /// Run the reference central manager (job control for clusters without Slurm).
    Cm(cli::cm::CmArgs),
    /// Run a node agent for a central manager.
    Agent(gantry::cm::agent::AgentArgs),
    /// Forget passwords remembered in the OS keyring.
    Logout(cli::logout::LogoutArgs),
    /// Keep a cluster's BMC password in the OS keyring (`gantry bmc password CLUSTER`).
    Bmc(cli::bmc::BmcArgs),
    /// Write a cluster's or host's graphs for a range as PNG and SVG, from the saved history.
    Graph(cli::graph::GraphArgs),
    /// Write a cluster's job history as SWF (Parallel Workloads Archive), CSV or JSON.
    Export(cli::export::ExportArgs),
    /// Print every path Gantry resolved.
    Info,
    /// Print shell completions: bash, zsh, fish, elvish or powershell.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `gantry man > gantry.1`, or a subcommand's
    /// (`gantry man cm > gantry-cm.1`).
    Man {
        /// The subcommand whose page to print.
        subcommand: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // Output piped into `head` and closed early is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gantry: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Some(Command::Completion { shell }) => {
            use clap::CommandFactory;
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "gantry",
                &mut std::io::stdout(),
            );
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Man { subcommand }) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command().version(env!("CARGO_PKG_VERSION"));
            cmd.build();
            let page = match subcommand {
                None => cmd,
                Some(name) => {
                    let Some(sub) = cmd.find_subcommand(name) else {
                        let known: Vec<&str> =
                            cmd.get_subcommands().map(|s| s.get_name()).collect();
                        anyhow::bail!("no subcommand '{name}' (one of: {})", known.join(", "));
                    };
                    // clap names are 'static; one page per run, so leaking the name is fine.
                    let full: &'static str = Box::leak(format!("gantry-{name}").into_boxed_str());
                    sub.clone().name(full).version(env!("CARGO_PKG_VERSION"))
                }
            };
            clap_mangen::Man::new(page).render(&mut std::io::stdout())?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let paths = Paths::resolve(cli.config_dir.as_deref())?;
    if cli.version {
        println!("gantry {}", env!("CARGO_PKG_VERSION"));
        println!("config  {}", paths.config_file.display());
        println!("state   {}", paths.state_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(Command::Info) = cli.command {
        cli::info::run(&paths)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(Command::Graph(args)) = &cli.command {
        return Ok(if cli::graph::run(args, &paths)? {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    // A bad configuration stops here, before anything starts.
    let config = Config::load(&paths.config_file)?;
    let _log = gantry::logging::init(&paths.log_file);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Some(Command::Demo) => {
            runtime.block_on(cli::demo::run(&config, &paths, cli.read_only))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Bmc(args)) => {
            cli::bmc::run(&args, &config)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Logout(args)) => {
            cli::logout::run(&args, &config)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Cm(args)) => {
            runtime.block_on(cli::cm::run_cm(args, &config, &paths, cli.read_only))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Agent(args)) => {
            runtime.block_on(cli::cm::run_agent(args, &paths))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Sim(args)) => {
            runtime.block_on(gantry::sim::run(
                args,
                cli::aggregator::wait_for_termination(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Export(args)) => {
            let n = runtime.block_on(cli::export::run(&args, &config, &paths))?;
            if args.output.is_some() {
                eprintln!("{n} jobs written");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Aggregator(args)) => {
            runtime.block_on(cli::aggregator::run(args, config, &paths))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Status(args)) => {
            let mut cfg = config.aggregator_config();
            if !args.sources.is_empty() {
                cfg.sources = args
                    .sources
                    .iter()
                    .map(|s| {
                        parse_data_source(s).map_err(|e| anyhow::anyhow!("--source {s:?}: {e}"))
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            let managers = cli::console::manager_configs(&config);
            let (snap, managers) = runtime.block_on(async {
                tokio::join!(
                    gantry::aggregator::poll_once(&cfg),
                    cli::status_managers::probe_all(&managers)
                )
            });
            let now = gantry::aggregator::now_epoch();
            let mut out = std::io::stdout().lock();
            if args.json {
                cli::status::write_json(&snap, now, args.top, &managers, &mut out)?;
            } else {
                cli::status::write_table(&snap, now, args.top, &mut out)?;
                cli::status_bmcs::write_table(&snap, &mut out)?;
                cli::status_managers::write_table(&managers, &mut out)?;
            }
            Ok(
                if cli::status::all_ok(&snap, now)
                    && cli::status_bmcs::all_ok(&snap)
                    && cli::status_managers::all_ok(&managers)
                {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                },
            )
        }
        Some(
            Command::Info | Command::Graph(_) | Command::Completion { .. } | Command::Man { .. },
        )
        | None => {
            let cfg = config.aggregator_config();
            runtime.block_on(async {
                let history = cli::history_file::PersistentHistory::open(
                    config
                        .file
                        .history
                        .enabled
                        .then(|| paths.history_file.clone()),
                    &config.file.history,
                )
                .await;
                let mut opts = cli::console::ConsoleOptions {
                    probe_gmond: !config.from_file,
                    read_only: cli.read_only,
                    extra_managers: Vec::new(),
                    demo_login: None,
                    serve_ports: true,
                };
                if !config.from_file && config.file.manager.is_empty() {
                    // Job control on the first run: a manager and an agent for this machine,
                    // the local user logged in by the kernel's word.
                    let dir = paths.state_dir.join("local-cm");
                    match cli::local_cm::start(
                        &dir,
                        gantry::cm::users::Users::default(),
                        cli::local_cm::accounts_as_me(&[]),
                        &[cli::local_cm::hostname()],
                        cli::local_cm::LocalOptions {
                            scope: gantry::cm::agent::Scope::Machine,
                            login_hint: None,
                            by_password: false,
                            // The console's end is no reason to end jobs: its next start
                            // takes them back.
                            keep_jobs: true,
                        },
                    )
                    .await
                    {
                        // Its agent keeps its jobs when the console ends: no shutdown.
                        Ok(local) => opts.extra_managers.push(local.config),
                        Err(e) => tracing::warn!("local central manager not started: {e:#}"),
                    }
                }
                cli::console::run_console(&config, &paths, cfg, history, opts).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
