//! The DMTF Redfish Mockup Server (a real Redfish service, written by DMTF) from
//! `../shared/peers/redfish-mockup-server`, run by the tests with its `public-rackmount1`
//! mockup or a copy of it the test edits. It needs Python with `requests` and `grequests`:
//! `$GANTRY_PYTHON` (CI makes a virtual environment for it), else `python3`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Proc, free_port};

/// Where the mockup server is, if it is there.
pub fn server_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("shared")
        .join("peers")
        .join("redfish-mockup-server");
    d.join("redfishMockupServer.py").exists().then_some(d)
}

/// A Python that can run the server.
pub fn python() -> Option<PathBuf> {
    let p =
        std::env::var_os("GANTRY_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from);
    let ok = std::process::Command::new(&p)
        .args(["-c", "import requests, grequests"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(p)
}

/// The server and Python, or the reason a test cannot run (said with `super::skip`).
pub fn available() -> Option<(PathBuf, PathBuf)> {
    let Some(dir) = server_dir() else {
        super::skip("the Redfish mockup server is not in ../shared/peers/redfish-mockup-server");
        return None;
    };
    let Some(py) = python() else {
        super::skip("no Python with requests and grequests (set GANTRY_PYTHON)");
        return None;
    };
    Some((dir, py))
}

/// A copy of the `public-rackmount1` mockup under `into`, for a test to edit.
pub fn copy_mockup(server: &Path, into: &Path) -> PathBuf {
    let dst = into.join("mockup");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(server.join("public-rackmount1"))
        .arg(&dst)
        .status()
        .expect("cp");
    assert!(status.success(), "copying the mockup");
    dst
}

/// A running mockup server.
pub struct Mockup {
    /// The process.
    pub proc: Proc,
    /// `http://127.0.0.1:PORT` (or https).
    pub url: String,
}

/// Starts the server on a free port serving `data` (default: the shipped mockup), with
/// `extra` arguments (`--ssl --cert C --key K`, `-t SECS`).
pub fn start(server: &Path, py: &Path, data: Option<&Path>, extra: &[&str]) -> Mockup {
    let port = free_port();
    let data = data.map_or_else(|| server.join("public-rackmount1"), Path::to_path_buf);
    let child = std::process::Command::new(py)
        .arg(server.join("redfishMockupServer.py"))
        .args(["-S", "-H", "127.0.0.1", "-p", &port.to_string(), "-D"])
        .arg(&data)
        .args(extra)
        .current_dir(server)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the mockup server starts");
    let proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the mockup server never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let scheme = if extra.contains(&"--ssl") {
        "https"
    } else {
        "http"
    };
    Mockup {
        proc,
        url: format!("{scheme}://127.0.0.1:{port}"),
    }
}
