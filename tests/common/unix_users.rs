//! Real Unix users for tests of job control: made with `useradd` (home directories under a
//! directory of the test's), removed with `userdel` when dropped. Needs root.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A Unix account that exists for the life of the value.
pub struct UnixUser {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory (mode 0700, owned by the user).
    pub home: PathBuf,
}

/// Whether this process may create users (root with useradd on PATH).
pub fn can_create() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("creating Unix users needs root".into());
    }
    if Command::new("useradd").arg("--help").output().is_err() {
        return Err("useradd is not installed".into());
    }
    Ok(())
}

/// Runs a user-administration command, retrying while another one holds /etc/passwd's lock
/// (tests run in parallel).
fn admin(args: &[&str]) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..100 {
        let out = Command::new(args[0])
            .args(&args[1..])
            .output()
            .map_err(|e| format!("{}: {e}", args[0]))?;
        if out.status.success() {
            return Ok(());
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        if !last.contains("lock") && !last.contains("try again") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{}: {last}", args.join(" ")))
}

impl UnixUser {
    /// Creates `gt<tag><pid>` with its home in `homes` (which must be traversable), in the
    /// extra groups given.
    pub fn create(tag: &str, homes: &Path, groups: &[&str]) -> Self {
        let name = format!("gt{tag}{}", std::process::id() % 100_000);
        let home = homes.join(&name);
        // A leftover from a killed run.
        let _ = admin(&["userdel", "-r", &name]);
        let mut args = vec![
            "useradd".to_string(),
            "-m".into(),
            "-d".into(),
            home.display().to_string(),
            "-s".into(),
            "/bin/sh".into(),
        ];
        if !groups.is_empty() {
            args.push("-G".into());
            args.push(groups.join(","));
        }
        args.push(name.clone());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        admin(&refs).unwrap_or_else(|e| panic!("{e}"));
        {
            use std::os::unix::fs::PermissionsExt;
            // A home only its owner enters, whatever useradd's default.
            let _ = std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700));
        }
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, &name]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        Self {
            uid: id("-u"),
            gid: id("-g"),
            home,
            name,
        }
    }

    /// Writes a file as this user would (owned by them, mode 0600).
    pub fn write_file(&self, path: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

impl Drop for UnixUser {
    fn drop(&mut self) {
        // Whatever the test left running as this user goes first, or userdel refuses.
        let _ = Command::new("pkill")
            .args(["-KILL", "-u", &self.name])
            .status();
        let _ = admin(&["userdel", "-r", "-f", &self.name]);
    }
}

/// A group for the life of the value.
pub struct UnixGroup {
    /// Its name.
    pub name: String,
    /// Its id.
    pub gid: u32,
}

impl UnixGroup {
    /// Creates `gt<tag><pid>`.
    pub fn create(tag: &str) -> Self {
        let name = format!("gt{tag}{}", std::process::id() % 100_000);
        let _ = admin(&["groupdel", &name]);
        admin(&["groupadd", &name]).unwrap_or_else(|e| panic!("{e}"));
        let out = Command::new("getent")
            .args(["group", &name])
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        let gid = line.split(':').nth(2).unwrap().trim().parse().unwrap();
        Self { name, gid }
    }
}

impl Drop for UnixGroup {
    fn drop(&mut self) {
        let _ = admin(&["groupdel", &self.name]);
    }
}
