//! libfiu (Debian's fiu-utils), which makes chosen libc calls of a real process fail with a
//! chosen errno: its POSIX preload library wraps them, and `fiu-ctrl` turns failure points on
//! and off in the running process through named pipes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

const POSIX_PRELOAD: &str = "/usr/lib/fiu/fiu_posix_preload.so";
const RUN_PRELOAD: &str = "/usr/lib/fiu/fiu_run_preload.so";

/// Failure points of one process tree, controlled through pipes named after `prefix`.
pub struct Fiu {
    prefix: PathBuf,
}

impl Fiu {
    /// `None` (and the reason, for [`super::skip`]) when libfiu is not installed.
    pub fn new(dir: &Path) -> Result<Self, String> {
        if !Path::new(POSIX_PRELOAD).exists() || which("fiu-ctrl").is_none() {
            return Err("libfiu is not installed (Debian's fiu-utils)".into());
        }
        Ok(Self {
            prefix: dir.join("fiu-ctrl"),
        })
    }

    /// The environment that runs a process under libfiu with `enable` on from its start
    /// (remote-control commands such as `enable name=posix/io/sync/fsync,failinfo=5`).
    pub fn env(&self, enable: &[&str]) -> Vec<(&'static str, OsString)> {
        vec![
            (
                "LD_PRELOAD",
                format!("{RUN_PRELOAD} {POSIX_PRELOAD}").into(),
            ),
            ("FIU_CTRL_FIFO", self.prefix.clone().into()),
            ("FIU_ENABLE", enable.join("\n").into()),
        ]
    }

    /// Runs a remote-control command in the running process `pid`.
    pub fn ctrl(&self, pid: u32, command: &str) {
        let out = std::process::Command::new("fiu-ctrl")
            .arg("-f")
            .arg(&self.prefix)
            .args(["-c", command, &pid.to_string()])
            .output()
            .expect("fiu-ctrl runs");
        assert!(
            out.status.success(),
            "fiu-ctrl {command:?} {pid}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|f| f.exists())
    })
}
