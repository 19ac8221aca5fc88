//! "Remember me" end to end: the real console in a pseudo-terminal logs in to a real
//! `gantry cm` with the box ticked; started again, it is logged in without being asked; after
//! `gantry logout` it asks again. The password lives in the kernel keyring of this test's own
//! session (joined here, inherited by the consoles, as a login session's keyring is).
//! Skipped, with the reason, where the kernel keyring cannot be used.

mod common;

use std::process::Command;
use std::time::Duration;

use common::pty::PtyApp;

#[test]
fn a_remembered_password_logs_in_by_itself_until_logout() {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    if let Err(e) = KeyRing::from_special_id(KeyRingIdentifier::Session, true) {
        // A kernel permission, not a package: a plain skip even under CI.
        println!("SKIPPED: no session keyring here ({e:?})");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let d = dir.to_str().unwrap();
    let cm = common::alice_cm(dir, &[]);
    let (addr, ca) = (cm.tls.clone(), dir.join("cm/tls/ca.crt"));
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[[manager]]\ncluster = \"*\"\naddresses = [\"{addr}\"]\nca = \"{}\"\nuser = \"alice\"\n",
            ca.display()
        ),
    )
    .unwrap();
    // The kernel keyring, not a desktop Secret Service that may happen to be around.
    let console = || {
        PtyApp::spawn(
            env!("CARGO_BIN_EXE_gantry"),
            &[],
            &[
                ("GANTRY_CONFIG_DIR", d),
                ("GANTRY_STATE_DIR", d),
                ("XDG_RUNTIME_DIR", d),
                ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent"),
                ("LANG", "C.UTF-8"),
                ("TERM", "xterm-256color"),
            ],
            120,
            36,
        )
    };
    let wait = |app: &PtyApp, s: &str| app.wait_for(s, Duration::from_secs(20)).unwrap();

    // First run: log in with "remember me" ticked (Tab to the box, Space, Enter).
    let mut app = console();
    wait(&app, "Grid");
    app.send("p");
    wait(&app, "Log in to the central manager");
    app.send("alicepw\t ");
    app.send("\r");
    wait(&app, "alice (user) at");
    wait(&app, "saved in the kernel keyring");
    app.send("q");
    app.wait_exit(Duration::from_secs(10)).unwrap();

    // Second run: logged in without a word typed.
    let mut app = console();
    wait(&app, "Grid");
    app.send("p");
    wait(&app, "alice (user) at");
    assert!(
        !app.screen().contains("Log in to the central manager"),
        "{}",
        app.screen()
    );
    app.send("q");
    app.wait_exit(Duration::from_secs(10)).unwrap();

    // `gantry logout` forgets it: the third run asks again.
    let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .arg("logout")
        .env("GANTRY_CONFIG_DIR", dir)
        .env("GANTRY_STATE_DIR", dir)
        .env("XDG_RUNTIME_DIR", dir)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("forgot the password of alice"), "{said}");
    let mut app = console();
    wait(&app, "Grid");
    app.send("p");
    wait(&app, "Log in to the central manager");
    app.send("q");
}
