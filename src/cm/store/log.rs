//! The store's replication log and its durable settings. Every committed batch of writes is
//! also kept as one numbered log entry, tagged with the epoch of the manager that committed it,
//! in the same transaction — so a shadow that was away catches up from the entries after its
//! own last one, and two stores agree up to a point exactly when their entries there carry the
//! same epoch. The epoch itself (the fencing token of docs/protocol.md §9) lives in `meta`.

use rusqlite::{OptionalExtension, Transaction, params};

use super::wire;
use super::{JobRecord, Store, StoreError, Write};

/// How many entries the log keeps; a shadow further behind is sent a whole snapshot instead.
pub const KEEP: u64 = 200_000;

/// A place in the log: the epoch of the manager that committed the batch, and its number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Epoch of the committing manager.
    pub epoch: u64,
    /// Sequence number (1 for the first batch ever).
    pub seq: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (epoch {})", self.seq, self.epoch)
    }
}

/// One logged batch, as text (what the link to a shadow carries).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Where it is.
    pub at: Position,
    /// The batch, encoded by `wire::encode_batch`.
    pub text: String,
}

/// Everything a shadow needs to start over: every row, and the log position it stands for.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The position this is the state after.
    pub at: Position,
    /// The writes that rebuild it.
    pub writes: Vec<Write>,
}

/// Keys of the `meta` table.
const EPOCH: &str = "epoch";

pub(super) fn append(tx: &Transaction<'_>, at: Position, writes: &[Write]) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO log VALUES (?1,?2,?3)",
        params![at.seq as i64, at.epoch as i64, wire::encode_batch(writes)],
    )?;
    if at.seq.is_multiple_of(1000) && at.seq > KEEP {
        tx.execute(
            "DELETE FROM log WHERE seq <= ?1",
            params![(at.seq - KEEP) as i64],
        )?;
    }
    Ok(())
}

impl Store {
    /// Reads where the log stands and the epoch.
    pub(super) fn open_log(&mut self) -> Result<(), StoreError> {
        let last: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT seq, epoch FROM log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let (seq, logged_epoch) = last.map_or((0, 0), |(s, e)| (s as u64, e as u64));
        let epoch = self.meta(EPOCH)?.and_then(|v| v.parse().ok()).unwrap_or(0);
        self.last = Position {
            epoch: epoch.max(logged_epoch),
            seq,
        };
        Ok(())
    }

    /// Sets a durable setting.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta VALUES (?1, ?2)",
                params![key, value],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// A durable setting.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// The last logged batch's position, with the store's current epoch (which a takeover
    /// raises before anything is logged in it).
    pub fn position(&self) -> Position {
        self.last
    }

    /// The epoch of the entry at `seq`, when the log still has it.
    pub fn epoch_at(&self, seq: u64) -> Result<Option<u64>, StoreError> {
        if seq == 0 {
            return Ok(Some(0));
        }
        self.conn
            .query_row("SELECT epoch FROM log WHERE seq = ?1", [seq as i64], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map(|e| e.map(|e| e as u64))
            .map_err(|e| self.sql(e))
    }

    /// Raises the epoch durably (a takeover or a take-back); never lowers it.
    pub fn set_epoch(&mut self, epoch: u64) -> Result<(), StoreError> {
        if epoch <= self.last.epoch {
            return Ok(());
        }
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta VALUES (?1, ?2)",
                params![EPOCH, epoch.to_string()],
            )
            .map_err(|e| self.sql(e))?;
        self.last.epoch = epoch;
        Ok(())
    }

