//! `gantry info`: every path Gantry resolved, and what it would run: sources, job backends,
//! the users file and the keyring. A configuration error is printed after the paths (so the
//! file in question is named) and fails the command, as it fails every other one.

use crate::config::{Config, ManagerEntry, Paths};

/// How a `[[manager]]` is reached, in a few words.
fn manager_line(m: &ManagerEntry) -> String {
    let mut words = vec![m.kind.clone()];
    if m.kind == "slurm" {
        words.push(format!("polled every {} s", m.poll.max(1)));
        if let Some(c) = &m.slurm_conf {
            words.push(format!("SLURM_CONF {c}"));
        }
        if let Some(b) = &m.slurm_bin {
            words.push(format!("commands in {b}"));
        }
    } else {
        words.push(m.addresses.join(" "));
        words.push(match (&m.pin, &m.ca) {
            (Some(_), _) => "TLS, pinned certificate".into(),
            (None, Some(ca)) => format!("TLS, CA {ca}"),
            _ if m.addresses.iter().all(|a| a.starts_with("unix:")) => "unix socket".into(),
            _ => "plain text (loopback)".into(),
        });
        if let Some(u) = &m.user {
            words.push(format!("as {u}"));
        }
    }
    if m.read_only {
        words.push("read-only".into());
    }
    format!("  {}: {}", m.cluster, words.join(", "))
}

/// Prints the resolved paths and the configuration's state; a configuration error is returned
/// after the paths are printed.
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
    let config = Config::load(&paths.config_file);
    match &config {
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
        Err(_) => {}
    }
    if let Ok(c) = &config {
        if c.file.manager.is_empty() {
            // What `gantry` (the console) does without any [[manager]] (see main.rs).
            if c.from_file {
                println!("managers      none configured: no job control");
            } else {
                println!(
                    "managers      none configured: the console runs one for this machine in {}",
                    paths.state_dir.join("local-cm").display()
                );
            }
        } else {
            println!("managers      {}", c.file.manager.len());
            for m in &c.file.manager {
                println!("{}", manager_line(m));
            }
        }
        let users = super::cm::users_path(None, c, paths);
        println!("users file    {}{}", users.display(), exists(&users));
    }
    match crate::jobs::secrets::backend() {
        Ok(name) => println!("keyring       {name}"),
        Err(e) => println!("keyring       none usable ({e}): passwords are not remembered"),
    }
    config?;
    Ok(())
}
