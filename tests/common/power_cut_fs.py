"""A filesystem that forgets whatever was never synced: power-loss tests (tests/power_loss.rs).

    python power_cut_fs.py MOUNTPOINT

Everything is kept in memory. A file keeps its bytes as written and its bytes as of its last
fsync; a directory keeps its entries as they are and as of its last fsync. Writing `cut` to the
control file `/.power` drops every write that was not synced, as losing power drops the page
cache: each file goes back to its synced bytes and each directory to its synced entries (an
entry created, renamed or removed since the directory's last fsync is undone), recursively from
the root. Writing `sync` makes everything durable, as sync(2) does.

Writing `cut SEED` loses power in another crash state, chosen by SEED, in which part of the
unsynced changes was kept, as a journalling filesystem without data journalling may keep them:
the changes to names (create, rename, remove) up to a random point in the order they were made
(a journal commits them in order; a rename is one change in both its directories, kept by a
sync of either, as a journal keeps it whole), and of each
file's unsynced writes and truncations a random subset, in any order (dirty pages are written
back as they come). So a name can survive without its data, and a later write without an
earlier one.

What this proves, and what not: that what a program synced is kept, in the crash state where
every unsynced change is lost and in those random ones (POSIX promises no more for synced
data). Not every state is explored, and the kept names follow one order (a filesystem may
commit them otherwise). Metadata (modes, times) is kept as it is, and rename flags are ignored.

Single-threaded. The kernel's entry and attribute caches are off (timeouts 0); its page cache
is dropped at every open (no keep_cache) and writes go straight through (no writeback cache),
so a process started after a cut reads what the filesystem kept. The tests kill and reap every
process on the filesystem before they cut.
"""

import errno
import itertools
import os
import random
import stat
import sys
import time

import mfusepy
from mfusepy import FUSE, FuseOSError, Operations

CONTROL = "/.power"
_inodes = itertools.count(2)


class Node:
    def __init__(self, mode):
        uid, gid, _pid = mfusepy.fuse_get_context()
        self.mode, self.uid, self.gid = mode, uid, gid
        now = time.time_ns()
        self.atime = self.mtime = self.ctime = now
        self.ino = next(_inodes)

    def touch(self):
        self.mtime = self.ctime = time.time_ns()


class File(Node):
    def __init__(self, mode):
        super().__init__(mode)
        self.data = bytearray()
        self.synced = b""
        # Unsynced changes, in order: ("w", offset, bytes) or ("t", length).
        self.pending = []

    def apply(self, data, op):
        if op[0] == "w":
            _, offset, chunk = op
            if len(data) < offset:
                data.extend(b"\0" * (offset - len(data)))
            data[offset : offset + len(chunk)] = chunk
        else:
            length = op[1]
            if length < len(data):
                del data[length:]
            else:
                data.extend(b"\0" * (length - len(data)))


class Dir(Node):
    def __init__(self, mode):
        super().__init__(mode)
        self.entries = {}
        self.synced = {}

    def change(self, name, node):
        """Applies one change to its synced names (node None: the name was removed)."""
        if node is None:
            self.synced.pop(name, None)
        else:
            self.synced[name] = node


