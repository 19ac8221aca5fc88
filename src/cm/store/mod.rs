//! The durable job store: SQLite (WAL, synchronous=FULL) under the state directory, written by
//! one thread that commits whatever is pending in one transaction and only then acknowledges —
//! so a submission is answered only once it is on disk, and a burst costs few fsyncs. A lock
//! file keeps a second manager from opening the same store.

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use super::codec::{self, Frame};
use super::job::JobSpec;

pub mod log;
pub mod wire;
mod writer;

pub use log::{Position, Snapshot};
pub use writer::{CommitError, Committed, StoreWriter};

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sql {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The lock is held.
    #[error("{path} is in use by another gantry cm{holder}; only one manager may use a store")]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// " (pid N)" when known.
        holder: String,
    },
    /// A file could not be created or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is there but is not a usable store.
    #[error("{path}: {what}")]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What is wrong and what to do.
        what: String,
    },
    /// The writer thread is gone.
    #[error("the job store's writer stopped")]
    Gone,
    /// A manager at an older epoch than this store's sent a snapshot or entries: it has been
    /// replaced, and what it sends must not overwrite what a newer one acknowledged.
    #[error("{path}: refused what a manager at epoch {theirs} sent: this store is at epoch {ours}")]
    Superseded {
        /// The database file.
        path: PathBuf,
        /// The sender's epoch.
        theirs: u64,
        /// This store's.
        ours: u64,
    },
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for a node.
    Queued,
    /// Its tasks run.
    Running,
    /// Every task exited 0.
    Done,
    /// A task exited non-zero.
    Failed,
    /// Killed on request.
    Killed,
    /// Being moved to another node (between stop and restart).
    Migrated,
    /// Its node lost track of it.
    Lost,
}

impl JobState {
    /// The stored and protocol spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Killed => "killed",
            JobState::Migrated => "migrated",
            JobState::Lost => "lost",
        }
    }

    /// Reads the spelling back.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            "killed" => JobState::Killed,
            "migrated" => JobState::Migrated,
            "lost" => JobState::Lost,
            _ => return None,
        })
    }

    /// Whether the job has ended.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Killed | JobState::Lost
        )
    }
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// Id.
    pub id: u64,
    /// Owner.
    pub user: String,
    /// What was asked for.
    pub spec: JobSpec,
    /// State.
    pub state: JobState,
    /// Epoch seconds.
    pub submitted: u64,
    /// Epoch seconds.
    pub started: Option<u64>,
    /// Epoch seconds.
    pub ended: Option<u64>,
    /// Nodes of its tasks.
    pub nodes: Vec<String>,
    /// Pids of its tasks.
    pub pids: Vec<u32>,
    /// Exit status (the first non-zero of its tasks, else 0).
    pub exit: Option<i32>,
    /// Where its tasks keep checkpoints.
    pub checkpoint_dir: String,
    /// The Unix account its tasks run as (decided at submission).
    pub account: String,
    /// Why it ended as it did, when a number says too little (a launch error, say).
    pub reason: String,
}

/// One task (a process of a job on a node) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// `JOB.N`.
    pub id: String,
    /// Job id.
    pub job: u64,
    /// Node.
    pub node: String,
    /// Pid on that node.
    pub pid: u32,
    /// running, exited, migrated (moved away), lost.
    pub state: String,
    /// Exit status.
    pub exit: Option<i32>,
}

fn encode_spec(s: &JobSpec) -> String {
    codec::encode(&Frame::new(s.to_fields()))
}

fn decode_spec(text: &str) -> Result<JobSpec, String> {
    let f = codec::decode(text.as_bytes(), usize::MAX).map_err(|e| e.to_string())?;
    JobSpec::from_fields(f.head())
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// A write for the store thread.
#[derive(Debug, Clone)]
pub enum Write {
    /// Insert or replace a job.
    Job(Box<JobRecord>),
    /// Insert or replace a task.
    Task(TaskRecord),
    /// Append to a job's history.
    Event(u64, u64, String),
    /// A node joined the cluster (it counts for quorums from now on, §9 of the protocol).
    Node(String),
}

/// The database, opened and locked.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    _lock: File,
    /// The last logged batch: its epoch and sequence number.
    last: log::Position,
}

