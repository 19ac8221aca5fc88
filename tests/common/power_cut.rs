//! A filesystem that loses power on demand (tests/common/power_cut_fs.py, a FUSE filesystem in
//! Python over libfuse3): a cut drops every write that was not synced — file contents since
//! their last fsync, directory entries since their directory's last fsync — as losing power
//! drops the page cache, which a SIGKILL does not; a seeded cut keeps a random part of them
//! instead, as a journalling filesystem may. Needs /dev/fuse, root and Python with
//! mfusepy (`$GANTRY_PYTHON`, which CI makes, else `python3`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A mounted power-cut filesystem; unmounted, and its server killed by pid, when dropped.
pub struct PowerCutFs {
    mount: tempfile::TempDir,
    server: std::process::Child,
}

impl PowerCutFs {
    /// Mounts one on a new temporary directory; the reason, for [`super::skip`], when it cannot.
    pub fn mount() -> Result<Self, String> {
        // SAFETY: geteuid is always safe.
        if unsafe { libc::geteuid() } != 0 {
            return Err("mounting a FUSE filesystem for the power-cut tests needs root".into());
        }
        if !Path::new("/dev/fuse").exists() {
            return Err("no /dev/fuse".into());
        }
        let python = std::env::var_os("GANTRY_PYTHON")
            .map_or_else(|| PathBuf::from("python3"), PathBuf::from);
        let has_mfusepy = std::process::Command::new(&python)
            .args(["-c", "import mfusepy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_mfusepy {
            return Err(format!(
                "no Python with mfusepy and libfuse3 ({}; set GANTRY_PYTHON)",
                python.display()
            ));
        }
        let mount = tempfile::tempdir().map_err(|e| e.to_string())?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/power_cut_fs.py");
        let log =
            std::fs::File::create(mount.path().with_extension("log")).map_err(|e| e.to_string())?;
        let server = std::process::Command::new(&python)
            .arg(&script)
            .arg(mount.path())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{}: {e}", python.display()))?;
        let mut fs = Self { mount, server };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !fs.mounted() {
            if Instant::now() > deadline || fs.server.try_wait().ok().flatten().is_some() {
                return Err(format!(
                    "the power-cut filesystem did not mount: {}",
                    fs.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(fs)
    }

    fn mounted(&self) -> bool {
        let want = self.mount.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
            m.lines()
                .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
        })
    }

    /// Its root directory.
    pub fn path(&self) -> &Path {
        self.mount.path()
    }

    /// What the server said (each cut, or why it failed).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.mount.path().with_extension("log")).unwrap_or_default()
    }

    fn control(&self, what: &str) {
        std::fs::write(self.mount.path().join(".power"), what)
            .unwrap_or_else(|e| panic!("power-cut control {what:?}: {e}; {}", self.log()));
    }

    /// Loses power: every write not synced is gone.
    pub fn cut(&self) {
        self.control("cut");
    }

    /// Loses power in a crash state chosen by `seed` that keeps part of what was not synced:
    /// the changes to names up to a random point, in order, and a random subset of each
    /// file's unsynced writes (a name may survive without its data).
    pub fn cut_keeping_some(&self, seed: u64) {
        self.control(&format!("cut {seed}"));
    }

    /// Cut number `round`: two in three keep part of what was not synced, chosen by
    /// `moments`, so both kinds of crash state are met (and both after a clean stop every
    /// fourth round, in the aggregator's test).
    pub fn cut_for_round(&self, round: usize, moments: &mut super::Moments) {
        if !round.is_multiple_of(3) {
            self.cut_keeping_some(moments.next_ms(1 << 32));
        } else {
            self.cut();
        }
    }

    /// Makes everything written so far durable, as sync(2) does (a test's setup, installed
    /// before the power goes).
    pub fn sync(&self) {
        self.control("sync");
    }
}

impl Drop for PowerCutFs {
    fn drop(&mut self) {
        // libfuse unmounts on SIGTERM; a lazy unmount covers a server that is gone.
        // SAFETY: the server this helper started, by its pid.
        unsafe { libc::kill(self.server.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.server.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
        if self.mounted() {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.mount.path())
                .status();
        }
        let _ = std::fs::remove_file(self.mount.path().with_extension("log"));
    }
}