    /// Entries after `seq`, at most `limit`, oldest first; `None` when the log no longer
    /// reaches back that far.
    pub fn entries_after(&self, seq: u64, limit: usize) -> Result<Option<Vec<Entry>>, StoreError> {
        let oldest: Option<i64> = self
            .conn
            .query_row("SELECT MIN(seq) FROM log", [], |r| r.get(0))
            .map_err(|e| self.sql(e))?;
        if seq < self.last.seq && oldest.is_none_or(|o| o as u64 > seq + 1) {
            return Ok(None);
        }
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT seq, epoch, batch FROM log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map(params![seq as i64, limit as i64], |r| {
                Ok(Entry {
                    at: Position {
                        seq: r.get::<_, i64>(0)? as u64,
                        epoch: r.get::<_, i64>(1)? as u64,
                    },
                    text: r.get(2)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(|e| self.sql(e))
    }

    /// Applies entries the active manager at `leader` committed, in order and in one
    /// transaction; refused when this store is at a newer epoch (checked here, in the store's
    /// own thread, so a takeover's epoch and a late batch from the old manager never race).
    pub fn apply_entries(
        &mut self,
        leader: u64,
        entries: &[(Position, Vec<Write>)],
    ) -> Result<(), StoreError> {
        self.not_superseded(leader)?;
        let Some(last) = entries.last().map(|e| e.0) else {
            return Ok(());
        };
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for (at, writes) in entries {
            append(&tx, *at, writes).map_err(sql)?;
            Self::write_rows(&tx, writes).map_err(sql)?;
        }
        if last.epoch > self.last.epoch {
            tx.execute(
                "INSERT OR REPLACE INTO meta VALUES (?1, ?2)",
                params![EPOCH, last.epoch.to_string()],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        self.last = Position {
            epoch: self.last.epoch.max(last.epoch),
            seq: last.seq,
        };
        Ok(())
    }

    /// The nodes that ever joined.
    pub fn nodes(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT name FROM nodes ORDER BY name")
            .map_err(|e| self.sql(e))?;
        let rows = st.query_map([], |r| r.get(0)).map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    fn events(&self) -> Result<Vec<Write>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT job, t, what FROM events ORDER BY rowid")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(Write::Event(
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)? as u64,
                    r.get(2)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Everything in the store, as the writes that rebuild it.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let jobs: Vec<JobRecord> = self.jobs()?;
        let mut writes: Vec<Write> = self.nodes()?.into_iter().map(Write::Node).collect();
        writes.extend(jobs.into_iter().map(|j| Write::Job(Box::new(j))));
        writes.extend(self.tasks_where("1")?.into_iter().map(Write::Task));
        writes.extend(self.events()?);
        Ok(Snapshot {
            at: self.last,
            writes,
        })
    }

    fn not_superseded(&self, leader: u64) -> Result<(), StoreError> {
        if leader < self.last.epoch {
            return Err(StoreError::Superseded {
                path: self.path.clone(),
                theirs: leader,
                ours: self.last.epoch,
            });
        }
        Ok(())
    }

    /// Replaces everything with a snapshot the active manager at `leader` sent, in one
    /// transaction: a snapshot cut short leaves the store as it was. Refused when this store
    /// is at a newer epoch, as [`Self::apply_entries`] is.
    pub fn install(&mut self, leader: u64, snap: &Snapshot) -> Result<(), StoreError> {
        self.not_superseded(leader)?;
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute_batch(
            "DELETE FROM jobs; DELETE FROM tasks; DELETE FROM events; DELETE FROM nodes; DELETE FROM log;",
        )
        .map_err(sql)?;
        Self::write_rows(&tx, &snap.writes).map_err(sql)?;
        // The log restarts at the snapshot's position: an empty entry marks it.
        append(&tx, snap.at, &[]).map_err(sql)?;
        let epoch = snap.at.epoch.max(self.last.epoch);
        tx.execute(
            "INSERT OR REPLACE INTO meta VALUES (?1, ?2)",
            params![EPOCH, epoch.to_string()],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        self.last = Position {
            epoch,
            seq: snap.at.seq,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_numbers_batches_keeps_the_epoch_and_a_snapshot_rebuilds_a_store() {
        let a = tempfile::tempdir().unwrap();
        let mut s = Store::open(a.path()).unwrap();
        assert_eq!(s.position(), Position::default());
        s.set_epoch(1).unwrap();
        s.apply(&[Write::Node("n1".into())]).unwrap();
        let p = s.apply(&[Write::Event(1, 2, "x".into())]).unwrap();
        assert_eq!(p, Position { epoch: 1, seq: 2 });
        let e = s.entries_after(0, 10).unwrap().unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].at, p);
        assert_eq!(s.epoch_at(2).unwrap(), Some(1));
        // Reopened, the store knows where it stands.
        drop(s);
        let s = Store::open(a.path()).unwrap();
        assert_eq!(s.position(), p);
        let snap = s.snapshot().unwrap();
        let b = tempfile::tempdir().unwrap();
        let mut t = Store::open(b.path()).unwrap();
        t.apply(&[Write::Node("stale".into())]).unwrap();
        t.install(snap.at.epoch, &snap).unwrap();
        assert_eq!(t.position(), p);
        assert_eq!(t.nodes().unwrap(), vec!["n1".to_string()]);
        assert_eq!(t.snapshot().unwrap().writes.len(), 2);
        // After a snapshot, only what follows it can be streamed.
        assert!(t.entries_after(p.seq, 10).unwrap().unwrap().is_empty());
        assert!(t.entries_after(0, 10).unwrap().is_none());
    }

    #[test]
    fn a_store_that_took_over_refuses_what_the_replaced_manager_sends() {
        // The shadow took over at epoch 2 while its link to the stopped primary (epoch 1)
        // was being made again; the primary woke and sent its snapshot. Installed, it would
        // erase what the shadow acknowledged at epoch 2 and hand its job ids out again.
        let a = tempfile::tempdir().unwrap();
        let mut old = Store::open(a.path()).unwrap();
        old.set_epoch(1).unwrap();
        old.apply(&[Write::Node("n1".into())]).unwrap();
        let snap = old.snapshot().unwrap();
        let b = tempfile::tempdir().unwrap();
        let mut new = Store::open(b.path()).unwrap();
        new.install(1, &snap).unwrap();
        new.set_epoch(2).unwrap();
        let acknowledged = new
            .apply(&[Write::Event(7, 1, "acknowledged".into())])
            .unwrap();
        let e = new.install(1, &snap).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::Superseded {
                    theirs: 1,
                    ours: 2,
                    ..
                }
            ),
            "{e}"
        );
        let late = (
            Position { epoch: 1, seq: 2 },
            vec![Write::Node("late".into())],
        );
        assert!(matches!(
            new.apply_entries(1, &[late]),
            Err(StoreError::Superseded { .. })
        ));
        assert_eq!(new.position(), acknowledged);
        assert_eq!(new.nodes().unwrap(), vec!["n1".to_string()]);
        // The manager that replaced it may still send both.
        let next = (
            Position { epoch: 2, seq: 3 },
            vec![Write::Node("n2".into())],
        );
        new.apply_entries(2, &[next]).unwrap();
        assert_eq!(new.nodes().unwrap().len(), 2);
    }
}