/// Holds the store's directory locked (flock on the directory itself, which cannot be deleted
/// from under a running manager the way a lock file can), and records the holder's pid.
fn lock(dir: &Path) -> Result<File, StoreError> {
    use std::io::Write as _;
    use std::os::fd::AsRawFd;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    let d = File::open(dir).map_err(io(dir))?;
    // SAFETY: flock on a descriptor we own; released when it is closed (or the process dies).
    let r = unsafe { libc::flock(d.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    let pid_file = dir.join("cm.pid");
    if r != 0 {
        let holder = std::fs::read_to_string(&pid_file).unwrap_or_default();
        let holder = holder.trim();
        return Err(StoreError::Locked {
            path: dir.to_path_buf(),
            holder: if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder})")
            },
        });
    }
    let mut f = private_file(&pid_file).map_err(io(&pid_file))?;
    f.set_len(0).map_err(io(&pid_file))?;
    write!(f, "{}", std::process::id()).map_err(io(&pid_file))?;
    Ok(d)
}

/// Opens (creating) a file only its owner may read or write, and tightens one that was made
/// looser by an earlier version.
pub fn private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    if f.metadata()?.permissions().mode() & 0o077 != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(f)
}

/// Makes a new, empty store at `path` whole or not at all: made and synced under another name,
/// then renamed into place with its directory synced. Made in place, a power cut could leave
/// an empty `jobs.sqlite` behind a synced directory, which [`check_file`] rightly refuses.
fn create_new(path: &Path) -> Result<(), StoreError> {
    let tmp = path.with_extension("sqlite.new");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| StoreError::Io { path: p, source }
    };
    // What a start killed while making one left behind.
    for leftover in ["sqlite.new", "sqlite.new-journal", "sqlite.new-wal"] {
        let _ = std::fs::remove_file(path.with_extension(leftover));
    }
    private_file(&tmp).map_err(io(&tmp))?;
    {
        let conn = Connection::open(&tmp).map_err(|source| StoreError::Sql {
            path: tmp.clone(),
            source,
        })?;
        // Page 1 written (the header, in WAL mode), and a table, so the file is a store.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )
        .map_err(|source| StoreError::Sql {
            path: tmp.clone(),
            source,
        })?;
    }
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        crate::durable::sync_dir(dir).map_err(io(dir))?;
    }
    Ok(())
}

/// Refuses a database file that exists but cannot be the store: empty (SQLite would silently
/// start a new, empty store in it) or not a SQLite file at all.
fn check_file(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let damaged = |what: &str| StoreError::Damaged {
        path: path.to_path_buf(),
        what: what.to_string(),
    };
    if meta.len() == 0 {
        return Err(damaged(
            "the file is empty (0 bytes), so every job it held is gone; restore it from a backup, or move it aside to start an empty store",
        ));
    }
    let mut head = [0u8; 16];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if n < 16 || &head != b"SQLite format 3\0" {
        return Err(damaged(
            "not a SQLite database (its header is wrong); restore it from a backup, or move it aside to start an empty store",
        ));
    }
    Ok(())
}

