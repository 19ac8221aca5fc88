//! The events file: every template with its counts and samples, so a restart of the
//! aggregator or the console keeps what was learned. Replaced whole
//! ([`crate::durable::replace`]), readable by its owner only (samples are log lines, which may
//! name users and addresses); a damaged file is moved aside, never fatal.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::store::{SAVED_VERSION, Saved};

/// Why the events file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum EventsFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not an events file Gantry wrote.
    #[error("{path}: damaged ({what})")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        what: String,
    },
}

/// A file larger than this is not read (a live store under the default caps writes about
/// 20 MB; the hard caps on samples and hosts keep any store far below it).
pub const MAX_FILE: u64 = 512 * 1024 * 1024;

/// Writes `saved` to `path` whole or not at all ([`crate::durable::replace`]); returns the
/// bytes written. The file and the directory, when made, are their owner's only.
pub fn save(path: &Path, saved: &Saved) -> Result<u64, EventsFileError> {
    let io = |source| EventsFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Sample messages may say anything a node logged: its owner's only.
    crate::durable::replace_in_dir(path, 0o700, 0o600, |w| {
        serde_json::to_writer(&mut *w, saved)?;
        w.write_all(b"\n")
    })
    .map_err(io)
}

/// Reads `path`; `None` when there is no file yet.
pub fn load(path: &Path) -> Result<Option<Saved>, EventsFileError> {
    let io = |source| EventsFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let damaged = |what: String| EventsFileError::Damaged {
        path: path.to_path_buf(),
        what,
    };
    // Not through a link, not a pipe or a device, not larger than any store writes.
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(damaged("a symbolic link, not a file".into()));
        }
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(damaged("not a regular file".into()));
    }
    if meta.len() > MAX_FILE {
        return Err(damaged(format!(
            "{} bytes, more than the {MAX_FILE} an events file can be",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_FILE + 1), &mut bytes)
        .map_err(io)?;
    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
    if saved.version != SAVED_VERSION {
        return Err(damaged(format!(
            "layout version {}, this Gantry reads {SAVED_VERSION}",
            saved.version
        )));
    }
    Ok(Some(saved))
}

/// Reads `path`, moving a damaged file aside as `NAME.damaged-EPOCH`; says what happened
/// when worth telling.
pub fn load_or_set_aside(path: &Path, now: u64) -> (Option<Saved>, Option<String>) {
    match load(path) {
        Ok(s) => (s, None),
        Err(e @ EventsFileError::Damaged { .. }) => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".damaged-{now}"));
            let to = path.with_file_name(name);
            let note = match std::fs::rename(path, &to) {
                Ok(()) => format!("{e}; moved aside to {}, events start afresh", to.display()),
                Err(m) => format!("{e}; could not move it aside ({m}): the next save replaces it"),
            };
            (None, Some(note))
        }
        Err(e) => (None, Some(format!("events not loaded: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::miner::MinerConfig;
    use crate::events::store::{Caps, EventStore};
    use crate::events::syslog::Received;

    fn msg(host: &str, text: &str) -> Received {
        Received {
            host: host.into(),
            app: "sshd".into(),
            severity: Some(3),
            facility: Some(4),
            time: None,
            text: text.into(),
            raw: false,
        }
    }

    #[test]
    fn a_saved_store_comes_back_and_learns_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.json");
        let mut s = EventStore::new(MinerConfig::default(), Caps::default());
        let t0 = 1_800_000_000;
        let (a, _) = s.add(&msg("n1", "disk 3 failed on bay 2"), t0);
        s.add(&msg("n2", "disk 4 failed on bay 7"), t0 + 5);
        s.add(&msg("n2", "fan stopped"), t0 + 6);
        save(&path, &s.saved()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner only: {mode:o}");
        let back = load(&path).unwrap().unwrap();
        let mut r = EventStore::restored(MinerConfig::default(), Caps::default(), back);
        assert_eq!(r.len(), 2);
        assert_eq!(r.counters, s.counters);
        let st = r.templates().find(|(id, _)| *id == a).unwrap().1;
        assert_eq!((st.count, st.hosts.len(), st.samples.len()), (2, 2, 2));
        let (b, new) = r.add(&msg("n3", "disk 9 failed on bay 1"), t0 + 70);
        assert_eq!((b, new), (a, false), "joins the restored template");
    }

    #[test]
    fn a_damaged_file_is_set_aside_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.json");
        std::fs::write(&path, b"{\"version\":1,\"counters\":").unwrap();
        let (s, note) = load_or_set_aside(&path, 42);
        assert!(s.is_none());
        let note = note.unwrap();
        assert!(
            note.contains("damaged") && note.contains("events.json"),
            "{note}"
        );
        assert!(dir.path().join("events.json.damaged-42").exists());
        assert!(!path.exists());
    }
}
