"""A filesystem that forgets whatever was never synced: power-loss tests (tests/power_loss.rs).

    python power_cut_fs.py MOUNTPOINT

Everything is kept in memory. A file keeps its bytes as written and its bytes as of its last
fsync; a directory keeps its entries as they are and as of its last fsync. Writing `cut` to the
control file `/.power` drops every write that was not synced, as losing power drops the page
cache: each file goes back to its synced bytes and each directory to its synced entries (an
entry created, renamed or removed since the directory's last fsync is undone), recursively from
the root. Writing `sync` makes everything durable, as sync(2) does.

What this proves, and what not: that what a program synced is kept, in the crash state where
every unsynced change is lost (POSIX promises no more for synced data). A real filesystem may
also keep any part of the unsynced changes (a name without its data, a later write without an
earlier one); those states are not explored here. Metadata (modes, times) is kept as it is,
and rename flags are ignored.

Single-threaded. The kernel's entry and attribute caches are off (timeouts 0); its page cache
is dropped at every open (no keep_cache) and writes go straight through (no writeback cache),
so a process started after a cut reads what the filesystem kept. The tests kill and reap every
process on the filesystem before they cut.
"""

import errno
import itertools
import os
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


class Dir(Node):
    def __init__(self, mode):
        super().__init__(mode)
        self.entries = {}
        self.synced = {}


class PowerCutFs(Operations):
    use_ns = True

    def __init__(self):
        self.root = Dir(stat.S_IFDIR | 0o755)
        self.root.ino = 1
        self.handles = {}
        self.next_fh = itertools.count(1)
        self.cuts = 0

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

    def _cut(self):
        def revert(d):
            d.entries = dict(d.synced)
            for child in d.entries.values():
                if isinstance(child, Dir):
                    revert(child)
                else:
                    child.data = bytearray(child.synced)

        revert(self.root)
        self.cuts += 1
        print(f"power cut {self.cuts}", file=sys.stderr, flush=True)

    def _sync(self):
        def sync(d):
            d.synced = dict(d.entries)
            for child in d.entries.values():
                if isinstance(child, Dir):
                    sync(child)
                else:
                    child.synced = bytes(child.data)

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
        parent.entries[name] = Dir(stat.S_IFDIR | (mode & 0o7777))
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
        d.synced = dict(d.entries)
        return 0

    # -- files

    def create(self, path, mode, flags=0):
        parent, name = self._parent(path)
        if name in parent.entries:
            raise FuseOSError(errno.EEXIST)
        f = File(stat.S_IFREG | (mode & 0o7777))
        parent.entries[name] = f
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
        return self._handle(n)

    def read(self, path, size, offset, fh):
        n = self._node(path, fh)
        return bytes(n.data[offset : offset + size])

    def write(self, path, data, offset, fh):
        if path == CONTROL:
            what = data.strip()
            if what == b"cut":
                self._cut()
            elif what == b"sync":
                self._sync()
            else:
                raise FuseOSError(errno.EINVAL)
            return len(data)
        n = self._node(path, fh)
        end = offset + len(data)
        if len(n.data) < offset:
            n.data.extend(b"\0" * (offset - len(n.data)))
        n.data[offset:end] = data
        n.touch()
        return len(data)

    def truncate(self, path, length, fh=None):
        if path == CONTROL:
            return 0
        n = self._node(path, fh)
        if length < len(n.data):
            del n.data[length:]
        else:
            n.data.extend(b"\0" * (length - len(n.data)))
        n.touch()
        return 0

    def fsync(self, path, datasync, fh):
        n = self._node(path, fh)
        if isinstance(n, File):
            n.synced = bytes(n.data)
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