impl Store {
    /// Opens (creating) `DIR/jobs.sqlite`, holding `DIR` locked. An empty or damaged database
    /// is refused, naming the file, rather than replaced by an empty store.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        crate::durable::create_dir_all(dir, 0o700).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let lock = lock(dir)?;
        {
            use std::os::unix::fs::PermissionsExt;
            // The store, its pid file and the secrets beside it are the manager's alone.
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let path = dir.join("jobs.sqlite");
        if std::fs::symlink_metadata(&path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            create_new(&path)?;
        }
        check_file(&path)?;
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        private_file(&path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        let conn = Connection::open(&path).map_err(sql)?;
        // Exclusive locking: SQLite itself refuses a second opener, whatever happens to the
        // directory lock (and the WAL index lives in memory, not in a -shm file).
        conn.execute_batch(
            "PRAGMA locking_mode=EXCLUSIVE;
             PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;",
        )
        .map_err(sql)?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(sql)?;
        if check != "ok" {
            return Err(StoreError::Damaged {
                path: path.clone(),
                what: format!("the database is damaged ({check}); restore it from a backup"),
            });
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS jobs(
                id INTEGER PRIMARY KEY, user TEXT NOT NULL, spec TEXT NOT NULL,
                state TEXT NOT NULL, submitted INTEGER NOT NULL, started INTEGER, ended INTEGER,
                nodes TEXT NOT NULL, pids TEXT NOT NULL, exit INTEGER, checkpoint_dir TEXT NOT NULL,
                account TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '');
             CREATE TABLE IF NOT EXISTS tasks(
                id TEXT PRIMARY KEY, job INTEGER NOT NULL, node TEXT NOT NULL, pid INTEGER NOT NULL,
                state TEXT NOT NULL, exit INTEGER);
             CREATE TABLE IF NOT EXISTS events(job INTEGER NOT NULL, t INTEGER NOT NULL, what TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS nodes(name TEXT PRIMARY KEY);
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, batch TEXT NOT NULL);",
        )
        .map_err(sql)?;
        // Stores from before accounts: add the columns.
        for col in ["account", "reason"] {
            let has: bool = conn
                .prepare("SELECT 1 FROM pragma_table_info('jobs') WHERE name = ?1")
                .and_then(|mut st| st.exists([col]))
                .map_err(sql)?;
            if !has {
                conn.execute_batch(&format!(
                    "ALTER TABLE jobs ADD COLUMN {col} TEXT NOT NULL DEFAULT ''"
                ))
                .map_err(sql)?;
            }
        }
        let mut store = Self {
            conn,
            path,
            _lock: lock,
            last: log::Position::default(),
        };
        store.open_log()?;
        Ok(store)
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Applies writes in one transaction, logged as the next batch of the current epoch.
    pub fn apply(&mut self, writes: &[Write]) -> Result<log::Position, StoreError> {
        let at = log::Position {
            epoch: self.last.epoch,
            seq: self.last.seq + 1,
        };
        self.apply_at(writes, at)
    }

    /// Applies writes in one transaction, logged at `at` (a batch a primary committed, when
    /// this store is its shadow's).
    pub fn apply_at(
        &mut self,
        writes: &[Write],
        at: log::Position,
    ) -> Result<log::Position, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        log::append(&tx, at, writes).map_err(sql)?;
        Self::write_rows(&tx, writes).map_err(sql)?;
        tx.commit().map_err(sql)?;
        self.last = at;
        Ok(at)
    }

    fn write_rows(tx: &rusqlite::Transaction<'_>, writes: &[Write]) -> rusqlite::Result<()> {
        for w in writes {
            match w {
                Write::Job(j) => tx.execute(
                    "INSERT OR REPLACE INTO jobs(id,user,spec,state,submitted,started,ended,nodes,pids,exit,checkpoint_dir,account,reason)
                     VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                    params![
                        j.id as i64,
                        j.user,
                        encode_spec(&j.spec),
                        j.state.as_str(),
                        j.submitted as i64,
                        j.started.map(|v| v as i64),
                        j.ended.map(|v| v as i64),
                        join(&j.nodes),
                        join(&j.pids),
                        j.exit,
                        j.checkpoint_dir,
                        j.account,
                        j.reason
                    ],
                ),
                Write::Task(t) => tx.execute(
                    "INSERT OR REPLACE INTO tasks VALUES (?1,?2,?3,?4,?5,?6)",
                    params![t.id, t.job as i64, t.node, t.pid, t.state, t.exit],
                ),
                Write::Event(job, t, what) => tx.execute(
                    "INSERT INTO events VALUES (?1,?2,?3)",
                    params![*job as i64, *t as i64, what],
                ),
                Write::Node(name) => tx.execute(
                    "INSERT OR IGNORE INTO nodes VALUES (?1)",
                    params![name],
                ),
            }?;
        }
        Ok(())
    }

    /// Every job, oldest first.
    pub fn jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        jobs_in(&self.conn, &self.path)
    }

    fn sql_at(path: &Path, source: rusqlite::Error) -> StoreError {
        StoreError::Sql {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Every task not yet ended.
    pub fn running_tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        self.tasks_where("state='running'")
    }

    /// Tasks matching an SQL condition (written by this module, never from outside).
    pub(super) fn tasks_where(&self, condition: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT id,job,node,pid,state,exit FROM tasks WHERE {condition}"
            ))
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(TaskRecord {
                    id: r.get(0)?,
                    job: r.get::<_, i64>(1)? as u64,
                    node: r.get(2)?,
                    pid: r.get(3)?,
                    state: r.get(4)?,
                    exit: r.get(5)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }
}

/// Every job in the store at `dir` (`jobs.sqlite`), read without taking the store: a running
/// manager keeps it, and SQLite's write-ahead log lets a reader in beside it.
pub fn read_jobs(dir: &Path) -> Result<Vec<JobRecord>, StoreError> {
    let path = dir.join("jobs.sqlite");
    if !path.exists() {
        return Err(StoreError::Io {
            path,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no job store here"),
        });
    }
    let conn = Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Store::sql_at(&path, e))?;
    // A running manager holds its store exclusively (so no second manager can write it).
    jobs_in(&conn, &path).map_err(|e| match e {
        StoreError::Sql { source, .. }
            if source.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) =>
        {
            StoreError::Locked {
                path: path.clone(),
                holder: String::new(),
            }
        }
        e => e,
    })
}

