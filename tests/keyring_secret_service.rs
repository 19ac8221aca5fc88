//! "Remember me" on a desktop: a private D-Bus session with GNOME Keyring's Secret Service is
//! started on loopback sockets under a temp dir, and the password is stored, read and forgotten
//! there — not in the kernel keyring. Skipped, with the reason, without dbus-daemon or
//! gnome-keyring.

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn remember_me_uses_the_secret_service_when_a_session_bus_answers() {
    for bin in ["/usr/bin/dbus-daemon", "/usr/bin/gnome-keyring-daemon"] {
        if !std::path::Path::new(bin).exists() {
            common::skip(&format!(
                "{bin} is not installed (apt-get install dbus gnome-keyring)"
            ));
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let bus = run.join("bus");
    let address = format!("unix:path={}", bus.display());
    let _dbus = Proc(
        Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--address", &address])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bus.exists() {
        assert!(
            Instant::now() < deadline,
            "dbus-daemon never made its socket"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut keyring = Command::new("gnome-keyring-daemon")
        .args(["--foreground", "--components=secrets", "--unlock"])
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .env("XDG_RUNTIME_DIR", &run)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The login keyring's password, on stdin, creates and unlocks it.
    let _ = keyring.stdin.take().unwrap().write_all(b"keyring-pw");
    let _keyring = Proc(keyring);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: set before any keyring call; this test binary runs this one test only.
    unsafe {
        std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address);
        std::env::set_var("XDG_RUNTIME_DIR", &run);
    }
    use gantry::jobs::secrets;
    assert_eq!(secrets::backend().unwrap(), "Secret Service");
    secrets::save("127.0.0.1:8660", "alice", "s3cret").unwrap();
    assert_eq!(
        secrets::load("127.0.0.1:8660", "alice").unwrap().as_deref(),
        Some("s3cret")
    );
    assert!(secrets::forget("127.0.0.1:8660", "alice").unwrap());
    assert_eq!(secrets::load("127.0.0.1:8660", "alice").unwrap(), None);

    // A cluster's BMC password, put in the keyring by `gantry bmc password`, is what its
    // [[bmc]] table polls with; forgotten, the table says where it looked.
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let table = "[[bmc]]\ncluster = \"alpha\"\nscheme = \"http\"\nuser = \"root\"\n";
    std::fs::write(config.join("config.toml"), table).unwrap();
    let gantry = |args: &[&str], input: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(args)
            .env("GANTRY_CONFIG_DIR", &config)
            .env("GANTRY_STATE_DIR", dir.path().join("state"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = c.stdin.take().unwrap().write_all(input.as_bytes());
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = gantry(&["bmc", "password", "alpha", "--stdin"], "calvin\n");
    assert!(said.contains("under 'bmc:alpha'"), "{said}");
    let cfg = gantry::config::Config::parse(&config.join("config.toml"), table).unwrap();
    let src = gantry::config::bmc::sensor_source(&cfg.file.bmc[0]);
    let make = src.bmc.as_ref().expect("the keyring's password");
    let bmc = make("alpha-node0001");
    assert_eq!(
        (bmc.user.as_str(), bmc.password.as_str()),
        ("root", "calvin")
    );
    assert_eq!(bmc.url, "http://alpha-node0001-bmc");
    gantry(&["bmc", "password", "alpha", "--forget"], "");
    let why = gantry::config::bmc::sensor_source(&cfg.file.bmc[0])
        .bmc
        .err()
        .unwrap();
    assert!(
        why.contains("no password for root under 'bmc:alpha'"),
        "{why}"
    );
}
