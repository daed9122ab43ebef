"""The audit trail: every staff action, snapshot load, export, period change, out-of-service
change and start-up, in an append-only log where each entry carries the hash of the one
before it (a hash chain). Editing, removing or reordering an entry breaks the chain, and
`kiosk audit verify` names the first entry that no longer fits.

One JSON object a line in data_dir/audit.log (readable only by the kiosk's user). Several
processes may append (the kiosk and a staff command): an exclusive file lock keeps the chain
in order. Entries never hold a patron's barcode or name.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.errors import StorageError
from kiosk.storage.files import PRIVATE_FILE, private_dir

AUDIT_FILE = "audit.log"
GENESIS = "0" * 64  # the "previous hash" of the first entry


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str  # ISO 8601 with offset
    actor: str  # "kiosk", "cli", "staff:<name>"
    action: str  # "start", "snapshot.import", "spool.export", "service.out", ...
    details: dict[str, Any]
    prev: str
    hash: str


@dataclass(frozen=True)
class Break:
    line: int  # 1-based line of the audit file
    seq: int | None
    problem: str


def _digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / AUDIT_FILE

    def append(
        self, action: str, *, actor: str, at: datetime, details: dict[str, Any] | None = None
    ) -> AuditEntry:
        """Add one entry, on disk (fsync) before this returns."""
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_line(fd)
            if last is None:
                seq, prev = 1, GENESIS
            else:
                try:
                    before = json.loads(last)
                    seq, prev = int(before["seq"]) + 1, str(before["hash"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise StorageError(
                        f"the audit log {self.path} ends with a damaged entry; "
                        "run `kiosk audit verify`"
                    ) from exc
            body: dict[str, Any] = {
                "seq": seq,
                "at": at.isoformat(timespec="seconds"),
                "actor": actor,
                "action": action,
                "details": details or {},
                "prev": prev,
            }
            entry = {**body, "hash": _digest(body)}
            os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
            os.fsync(fd)
        except OSError as exc:
            raise StorageError(f"the audit log {self.path} cannot be written: {exc}") from exc
        finally:
            os.close(fd)  # releases the lock
        return AuditEntry(**entry)

    def entries(self) -> Iterator[AuditEntry]:
        for _, entry, _ in self._read():
            if entry is not None:
                yield entry

    def verify(self) -> tuple[int, Break | None]:
        """(entries that check out, the first break or None)."""
        prev, expected_seq, good = GENESIS, 1, 0
        for line, entry, problem in self._read():
            if entry is None:
                return good, Break(line, None, problem)
            body = {k: v for k, v in entry.__dict__.items() if k != "hash"}
            if _digest(body) != entry.hash:
                return good, Break(line, entry.seq, "its content was changed after it was written")
            if entry.prev != prev:
                return good, Break(
                    line,
                    entry.seq,
                    "it does not follow the entry before it (one was removed, added or moved)",
                )
            if entry.seq != expected_seq:
                return good, Break(line, entry.seq, f"expected entry {expected_seq} here")
            prev, expected_seq, good = entry.hash, expected_seq + 1, good + 1
        return good, None

    def _read(self) -> Iterator[tuple[int, AuditEntry | None, str]]:
        try:
            handle = self.path.open(encoding="utf-8")
        except FileNotFoundError:
            return
        with handle:
            for number, text in enumerate(handle, start=1):
                try:
                    data = json.loads(text)
                    entry = AuditEntry(
                        seq=int(data["seq"]),
                        at=str(data["at"]),
                        actor=str(data["actor"]),
                        action=str(data["action"]),
                        details=dict(data["details"]),
                        prev=str(data["prev"]),
                        hash=str(data["hash"]),
                    )
                except (ValueError, KeyError, TypeError):
                    yield number, None, "it is not a readable entry"
                    return
                yield number, entry, ""


def _last_line(fd: int) -> str | None:
    """The last line of the file behind `fd` (read backwards: the log grows for years)."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return None
    block, data = 4096, b""
    position = size
    while position > 0:
        step = min(block, position)
        position -= step
        data = os.pread(fd, step, position) + data
        if data.rstrip(b"\n").count(b"\n") >= 1:
            break
    return data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")
