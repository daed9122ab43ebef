"""A filesystem that loses power: what is written is visible at once, but a "power cut"
keeps only what was made durable, as a disk behind a volatile cache does:

- a file's data (and size) becomes durable when the file is fsynced;
- a folder's entries (files and folders made, renamed, removed in it) become durable when
  the folder is fsynced.

After the cut every operation fails with EIO (the machine is off: nothing written after it
can be confirmed to anyone). The test then kills what ran on it and unmounts; this process
writes the durable state to a file and exits; the next mount starts from that state.

    python -m tests.reliability.powerfs MOUNTPOINT STATE [--cut-after N]

STATE: a pickle of the durable state (read if it exists, written at unmount). SIGUSR1 cuts
the power now; --cut-after N cuts it at the N-th write or fsync (a targeted cut). In memory
and single-threaded (mfusepy over libfuse 3): fast enough for a kiosk's spool.
"""

from __future__ import annotations

import argparse
import errno
import os
import pickle
import signal
import stat
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import mfusepy as fuse


@dataclass
class Node:
    mode: int
    uid: int = 0
    gid: int = 0
    data: bytearray = field(default_factory=bytearray)  # files
    durable: bytes = b""
    entries: dict[str, int] = field(default_factory=dict)  # folders: name -> node number
    durable_entries: dict[str, int] = field(default_factory=dict)
    mtime: int = 0

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


def fresh_state() -> dict[int, Node]:
    now = time.time_ns()
    return {1: Node(stat.S_IFDIR | 0o755, mtime=now)}


def after_power_cut(nodes: dict[int, Node]) -> dict[int, Node]:
    """What is left when the power goes: durable entries, durable data, nothing else."""
    kept: dict[int, Node] = {}
    todo = [1]
    while todo:
        number = todo.pop()
        if number in kept or number not in nodes:
            continue
        node = nodes[number]
        survivor = Node(node.mode, node.uid, node.gid, mtime=node.mtime)
        if node.is_dir:
            survivor.entries = dict(node.durable_entries)
            survivor.durable_entries = dict(node.durable_entries)
            todo.extend(survivor.entries.values())
        else:
            survivor.data = bytearray(node.durable)
            survivor.durable = node.durable
        kept[number] = survivor
    for node in kept.values():  # entries whose node never became durable are gone
        if node.is_dir:
            node.entries = {k: v for k, v in node.entries.items() if v in kept}
            node.durable_entries = dict(node.entries)
    return kept


