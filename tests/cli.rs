//! The command line as a newcomer meets it: help for every subcommand, completions, the man
//! page, and --version with the paths in use.

use std::process::Command;

fn gantry(args: &[&str], dir: &std::path::Path) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn help_completions_man_and_version() {
    let d = tempfile::tempdir().unwrap();
    let subcommands = [
        "aggregator",
        "status",
        "demo",
        "sim",
        "info",
        "cm",
        "agent",
        "logout",
        "graph",
        "completion",
        "man",
    ];
    let (ok, top, _) = gantry(&["--help"], d.path());
    assert!(ok);
    for s in subcommands {
        assert!(top.contains(s), "--help lists {s}");
        let (ok, out, err) = gantry(&[s, "--help"], d.path());
        assert!(ok, "{s} --help: {err}");
        assert!(out.contains("Usage: gantry"), "{s}: {out}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let (ok, out, _) = gantry(&["completion", shell], d.path());
        assert!(ok && out.contains("gantry"), "{shell}");
    }
    let (ok, man, _) = gantry(&["man"], d.path());
    assert!(ok && man.contains(".TH gantry 1"), "{man}");
    // Every subcommand the page refers to has a page of its own.
    for s in ["aggregator", "cm", "agent", "logout", "graph"] {
        let (ok, page, _) = gantry(&["man", s], d.path());
        assert!(
            ok && page.contains(&format!(".TH gantry-{s} 1")),
            "{s}: {page}"
        );
    }
    let (ok, _, err) = gantry(&["man", "nope"], d.path());
    assert!(!ok && err.contains("no subcommand 'nope'"), "{err}");
    let (ok, v, _) = gantry(&["--version"], d.path());
    assert!(ok);
    assert!(
        v.starts_with(&format!("gantry {}", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    assert!(
        v.contains(&d.path().join("config.toml").display().to_string()),
        "{v}"
    );
    // A bad config is refused before anything starts, naming file and line.
    std::fs::write(d.path().join("config.toml"), "[ui]\nthem = \"dark\"\n").unwrap();
    let (ok, _, err) = gantry(&["status"], d.path());
    assert!(!ok);
    assert!(err.contains("config.toml:2"), "{err}");
}

#[test]
fn info_lists_managers_users_file_and_keyring_and_fails_on_a_config_error() {
    let d = tempfile::tempdir().unwrap();
    // No file: the embedded default, with the console's own manager for this machine.
    let (ok, out, err) = gantry(&["info"], d.path());
    assert!(ok, "{err}");
    assert!(
        out.contains("managers      none configured: the console runs one for this machine"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "users file    {}",
            d.path().join("users.htpasswd").display()
        )),
        "{out}"
    );
    assert!(out.contains("\nkeyring       "), "{out}");

    std::fs::write(
        d.path().join("config.toml"),
        "[[manager]]\ncluster = \"alpha\"\naddresses = [\"head:8660\"]\npin = \"sha256:\
         0000000000000000000000000000000000000000000000000000000000000000\"\nuser = \"ops\"\n\
         [[manager]]\ncluster = \"beta\"\nkind = \"slurm\"\nread_only = true\n\
         [cm]\nusers_file = \"/etc/gantry/users.htpasswd\"\n",
    )
    .unwrap();
    let (ok, out, err) = gantry(&["info"], d.path());
    assert!(ok, "{err}");
    assert!(out.contains("managers      2"), "{out}");
    assert!(
        out.contains("  alpha: cm, head:8660, TLS, pinned certificate, as ops"),
        "{out}"
    );
    assert!(
        out.contains("  beta: slurm, polled every 5 s, read-only"),
        "{out}"
    );
    assert!(
        out.contains("users file    /etc/gantry/users.htpasswd"),
        "{out}"
    );

    // A broken file: the paths still print (they say which file), then the error, exit 2.
    std::fs::write(
        d.path().join("config.toml"),
        "[[source]]\nname = \"a\"\nadresses = []\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .arg("info")
        .env("GANTRY_CONFIG_DIR", d.path())
        .env("GANTRY_STATE_DIR", d.path())
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(out.contains("config file"), "{out}");
    assert!(
        err.contains("key 'adresses': unknown field `adresses`"),
        "{err}"
    );
}
