//! Running one test inside a private network namespace, for daemons that bind every interface
//! or fixed ports (gmetad, a gmond on 8649): the test binary re-runs itself, that test only,
//! under `unshare --net` with just a loopback. Needs root and `unshare`.
#![allow(dead_code)]

use std::process::Command;

const INSIDE: &str = "GANTRY_TEST_PRIVATE_NETNS";

/// Where this call finds the test.
pub enum NetNs {
    /// Inside the namespace: run the test's body.
    Inside,
    /// The body ran inside and passed.
    Done,
    /// No namespace can be made here (a kernel permission, not a package): why.
    Unavailable(String),
}

fn unavailable() -> Option<String> {
    // SAFETY: geteuid is always safe.
    if unsafe { libc::geteuid() } != 0 {
        return Some("a private network namespace needs root".into());
    }
    match Command::new("unshare")
        .args(["--net", "--", "ip", "link", "set", "lo", "up"])
        .output()
    {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "no private network namespace here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run unshare: {e}")),
    }
}

/// Runs the test named `name` (this binary's) inside a private network namespace.
pub fn run_inside(name: &str) -> NetNs {
    if std::env::var_os(INSIDE).is_some() {
        return NetNs::Inside;
    }
    if let Some(why) = unavailable() {
        return NetNs::Unavailable(why);
    }
    let me = std::env::current_exe().expect("test binary path");
    let out = Command::new("unshare")
        .args([
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(&me)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output()
        .expect("unshare runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inside the namespace: {text}");
    assert!(
        text.contains("1 passed"),
        "the inner run ran the test: {text}"
    );
    NetNs::Done
}
