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
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.errors import StorageError
from kiosk.storage.db import database_errors
from kiosk.storage.files import PRIVATE_FILE, atomic_write_bytes, private_dir
from kiosk.storage.spool import SPOOL_FILE

log = logging.getLogger(__name__)
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


@database_errors("the audit trail cannot be used")
class AuditLog:
    def __init__(self, data_dir: Path, *, anchored: bool = False) -> None:
        """anchored: the config names this kiosk's spool (kiosk.spool_id), so the data folder
        was set up: if it is missing, it is never made anew with a fresh trail."""
        self.path = data_dir / AUDIT_FILE
        self.anchored = anchored

    def append(
        self, action: str, *, actor: str, at: datetime, details: dict[str, Any] | None = None
    ) -> AuditEntry:
        """Add one entry, on disk (fsync) before this returns."""
        if self.anchored and not (self.path.parent / SPOOL_FILE).exists():
            raise StorageError(
                f"the spool in {self.path.parent} is missing (is the data folder's disk "
                "mounted?): the audit trail is not started anew in its place"
            )
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            seq, prev = self._next(fd, at)
            entry = self._write(fd, seq, prev, at, actor, action, details or {})
        except OSError as exc:
            raise StorageError(f"the audit log {self.path} cannot be written: {exc}") from exc
        finally:
            os.close(fd)  # releases the lock
        _anchor(self.path.parent, entry.seq, entry.hash)
        return entry

    def _write(
        self,
        fd: int,
        seq: int,
        prev: str,
        at: datetime,
        actor: str,
        action: str,
        details: dict[str, Any],
    ) -> AuditEntry:
        body: dict[str, Any] = {
            "seq": seq,
            "at": at.isoformat(timespec="seconds"),
            "actor": actor,
            "action": action,
            "details": details,
            "prev": prev,
        }
        entry = {**body, "hash": _digest(body)}
        os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
        return AuditEntry(**entry)

    def _next(self, fd: int, at: datetime) -> tuple[int, str]:
        """(seq, prev) for the next entry. A damaged last line (an append torn by a power cut)
        is taken out and kept aside, byte for byte, and an entry saying so continues the
        chain: one torn line never stops the trail."""
        last = _last_line(fd)
        if last is None:
            return 1, GENESIS
        try:
            before = json.loads(last)
            return int(before["seq"]) + 1, str(before["hash"])
        except (ValueError, KeyError, TypeError):
            pass
        size = os.lseek(fd, 0, os.SEEK_END)
        good_end = _end_of_last_good_line(fd, size)
        damaged = os.pread(fd, size - good_end, good_end)
        kept = self.path.with_name(
            f"{self.path.name}.damaged-{at.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
        )
        atomic_write_bytes(kept, damaged)
        os.ftruncate(fd, good_end)
        os.fsync(fd)
        head = _last_line(fd)
        seq, prev = 1, GENESIS
        if head is not None:
            try:
                before = json.loads(head)
                seq, prev = int(before["seq"]) + 1, str(before["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                raise StorageError(
                    f"the audit log {self.path} has damaged lines before its last one; "
                    "run `kiosk audit verify`"
                ) from exc
        repair = self._write(
            fd,
            seq,
            prev,
            at,
            "kiosk",
            "audit.repaired",
            {
                "damaged_bytes": len(damaged),
                "kept_in": kept.name,
                "sha256": hashlib.sha256(damaged).hexdigest(),
            },
        )
        return repair.seq + 1, repair.hash

    def entries(self) -> Iterator[AuditEntry]:
        for _, entry, _ in self._read():
            if entry is not None:
                yield entry

    def verify(self) -> tuple[int, Break | None]:
        """(entries that check out, the first break or None). The chain's newest entry is
        also kept in the spool (see _anchor): a log deleted, or cut short at its end, where
        the chain itself would still hold, is found against it."""
        good, broken = self._verify_chain()
        if broken is not None:
            return good, broken
        head = _read_anchor(self.path.parent)
        if head is None:
            return good, None
        seq, digest = head
        if good < seq:
            what = "is missing" if good == 0 else f"ends at entry #{good}"
            return good, Break(
                good + 1,
                None,
                f"the log {what}, but entry #{seq} was written (the spool keeps the newest "
                f"entry): entries #{good + 1} to #{seq} are gone",
            )
        for number, entry, _ in self._read():
            if entry is not None and entry.seq == seq and entry.hash != digest:
                return good, Break(
                    number, seq, "it is not the entry that was written (the spool says another)"
                )
        return good, None

    def _verify_chain(self) -> tuple[int, Break | None]:
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


def _end_of_last_good_line(fd: int, size: int) -> int:
    """Where the file's last complete line before its (damaged) last one ends."""
    position, data = size, b""
    while position > 0:
        step = min(4096, position)
        position -= step
        data = os.pread(fd, step, position) + data
        body = data.rstrip(b"\n") if position + len(data) == size else data
        cut = body.rfind(b"\n")
        if cut >= 0:
            return position + cut + 1
    return 0


# The chain's head, kept in the spool -------------------------------------------------------

HEAD_SETTING = "audit_head"


def _anchor(data_dir: Path, seq: int, digest: str) -> None:
    """Keep the newest entry's number and hash in the spool (another file, written through
    SQLite): cutting entries off the log's end, or deleting the log, no longer verifies.
    Best effort: the trail itself is written; with no spool yet there is nothing to keep."""
    spool = data_dir / SPOOL_FILE
    if not spool.exists():
        return
    try:
        # Never write to a spool the kiosk would refuse: a damaged file is kept as it was.
        check = sqlite3.connect(f"{spool.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            healthy = [r[0] for r in check.execute("PRAGMA integrity_check")] == ["ok"]
        except UnicodeDecodeError:  # the damage garbled SQLite's own report
            healthy = False
        finally:
            check.close()
        if not healthy:
            return
        conn = sqlite3.connect(spool, timeout=10)
        try:
            conn.execute("PRAGMA synchronous = FULL")
            with conn:
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value "
                    "WHERE CAST(substr(settings.value, 1, instr(settings.value, ' ') - 1) "
                    "AS INTEGER) < ?",
                    (HEAD_SETTING, f"{seq} {digest}", seq),
                )
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.warning("the audit trail's head could not be kept in the spool: %s", exc)


def _read_anchor(data_dir: Path) -> tuple[int, str] | None:
    spool = data_dir / SPOOL_FILE
    if not spool.exists():
        return None
    try:
        conn = sqlite3.connect(f"{spool.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            row = conn.execute(
                "SELECT value FROM settings WHERE key = ?", (HEAD_SETTING,)
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    seq, _, digest = str(row[0]).partition(" ")
    return (int(seq), digest) if seq.isdigit() else None
