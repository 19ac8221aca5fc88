//! Files replaced whole or not at all. Everything Gantry saves (history, events, an agent's
//! tasks and epoch, exports, the users file) goes through [`replace`]: the new content is
//! written to a temporary file beside the target, synced, renamed over the target, and the
//! directory synced. A crash, a full disk or an I/O error at any step leaves the previous
//! file as it was, and no temporary file is left behind by an error (one left by a killed
//! process is removed by the next save of the same file).
//!
//! A file's name is on disk only once its directory is synced, and a directory's once its
//! parent is: [`create_dir_all`] makes the directories that hold saved state, each synced into
//! its parent, so a power cut after a save cannot take the directory, and the save with it.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// How the last save of one file went, for `/status` and whoever else asks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SaveState {
    /// The file.
    pub path: PathBuf,
    /// When it was last replaced whole (seconds since the Unix epoch).
    pub saved_at: Option<u64>,
    /// What the last save that failed said, while no save has succeeded since.
    pub error: Option<String>,
}

/// Every file this process saved, by path: a failing disk is said where an operator looks,
/// not only in the log.
static SAVES: LazyLock<parking_lot::Mutex<BTreeMap<PathBuf, SaveState>>> =
    LazyLock::new(Default::default);

/// How the saves of this process went, one entry per file.
pub fn saves() -> Vec<SaveState> {
    SAVES.lock().values().cloned().collect()
}

/// The files whose last save failed (no save of them has gone through since).
pub fn failing() -> Vec<SaveState> {
    SAVES
        .lock()
        .values()
        .filter(|s| s.error.is_some())
        .cloned()
        .collect()
}

/// Files remembered at most: an agent saves one file per task, and a long life must not grow
/// this without end. Past it, a file whose last save went through is forgotten first.
const MAX_REMEMBERED: usize = 256;

fn record(path: &Path, outcome: &io::Result<u64>) {
    record_in(&mut SAVES.lock(), path, outcome);
}

fn record_in(all: &mut BTreeMap<PathBuf, SaveState>, path: &Path, outcome: &io::Result<u64>) {
    if all.len() >= MAX_REMEMBERED && !all.contains_key(path) {
        let gone = all
            .iter()
            .find(|(_, s)| s.error.is_none())
            .or_else(|| all.iter().next())
            .map(|(p, _)| p.clone());
        if let Some(p) = gone {
            all.remove(&p);
        }
    }
    let e = all.entry(path.to_path_buf()).or_insert_with(|| SaveState {
        path: path.to_path_buf(),
        saved_at: None,
        error: None,
    });
    match outcome {
        Ok(_) => {
            e.saved_at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs());
            e.error = None;
        }
        Err(err) => e.error = Some(err.to_string()),
    }
}

/// Replaces `path` with what `write` writes, created with permission bits `mode`; returns
/// the bytes written. The error is the step's own; callers name the file. The outcome is
/// kept for [`saves`].
pub fn replace(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<u64> {
    let outcome = replace_now(path, mode, write);
    record(path, &outcome);
    outcome
}

/// Like [`replace`], first making the file's directory where it is missing (with its parents,
/// permission bits `dir_mode`, each synced: [`create_dir_all`]). A failure there is the save's,
/// kept for [`saves`] like any other.
pub fn replace_in_dir(
    path: &Path,
    dir_mode: u32,
    mode: u32,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<u64> {
    let outcome =
        create_dir_all(parent_of(path), dir_mode).and_then(|()| replace_now(path, mode, write));
    record(path, &outcome);
    outcome
}

fn replace_now(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<u64> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = temp_prefix(path);
    remove_dead_temporaries(dir, &prefix);
    // Created new with a random name (O_EXCL, O_NOFOLLOW: never through a link someone left
    // there), by std's open (libc's, where a fault injector can reach it).
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{prefix}{}.", std::process::id()))
        .suffix(".tmp")
        .make_in(dir, |p| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .custom_flags(libc::O_NOFOLLOW)
                .open(p)
        })?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        write(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    let len = tmp.as_file().metadata()?.len();
    // On failure the temporary path is dropped, and with it the file removed.
    let tmp = tmp.into_temp_path();
    std::fs::rename(&tmp, path)?;
    // Renamed: there is nothing left at the temporary path to remove.
    let _ = tmp.keep();
    // The rename itself is durable only once the directory is.
    sync_dir(dir)?;
    Ok(len)
}

/// Syncs directory `dir`, so the names created, renamed or removed in it survive a power cut.
/// A directory this process may not open (no read permission), or a filesystem that cannot
/// sync one (EINVAL, ENOTSUP), is left as it is: nothing more can be done, and the data is
/// synced. An I/O error is an error.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let d = match std::fs::File::open(dir) {
        Ok(d) => d,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => return Ok(()),
        Err(e) => return Err(e),
    };
    match d.sync_all() {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOTSUP)) => Ok(()),
        other => other,
    }
}

