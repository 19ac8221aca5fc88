//! `gantry info`: every path Gantry resolved, and what it would run.

use crate::config::{Config, Paths};

/// Prints the resolved paths and the configuration's state.
pub fn run(paths: &Paths) -> anyhow::Result<()> {
    let exists = |p: &std::path::Path| if p.exists() { "" } else { "  (not present)" };
    println!("gantry {}", env!("CARGO_PKG_VERSION"));
    println!(
        "config dir    {}  [{}]",
        paths.config_dir.display(),
        paths.config_origin
    );
    println!(
        "config file   {}{}",
        paths.config_file.display(),
        exists(&paths.config_file)
    );
    println!(
        "keymap file   {}{}",
        paths.keymap_file.display(),
        exists(&paths.keymap_file)
    );
    println!(
        "themes dir    {}{}",
        paths.themes_dir.display(),
        exists(&paths.themes_dir)
    );
    println!(
        "state dir     {}  [{}]",
        paths.state_dir.display(),
        paths.state_origin
    );
    println!(
        "history file  {}{}",
        paths.history_file.display(),
        exists(&paths.history_file)
    );
    println!(
        "log file      {}{}",
        paths.log_file.display(),
        exists(&paths.log_file)
    );
    match Config::load(&paths.config_file) {
        Ok(c) if c.from_file && !c.sources.is_empty() => {
            println!("sources       {}", c.sources.len());
            for s in &c.sources {
                let addrs: Vec<String> = s.addresses().iter().map(ToString::to_string).collect();
                let what = if addrs.is_empty() {
                    "this machine (/proc)".to_string()
                } else {
                    addrs.join(" ")
                };
                println!("  {} every {} s: {what}", s.name, s.step);
            }
        }
        // No sources (no file, or a file without any): what the console and aggregator use.
        Ok(_) => println!("sources       none configured: the embedded default (this machine)"),
        Err(e) => println!("config error  {e}"),
    }
    Ok(())
}
