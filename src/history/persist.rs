//! The history file: a little-endian binary image of every table, ending in a CRC-32 of all
//! that precedes it. Replaced whole ([`crate::durable::replace`]), so a crash, a full disk or
//! an I/O error mid-save leaves the previous file intact.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

use compact_str::CompactString;

use super::table::{Group, Row, Table};

const MAGIC: &[u8; 8] = b"GANTRYH\x01";

/// Why a history file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The contents are not a history file this version can read.
    #[error("{path}: damaged history file at byte {offset}: {what}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where reading stopped.
        offset: usize,
        /// What was wrong.
        what: String,
    },
}

struct Out<W: Write> {
    w: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Out<W> {
    fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.crc.update(b);
        self.w.write_all(b)
    }
    fn u8(&mut self, v: u8) -> std::io::Result<()> {
        self.bytes(&[v])
    }
    fn u32(&mut self, v: u32) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn str(&mut self, s: &str) -> std::io::Result<()> {
        self.u32(s.len() as u32)?;
        self.bytes(s.as_bytes())
    }
    fn words(&mut self, ws: &[u16]) -> std::io::Result<()> {
        self.u32(ws.len() as u32)?;
        let mut buf = Vec::with_capacity(ws.len() * 2);
        for w in ws {
            buf.extend_from_slice(&w.to_le_bytes());
        }
        self.bytes(&buf)
    }
}

fn write_table<W: Write>(o: &mut Out<W>, key: &str, t: &Table) -> std::io::Result<()> {
    o.str(key)?;
    o.u8(u8::from(t.precise))?;
    o.u32(t.cols)?;
    match t.acc_bin {
        Some(b) => {
            o.u8(1)?;
            o.u64(b)?;
        }
        None => o.u8(0)?,
    }
    for (s, n) in t.acc_sum.iter().zip(&t.acc_n) {
        o.u32(s.to_bits())?;
        o.bytes(&n.to_le_bytes())?;
    }
    o.u32(t.groups.len() as u32)?;
    for (k, g) in &t.groups {
        o.str(k)?;
        o.u64(g.seen)?;
        o.u32(g.names.len() as u32)?;
        for (n, c) in &g.names {
            o.str(n)?;
            o.u32(*c)?;
        }
    }
    for level in &t.levels {
        o.u32(level.len() as u32)?;
        for r in level {
            o.u64(r.bin)?;
            o.words(&r.data)?;
        }
    }
    Ok(())
}

/// Writes tables atomically to `path`; `each` yields every (key, table) under its own lock.
pub fn save(
    path: &Path,
    count: usize,
    each: impl FnOnce(&mut dyn FnMut(&str, &Table) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<u64, HistoryFileError> {
    let io = |source| HistoryFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Metrics are no secret (the aggregator serves them): readable, as before.
    crate::durable::replace_in_dir(path, 0o755, 0o644, |w| {
        write_image(w, count, each).map(drop)
    })
    .map_err(io)
}

/// Writes the image (magic, tables, CRC) to `w`; returns it for the caller to finish.
fn write_image<W: Write>(
    w: W,
    count: usize,
    each: impl FnOnce(&mut dyn FnMut(&str, &Table) -> std::io::Result<()>) -> std::io::Result<()>,
) -> std::io::Result<W> {
    let mut o = Out {
        w,
        crc: crc32fast::Hasher::new(),
    };
    o.bytes(MAGIC)?;
    o.u32(count as u32)?;
    each(&mut |k, t| write_table(&mut o, k, t))?;
    let crc = o.crc.clone().finalize();
    o.w.write_all(&crc.to_le_bytes())?;
    Ok(o.w)
}

/// The file's image of `tables`, in memory (what [`save`] writes).
pub fn encode(tables: &[(CompactString, Table)]) -> Vec<u8> {
    let each = |f: &mut dyn FnMut(&str, &Table) -> std::io::Result<()>| {
        tables.iter().try_for_each(|(k, t)| f(k, t))
    };
    // Writing to a Vec cannot fail.
    write_image(Vec::new(), tables.len(), each).unwrap_or_default()
}

struct In<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(format!("needs {n} more bytes, file ends"));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn len(&mut self, each: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(each) > self.b.len() - self.at {
            return Err(format!("count {n} is larger than the rest of the file"));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<CompactString, String> {
        let n = self.len(1)?;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(CompactString::new)
            .map_err(|_| "a name is not UTF-8".to_string())
    }
}

fn read_table(i: &mut In) -> Result<(CompactString, Table), String> {
    let key = i.str()?;
    let precise = match i.u8()? {
        0 => false,
        1 => true,
        v => return Err(format!("bad precision flag {v}")),
    };
    let mut t = Table::new(precise);
    t.cols = i.len(6)? as u32;
    t.acc_bin = match i.u8()? {
        0 => None,
        1 => Some(i.u64()?),
        v => return Err(format!("bad flag {v}")),
    };
    for _ in 0..t.cols {
        t.acc_sum.push(f32::from_bits(i.u32()?));
        t.acc_n.push(i.u16()?);
    }
    let groups = i.len(16)?;
    let mut map = HashMap::with_capacity(groups);
    for _ in 0..groups {
        let k = i.str()?;
        let seen = i.u64()?;
        let n = i.len(8)?;
        let mut names = Vec::with_capacity(n);
        for _ in 0..n {
            let name = i.str()?;
            let c = i.u32()?;
            if c >= t.cols {
                return Err(format!("column {c} of '{k}/{name}' is out of range"));
            }
            names.push((name, c));
        }
        map.insert(k, Group { names, seen });
    }
    t.groups = map;
    for level in 0..t.levels.len() {
        let n = i.len(12)?;
        let mut ring = VecDeque::with_capacity(n);
        for _ in 0..n {
            let bin = i.u64()?;
            let words = i.len(2)?;
            let raw = i.take(words * 2)?;
            let data = raw
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            ring.push_back(Row { bin, data });
        }
        t.levels[level] = ring;
    }
    Ok((key, t))
}

/// Reads a history file; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Vec<(CompactString, Table)>>, HistoryFileError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(HistoryFileError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    decode(&bytes)
        .map(Some)
        .map_err(|(offset, what)| HistoryFileError::Damaged {
            path: path.to_path_buf(),
            offset,
            what,
        })
}

/// Reads a file's image: its tables, or where and why it is damaged.
pub fn decode(bytes: &[u8]) -> Result<Vec<(CompactString, Table)>, (usize, String)> {
    if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
        return Err((0, "not a Gantry history file (bad magic)".into()));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != want {
        return Err((body.len(), "checksum does not match".into()));
    }
    let mut i = In {
        b: body,
        at: MAGIC.len(),
    };
    let count = i.len(8).map_err(|e| (i.at, e))?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(read_table(&mut i).map_err(|e| (i.at, e))?);
    }
    if i.at != body.len() {
        return Err((i.at, "unexpected bytes after the last table".into()));
    }
    Ok(out)
}

/// Moves a damaged file aside as `NAME.damaged-EPOCH`, returning the new path.
pub fn set_aside(path: &Path, now: u64) -> std::io::Result<PathBuf> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".damaged-{now}"));
    let to = path.with_file_name(name);
    std::fs::rename(path, &to)?;
    Ok(to)
}