/// Creates `dir` and whichever of its parents are missing, with permission bits `mode` (less
/// the umask), each synced into its parent; the parent of one that was there already is
/// synced too (a process killed between making it and syncing it left it unsynced). A
/// directory that exists already is otherwise left as it is; anything else there is an error.
pub fn create_dir_all(dir: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty()) {
        // Something there (a directory, or a file whose child then fails as not a directory).
        if d.symlink_metadata().is_ok() {
            break;
        }
        missing.push(d);
        at = d.parent();
    }
    for d in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(mode).create(d) {
            Ok(()) => {}
            // Made meanwhile by someone else: theirs to sync, and synced below anyway.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
        sync_dir(parent_of(d))?;
    }
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is not a directory", dir.display()),
        ));
    }
    sync_dir(parent_of(dir))
}

fn parent_of(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// What temporary files of `path` are named with: `.NAME.PID.RANDOM.tmp`.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy());
    format!(".{name}.")
}

/// Removes temporary files of an earlier save by a process that no longer runs (one killed
/// mid-save); those of a live process, which may be saving now, are left alone.
fn remove_dead_temporaries(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .filter(|r| r.ends_with(".tmp"))
        else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<i32>().ok());
        if let Some(pid) = pid
            && pid > 0
            && !alive(pid)
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn alive(pid: i32) -> bool {
    // Signal 0 checks only that the process exists (EPERM: it does, as someone else).
    // SAFETY: kill with signal 0 sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn makes_the_missing_directories_with_the_mode_asked_and_leaves_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("a/b/c");
        create_dir_all(&deep, 0o700).unwrap();
        for p in [d.path().join("a"), d.path().join("a/b"), deep.clone()] {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", p.display());
        }
        // There already: nothing changes.
        std::fs::set_permissions(&deep, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_dir_all(&deep, 0o700).unwrap();
        let mode = std::fs::metadata(&deep).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        // A file in the way is an error, not a directory.
        std::fs::write(d.path().join("f"), "x").unwrap();
        let e = create_dir_all(&d.path().join("f/g"), 0o700).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotADirectory, "{e}");
        // And a file where the directory should be is not taken for one.
        let e = create_dir_all(&d.path().join("f"), 0o700).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotADirectory, "{e}");
    }

    #[test]
    fn replaces_whole_with_the_mode_asked() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        std::fs::write(&p, "old").unwrap();
        let n = replace(&p, 0o600, |w| w.write_all(b"new content")).unwrap();
        assert_eq!(n, 11);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new content");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(names(d.path()), ["state.json"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        std::fs::write(&p, "old").unwrap();
        let e = replace(&p, 0o600, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("the writer gave up"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "the writer gave up");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(names(d.path()), ["state.json"]);
        let said = |p: &Path| saves().into_iter().find(|s| s.path == p);
        assert_eq!(
            said(&p).and_then(|s| s.error),
            Some("the writer gave up".into())
        );
        replace(&p, 0o600, |w| w.write_all(b"new")).unwrap();
        let s = said(&p).unwrap();
        assert!(s.error.is_none() && s.saved_at.is_some());
    }

    #[test]
    fn the_saves_remembered_stay_bounded_and_keep_the_failing_ones() {
        // A map of its own: the process-wide one is shared with the other tests.
        let mut all = BTreeMap::new();
        let failing = Path::new("/state/failing.json");
        record_in(&mut all, failing, &Err(io::Error::other("broken disk")));
        for i in 0..MAX_REMEMBERED * 2 {
            record_in(&mut all, Path::new(&format!("/state/task{i}.json")), &Ok(2));
        }
        assert_eq!(all.len(), MAX_REMEMBERED);
        assert!(all[failing].error.is_some());
    }

    #[test]
    fn a_failed_rename_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        // A directory in the way: the rename fails after everything was written.
        let p = d.path().join("state.json");
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("inside"), "x").unwrap();
        assert!(replace(&p, 0o600, |w| w.write_all(b"new")).is_err());
        assert_eq!(names(d.path()), ["state.json"]);
    }

    #[test]
    fn a_killed_saves_temporary_is_removed_and_a_live_ones_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("history.bin");
        // No process has pid i32::MAX (pid_max is at most 2^22).
        let dead = d.path().join(format!(".history.bin.{}.abc.tmp", i32::MAX));
        let live = d
            .path()
            .join(format!(".history.bin.{}.xyz.tmp", std::process::id()));
        let other = d.path().join(format!(".events.json.{}.abc.tmp", i32::MAX));
        for f in [&dead, &live, &other] {
            std::fs::write(f, "x").unwrap();
        }
        replace(&p, 0o600, |w| w.write_all(b"data")).unwrap();
        assert!(!dead.exists());
        assert!(live.exists() && other.exists());
    }
}