fn jobs_in(conn: &Connection, path: &Path) -> Result<Vec<JobRecord>, StoreError> {
    let mut st = conn
        .prepare("SELECT id,user,spec,state,submitted,started,ended,nodes,pids,exit,checkpoint_dir,account,reason FROM jobs ORDER BY id")
        .map_err(|e| Store::sql_at(path, e))?;

    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, Option<i32>>(9)?,
                r.get::<_, String>(10)?,
                r.get::<_, String>(11)?,
                r.get::<_, String>(12)?,
            ))
        })
        .map_err(|e| Store::sql_at(path, e))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, user, spec, state, sub, st, en, nodes, pids, exit, ck, account, reason) =
            row.map_err(|e| Store::sql_at(path, e))?;
        let (Ok(spec), Some(state)) = (decode_spec(&spec), JobState::parse(&state)) else {
            tracing::error!("job {id} in {} is unreadable; skipped", path.display());
            continue;
        };
        out.push(JobRecord {
            id: id as u64,
            user,
            spec,
            state,
            submitted: sub as u64,
            started: st.map(|v| v as u64),
            ended: en.map(|v| v as u64),
            nodes: split(&nodes),
            pids: split(&pids).iter().filter_map(|p| p.parse().ok()).collect(),
            exit,
            checkpoint_dir: ck,
            account,
            reason,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64) -> JobRecord {
        JobRecord {
            id,
            user: "alice".into(),
            spec: JobSpec {
                name: "n|a&me".into(),
                exec: "/bin/true".into(),
                args: vec!["a b".into(), "x=y".into()],
                tasks_per_node: 1,
                total_tasks: 2,
                ..JobSpec::default()
            },
            state: JobState::Running,
            submitted: 10,
            started: Some(11),
            ended: None,
            nodes: vec!["n1".into(), "n2".into()],
            pids: vec![5, 6],
            exit: None,
            checkpoint_dir: "/tmp/ck".into(),
            account: "alice".into(),
            reason: String::new(),
        }
    }

    #[test]
    fn jobs_round_trip_and_a_second_opener_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.apply(&[
            Write::Job(Box::new(job(1))),
            Write::Task(TaskRecord {
                id: "1.0".into(),
                job: 1,
                node: "n1".into(),
                pid: 5,
                state: "running".into(),
                exit: None,
            }),
            Write::Event(1, 11, "started".into()),
        ])
        .unwrap();
        assert_eq!(s.jobs().unwrap(), vec![job(1)]);
        assert_eq!(s.running_tasks().unwrap().len(), 1);
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("in use by another gantry cm (pid "), "{e}");
        // Deleting the pid file (or anything else beside the store) does not lift the lock.
        std::fs::remove_file(dir.path().join("cm.pid")).unwrap();
        assert!(Store::open(dir.path()).is_err());
        drop(s);
        assert_eq!(Store::open(dir.path()).unwrap().jobs().unwrap().len(), 1);
    }

    #[test]
    fn an_empty_or_foreign_database_is_refused_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("jobs.sqlite");
        std::fs::write(&db, b"").unwrap();
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(
            e.contains("jobs.sqlite: the file is empty (0 bytes)"),
            "{e}"
        );
        std::fs::write(&db, b"not a database at all, just some text").unwrap();
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("not a SQLite database"), "{e}");
        std::fs::remove_file(&db).unwrap();
        let s = Store::open(dir.path()).unwrap();
        let mode = std::fs::metadata(&db).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(dmode & 0o077, 0, "{dmode:o}");
        drop(s);
    }

    #[test]
    fn a_new_store_is_made_aside_and_a_half_made_one_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        // What a start killed while making the store left: an empty file under the new name.
        std::fs::write(dir.path().join("jobs.sqlite.new"), b"").unwrap();
        let s = Store::open(dir.path()).unwrap();
        drop(s);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("jobs.sqlite"))
            .collect();
        assert_eq!(names, ["jobs.sqlite"], "{names:?}");
        let db = std::fs::read(dir.path().join("jobs.sqlite")).unwrap();
        assert!(db.starts_with(b"SQLite format 3\0"));
        assert!(Store::open(dir.path()).is_ok(), "it opens again");
    }
}