class PowerFS(fuse.Operations):
    use_ns = True  # utimens gets nanoseconds

    def __init__(self, nodes: dict[int, Node], cut_after: int | None) -> None:
        self.nodes = nodes
        self.next_number = max(nodes) + 1
        self.cut = False
        self.cut_after = cut_after
        self.counted = 0  # writes and fsyncs, for --cut-after
        self.first_refused = ""

    # Power ----------------------------------------------------------------------------------

    def power_cut(self, *_: Any) -> None:
        self.cut = True

    def _alive(self, op: str = "", path: str = "") -> None:
        if self.cut:
            if not self.first_refused:  # what the cut interrupted, for the report
                self.first_refused = f"{op} {path}"
                print(f"powerfs: cut; first refused: {op} {path}", file=sys.stderr, flush=True)
            raise fuse.FuseOSError(errno.EIO)

    def _count(self, op: str = "", path: str = "") -> None:
        self._alive(op, path)
        self.counted += 1
        if self.cut_after is not None and self.counted >= self.cut_after:
            self.cut = True
            self._alive(op, path)

    # Lookups --------------------------------------------------------------------------------

    def _lookup(self, path: str) -> int:
        number = 1
        for part in filter(None, path.split("/")):
            node = self.nodes[number]
            if not node.is_dir or part not in node.entries:
                raise fuse.FuseOSError(errno.ENOENT)
            number = node.entries[part]
        return number

    def _parent(self, path: str) -> tuple[Node, str]:
        head, _, name = path.rstrip("/").rpartition("/")
        parent = self.nodes[self._lookup(head or "/")]
        if not parent.is_dir:
            raise fuse.FuseOSError(errno.ENOTDIR)
        return parent, name

    def _new(self, path: str, mode: int) -> int:
        parent, name = self._parent(path)
        if name in parent.entries:
            raise fuse.FuseOSError(errno.EEXIST)
        number = self.next_number
        self.next_number += 1
        uid, gid, _ = fuse.fuse_get_context()
        self.nodes[number] = Node(mode, uid, gid, mtime=time.time_ns())
        parent.entries[name] = number
        return number

    # Operations -----------------------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        self._alive("getattr", path)
        node = self.nodes[self._lookup(path)]
        size = 4096 if node.is_dir else len(node.data)
        return {
            "st_mode": node.mode,
            "st_nlink": 2 if node.is_dir else 1,
            "st_uid": node.uid,
            "st_gid": node.gid,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_mtime": node.mtime / 1e9,
            "st_ctime": node.mtime / 1e9,
            "st_atime": node.mtime / 1e9,
        }

    def readdir(self, path: str, fh: int) -> list[str]:
        self._alive("readdir", path)
        return [".", "..", *self.nodes[self._lookup(path)].entries]

    def mkdir(self, path: str, mode: int) -> None:
        self._count("mkdir", path)
        self._new(path, stat.S_IFDIR | (mode & 0o7777))

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        self._count("create", path)
        return self._new(path, stat.S_IFREG | (mode & 0o7777))

    def open(self, path: str, flags: int) -> int:
        self._alive("open", path)
        number = self._lookup(path)
        if flags & os.O_TRUNC:
            self.nodes[number].data.clear()
        return number

    def opendir(self, path: str) -> int:
        self._alive("opendir", path)
        return self._lookup(path)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        self._alive("read", path)
        return bytes(self.nodes[fh].data[offset : offset + size])

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        self._count("write", path)
        node = self.nodes[fh]
        if offset > len(node.data):
            node.data.extend(b"\0" * (offset - len(node.data)))
        node.data[offset : offset + len(data)] = data
        node.mtime = time.time_ns()
        return len(data)

    def truncate(self, path: str, length: int, fh: int | None = None) -> None:
        self._count("truncate", path)
        node = self.nodes[fh if fh else self._lookup(path)]
        if length < len(node.data):
            del node.data[length:]
        else:
            node.data.extend(b"\0" * (length - len(node.data)))

    def fsync(self, path: str, datasync: int, fh: int) -> None:
        self._count("fsync", path)
        node = self.nodes[fh]
        node.durable = bytes(node.data)

    def fsyncdir(self, path: str, datasync: int, fh: int) -> None:
        self._count("fsyncdir", path)
        node = self.nodes[fh]
        node.durable_entries = dict(node.entries)

    def unlink(self, path: str) -> None:
        self._count("unlink", path)
        parent, name = self._parent(path)
        if name not in parent.entries:
            raise fuse.FuseOSError(errno.ENOENT)
        del parent.entries[name]

    def rmdir(self, path: str) -> None:
        self._count("rmdir", path)
        parent, name = self._parent(path)
        number = parent.entries.get(name)
        if number is None:
            raise fuse.FuseOSError(errno.ENOENT)
        if self.nodes[number].entries:
            raise fuse.FuseOSError(errno.ENOTEMPTY)
        del parent.entries[name]

    def rename(self, old: str, new: str) -> None:
        self._count("rename", old)
        source, old_name = self._parent(old)
        target, new_name = self._parent(new)
        number = source.entries.get(old_name)
        if number is None:
            raise fuse.FuseOSError(errno.ENOENT)
        replaced = target.entries.get(new_name)
        if replaced is not None and self.nodes[replaced].is_dir and self.nodes[replaced].entries:
            raise fuse.FuseOSError(errno.ENOTEMPTY)
        del source.entries[old_name]
        target.entries[new_name] = number

    def chmod(self, path: str, mode: int) -> None:
        self._count("chmod", path)
        node = self.nodes[self._lookup(path)]
        node.mode = (node.mode & ~0o7777) | (mode & 0o7777)

    def chown(self, path: str, uid: int, gid: int) -> None:
        self._count("chown", path)
        node = self.nodes[self._lookup(path)]
        node.uid = node.uid if uid == -1 else uid
        node.gid = node.gid if gid == -1 else gid

    def utimens(self, path: str, times: Any = None) -> None:
        self._alive()
        self.nodes[self._lookup(path)].mtime = time.time_ns()

    def statfs(self, path: str) -> dict[str, int]:
        self._alive()
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

    def release(self, path: str, fh: int) -> None:
        return None

    def releasedir(self, path: str, fh: int) -> None:
        return None

    def flush(self, path: str, fh: int) -> None:
        return None

    def access(self, path: str, amode: int) -> None:
        self._alive()
        self._lookup(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mountpoint")
    parser.add_argument("state")
    parser.add_argument("--cut-after", type=int, default=None)
    args = parser.parse_args()
    nodes = fresh_state()
    if os.path.exists(args.state):
        with open(args.state, "rb") as handle:
            nodes = pickle.load(handle)
    fs = PowerFS(nodes, args.cut_after)
    signal.signal(signal.SIGUSR1, fs.power_cut)
    fuse.FUSE(
        fs,
        args.mountpoint,
        foreground=True,
        nothreads=True,
        allow_other=True,
        default_permissions=True,
    )
    survivors = after_power_cut(fs.nodes)  # unmounted: the power is off, whatever happened
    with open(args.state + ".new", "wb") as handle:
        pickle.dump(survivors, handle)
    os.replace(args.state + ".new", args.state)
    print(
        f"powerfs: {'cut' if fs.cut else 'unmounted'}, {len(survivors)} nodes kept", file=sys.stderr
    )


if __name__ == "__main__":
    main()