class PowerCutFs(Operations):
    use_ns = True

    def __init__(self):
        self.root = Dir(stat.S_IFDIR | 0o755)
        self.root.ino = 1
        self.handles = {}
        self.next_fh = itertools.count(1)
        self.cuts = 0
        self.seq = 0
        # Unsynced changes to names, in the order made: (sequence, directory, name, node or
        # None for removed). Both halves of a rename share one sequence number.
        self.journal = []

    def _named(self, d, name, node, seq=None):
        """Records a change to a name, after making it, to be kept or lost at a cut."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.journal.append((seq, d, name, node))

    def _commit(self, seqs):
        """Makes the changes numbered `seqs` durable. An earlier unsynced change to the same
        name is superseded, so it can never be replayed over a later one."""
        done = [c for c in self.journal if c[0] in seqs]
        latest = {}
        for seq, d, name, node in done:
            d.change(name, node)
            latest[(id(d), name)] = seq
        self.journal = [
            c
            for c in self.journal
            if c[0] not in seqs and latest.get((id(c[1]), c[2]), -1) < c[0]
        ]

    # -- names

    def _parent(self, path):
        head, name = os.path.split(path)
        node = self._lookup(head)
        if not isinstance(node, Dir):
            raise FuseOSError(errno.ENOTDIR)
        return node, name

    def _lookup(self, path):
        node = self.root
        for part in [p for p in path.split("/") if p]:
            if not isinstance(node, Dir):
                raise FuseOSError(errno.ENOTDIR)
            node = node.entries.get(part)
            if node is None:
                raise FuseOSError(errno.ENOENT)
        return node

    def _node(self, path, fh):
        if fh and fh in self.handles:
            return self.handles[fh]
        return self._lookup(path)

    def _handle(self, node):
        fh = next(self.next_fh)
        self.handles[fh] = node
        return fh

    # -- power

    def _cut(self, seed=None):
        rng = random.Random(seed) if seed is not None else None
        # Changes to names made up to this point are kept (none on a plain cut): the first k
        # unsynced ones, k uniform from none to all, as a journal commits them in order.
        unsynced = sorted({c[0] for c in self.journal})
        point = rng.choice([0] + unsynced) if rng else 0
        self._commit({seq for seq in unsynced if seq <= point})
        self.journal = []

        writes = [0, 0]  # kept, unsynced

        def revert(d):
            d.entries = dict(d.synced)
            for child in d.entries.values():
                if isinstance(child, Dir):
                    revert(child)
                else:
                    data = bytearray(child.synced)
                    for op in child.pending:
                        writes[1] += 1
                        if rng and rng.random() < 0.5:
                            child.apply(data, op)
                            writes[0] += 1
                    child.data, child.synced, child.pending = data, bytes(data), []

        revert(self.root)
        self.cuts += 1
        k = sum(1 for seq in unsynced if seq <= point)
        kept = (
            f" (seed {seed}: {k} of {len(unsynced)} unsynced changes to names kept,"
            f" {writes[0]} of {writes[1]} unsynced writes)"
            if rng
            else ""
        )
        print(f"power cut {self.cuts}{kept}", file=sys.stderr, flush=True)

    def _sync(self):
        self.journal = []

        def sync(d):
            d.synced = dict(d.entries)
            for child in d.entries.values():
                if isinstance(child, Dir):
                    sync(child)
                else:
                    child.synced, child.pending = bytes(child.data), []

        sync(self.root)

    # -- attributes

    def getattr(self, path, fh=None):
        if path == CONTROL:
            return {"st_mode": stat.S_IFREG | 0o600, "st_nlink": 1, "st_size": 0, "st_ino": 0xFFFF}
        n = self._node(path, fh)
        size = len(n.data) if isinstance(n, File) else 4096
        return {
            "st_mode": n.mode,
            "st_ino": n.ino,
            "st_nlink": 2 if isinstance(n, Dir) else 1,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_uid": n.uid,
            "st_gid": n.gid,
            "st_atime": n.atime,
            "st_mtime": n.mtime,
            "st_ctime": n.ctime,
        }

    def chmod(self, path, mode):
        n = self._lookup(path)
        n.mode = (n.mode & ~0o7777) | (mode & 0o7777)
        n.ctime = time.time_ns()
        return 0

    def chown(self, path, uid, gid):
        n = self._lookup(path)
        if uid != 0xFFFFFFFF and uid != -1:
            n.uid = uid
        if gid != 0xFFFFFFFF and gid != -1:
            n.gid = gid
        return 0

    def utimens(self, path, times=None):
        n = self._lookup(path)
        now = time.time_ns()
        n.atime, n.mtime = times if times else (now, now)
        return 0

    def statfs(self, path):
        return {
            "f_bsize": 4096,
            "f_frsize": 4096,
            "f_blocks": 1 << 20,
            "f_bfree": 1 << 19,
            "f_bavail": 1 << 19,
            "f_files": 1 << 16,
            "f_ffree": 1 << 15,
            "f_namemax": 255,
        }

    def access(self, path, amode):
        if path != CONTROL:
            self._lookup(path)
        return 0

    # -- directories

    def mkdir(self, path, mode):
        parent, name = self._parent(path)
        if name in parent.entries:
            raise FuseOSError(errno.EEXIST)
        d = Dir(stat.S_IFDIR | (mode & 0o7777))
        parent.entries[name] = d
        self._named(parent, name, d)
        parent.touch()
        return 0

    def rmdir(self, path):
        parent, name = self._parent(path)
        d = parent.entries.get(name)
        if not isinstance(d, Dir):
            raise FuseOSError(errno.ENOTDIR if d else errno.ENOENT)
        if d.entries:
            raise FuseOSError(errno.ENOTEMPTY)
        del parent.entries[name]
        self._named(parent, name, None)
        parent.touch()
        return 0

    def opendir(self, path):
        node = self._lookup(path)
        if not isinstance(node, Dir):
            raise FuseOSError(errno.ENOTDIR)
        return self._handle(node)

    def readdir(self, path, fh):
        d = self._node(path, fh)
        # With use_ino, an entry without an inode number (0) is skipped by readdir(3).
        yield ".", {"st_mode": d.mode, "st_ino": d.ino}, 0
        yield "..", {"st_mode": stat.S_IFDIR | 0o755, "st_ino": 1}, 0
        for name, n in list(d.entries.items()):
            yield name, {"st_mode": n.mode, "st_ino": n.ino}, 0

    def releasedir(self, path, fh):
        self.handles.pop(fh, None)
        return 0

    def fsyncdir(self, path, datasync, fh):
        d = self._node(path, fh)
        # This directory's changes, with the other half of any rename among them.
        self._commit({c[0] for c in self.journal if c[1] is d})
        return 0

    # -- files

    def create(self, path, mode, flags=0):
        parent, name = self._parent(path)
        if name in parent.entries:
            raise FuseOSError(errno.EEXIST)
        f = File(stat.S_IFREG | (mode & 0o7777))
        parent.entries[name] = f
        self._named(parent, name, f)
        parent.touch()
        return self._handle(f)

    def open(self, path, flags):
        if path == CONTROL:
            return 0
        n = self._lookup(path)
        if isinstance(n, Dir):
            raise FuseOSError(errno.EISDIR)
        if flags & os.O_TRUNC:
            n.data = bytearray()
            n.pending.append(("t", 0))
        return self._handle(n)

    def read(self, path, size, offset, fh):
        n = self._node(path, fh)
        return bytes(n.data[offset : offset + size])

    def write(self, path, data, offset, fh):
        if path == CONTROL:
            what = data.strip().split()
            if what == [b"cut"]:
                self._cut()
            elif len(what) == 2 and what[0] == b"cut" and what[1].isdigit():
                self._cut(int(what[1]))
            elif what == [b"sync"]:
                self._sync()
            else:
                raise FuseOSError(errno.EINVAL)
            return len(data)
        n = self._node(path, fh)
        op = ("w", offset, bytes(data))
        n.apply(n.data, op)
        n.pending.append(op)
        n.touch()
        return len(data)

    def truncate(self, path, length, fh=None):
        if path == CONTROL:
            return 0
        n = self._node(path, fh)
        op = ("t", length)
        n.apply(n.data, op)
        n.pending.append(op)
        n.touch()
        return 0

    def fsync(self, path, datasync, fh):
        n = self._node(path, fh)
        if isinstance(n, File):
            n.synced, n.pending = bytes(n.data), []
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        self.handles.pop(fh, None)
        return 0

    def unlink(self, path):
        parent, name = self._parent(path)
        n = parent.entries.get(name)
        if n is None:
            raise FuseOSError(errno.ENOENT)
        if isinstance(n, Dir):
            raise FuseOSError(errno.EISDIR)
        del parent.entries[name]
        self._named(parent, name, None)
        parent.touch()
        return 0

    def rename(self, old, new):
        op, oname = self._parent(old)
        np, nname = self._parent(new)
        n = op.entries.get(oname)
        if n is None:
            raise FuseOSError(errno.ENOENT)
        there = np.entries.get(nname)
        if isinstance(there, Dir) and there.entries:
            raise FuseOSError(errno.ENOTEMPTY)
        if there is not None and isinstance(there, Dir) != isinstance(n, Dir):
            raise FuseOSError(errno.EISDIR if isinstance(there, Dir) else errno.ENOTDIR)
        del op.entries[oname]
        np.entries[nname] = n
        # One change in the journal: kept or lost in both directories together.
        self.seq += 1
        self._named(op, oname, None, self.seq)
        self._named(np, nname, n, self.seq)
        op.touch()
        np.touch()
        return 0


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: power_cut_fs.py MOUNTPOINT")
    FUSE(
        PowerCutFs(),
        sys.argv[1],
        foreground=True,
        nothreads=True,
        allow_other=True,
        default_permissions=True,
        hard_remove=True,
        entry_timeout=0,
        attr_timeout=0,
        negative_timeout=0,
        use_ino=True,
    )


if __name__ == "__main__":
    main()
