//! A real rsyslogd (Debian's), started by a test with its own configuration: it reads `logger`
//! messages from a socket of its own (never the system's) and does what the test's rules say,
//! its own complaints going to a file the test can show.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs rsyslogd.
pub const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// Whether rsyslog is here; says why not (and fails under GANTRY_REQUIRE_REAL=1) when absent.
pub fn available() -> bool {
    if Path::new(RSYSLOGD).exists() {
        return true;
    }
    super::skip("rsyslog is not installed (apt-get install rsyslog)");
    false
}

/// A running rsyslogd.
pub struct Rsyslog {
    /// The socket `logger -u` writes to.
    pub sock: PathBuf,
    own_log: PathBuf,
    _proc: super::Proc,
}

impl Rsyslog {
    /// Starts rsyslogd in `dir` with `rules` after its input (and `global_extra` in its
    /// `global()` statement); returns once its socket is there.
    pub fn start(dir: &Path, global_extra: &str, rules: &str) -> Self {
        let sock = dir.join("log.sock");
        let work = dir.join("rsyslog-work");
        std::fs::create_dir_all(&work).unwrap();
        let own_log = dir.join("rsyslogd.log");
        let conf = dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{work}" {global_extra})
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}")
if $programname == "rsyslogd" then action(type="omfile" file="{own}")
{rules}
"#,
                work = work.display(),
                sock = sock.display(),
                own = own_log.display(),
            ),
        )
        .unwrap();
        let proc = super::Proc(
            Command::new(RSYSLOGD)
                .args(["-n", "-f"])
                .arg(&conf)
                .arg("-i")
                .arg(dir.join("rsyslogd.pid"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("rsyslogd starts"),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "rsyslogd never made its socket");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            sock,
            own_log,
            _proc: proc,
        }
    }

    /// `logger -t TAG -p PRIORITY TEXT` through this rsyslogd.
    pub fn logger(&self, tag: &str, priority: &str, text: &str) {
        let ok = Command::new("logger")
            .arg("-u")
            .arg(&self.sock)
            .args(["-t", tag, "-p", priority, text])
            .status()
            .expect("logger runs")
            .success();
        assert!(ok, "logger {text}");
    }

    /// What rsyslogd said about itself.
    pub fn own_log(&self) -> String {
        std::fs::read_to_string(&self.own_log).unwrap_or_default()
    }
}
