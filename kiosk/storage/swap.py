"""Lists imported from the library system's exports (patrons, items), each kept as an SQLite
file that is built beside the current one and swapped in atomically.

A store is a folder: the current file, the previous one (for rollback), and a small pointer
file naming both, replaced atomically. An import streams the export into a new file, judges
it (bad rows, a list that shrank by more than half), flushes it to disk and only then moves
the pointer. A refused file leaves the current list untouched.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text

from kiosk.domain.ils_files import TextFormat
from kiosk.domain.patrons import SnapshotMode
from kiosk.domain.service import FUTURE_TOLERANCE
from kiosk.errors import NoSnapshotError, SnapshotError, StorageError
from kiosk.storage.building import (
    ImportCounts,
    Progress,
    Reader,
    Recipe,
    build,
    complete_part,
    judge,
    refuse_future,
)
from kiosk.storage.db import database_errors, plain_error, sqlite_engine
from kiosk.storage.files import atomic_write_bytes, fsync_file, private_dir
from kiosk.storage.textfile import scan_source

__all__ = [
    "ImportCounts",
    "ImportReport",
    "Progress",
    "Reader",
    "Recipe",
    "SnapshotInfo",
    "SwappedStore",
    "column_list",
    "read_info",
]

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)
POINTER = "current.json"


R = TypeVar("R")


@dataclass(frozen=True)
class SnapshotInfo:
    file: Path
    source: str
    sha256: str
    built_at: datetime
    imported_at: datetime
    rows: int
    mode: SnapshotMode = SnapshotMode.ALLOW
    kind: str = "patrons"  # or "items"
    conflicts: int = 0  # cards listed more than once with different values (resolved)
    noted: int = 0  # deny list rows with a flag the kiosk does not know (refused all the same)

    def built_ahead(self, now: datetime) -> timedelta | None:
        """How far the snapshot's build time is ahead of `now`, beyond FUTURE_TOLERANCE: the
        station's clock is behind (or the build time is wrong). None when it is not."""
        ahead = self.built_at - now
        return ahead if ahead > FUTURE_TOLERANCE else None

    def age_hours(self, now: datetime) -> float:
        return (now - self.built_at).total_seconds() / 3600

    @property
    def contents(self) -> str:
        """What the list holds, in words staff read: '1,234 patrons', 'deny list: 56 blocked
        cards', '9,870 items'."""
        if self.kind == "items":
            return f"{self.rows:,} items"
        if self.mode is SnapshotMode.DENY:
            return f"deny list: {self.rows:,} blocked cards"
        return f"{self.rows:,} patrons"

    @property
    def noun(self) -> str:
        if self.kind == "items":
            return "items"
        return "blocked cards" if self.mode is SnapshotMode.DENY else "patrons"


@dataclass(frozen=True)
class ImportReport:
    info: SnapshotInfo
    counts: ImportCounts


@database_errors("the snapshot files cannot be used")
class SwappedStore:
    """One folder of swapped files: `<prefix>-<time>-<sha>.db` and the pointer."""

    prefix = "snapshot"
    missing = "nothing has been imported yet"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pointer = folder / POINTER

    # The pointer -------------------------------------------------------------------------

    def _read_pointer(self) -> dict[str, str | None]:
        try:
            data = json.loads(self.pointer.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"current": None, "previous": None}
        except (OSError, ValueError) as exc:
            raise StorageError(f"the snapshot pointer {self.pointer} is damaged: {exc}") from exc
        return {"current": data.get("current"), "previous": data.get("previous")}

    def _write_pointer(self, current: str | None, previous: str | None) -> None:
        data = json.dumps({"current": current, "previous": previous}, indent=2).encode()
        atomic_write_bytes(self.pointer, data + b"\n")

    def pointer_stamp(self) -> float:
        """Changes whenever a new file is swapped in (cheap to check on every scan)."""
        try:
            return self.pointer.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def current(self) -> SnapshotInfo | None:
        name = self._read_pointer()["current"]
        return None if name is None else read_info(self.folder / name)

    def _current_if_readable(self) -> SnapshotInfo | None:
        """The current file, or None if it is missing or damaged: a damaged file must never
        stand in the way of the import that replaces it."""
        try:
            return self.current()
        except StorageError:
            return None

    def previous(self) -> SnapshotInfo | None:
        name = self._read_pointer()["previous"]
        if name is None or not (self.folder / name).exists():
            return None
        return read_info(self.folder / name)

    def _current_or_refuse(self) -> SnapshotInfo:
        info = self.current()
        if info is None:
            raise NoSnapshotError(self.missing)
        return info

    def rollback(self) -> SnapshotInfo:
        """Make the previous file current again (the current one becomes the previous)."""
        pointer = self._read_pointer()
        previous = pointer["previous"]
        if previous is None or not (self.folder / previous).exists():
            raise NoSnapshotError("there is no previous snapshot to roll back to")
        read_info(self.folder / previous)  # refuse a damaged file before switching to it
        self._write_pointer(previous, pointer["current"])
        return read_info(self.folder / previous)

    # Import --------------------------------------------------------------------------------

    def _import(
        self,
        source: Path,
        recipe: Recipe[R],
        *,
        built_at: datetime | None,
        now: datetime,
        max_bad_percent: float,
        allow_shrink: bool,
        progress: Progress | None,
        text: TextFormat | None = None,
        verify: Callable[[str], None] | None = None,
    ) -> ImportReport:
        """`verify`, if given, is called with the sha256 of exactly the bytes imported (a
        signature check) before anything is swapped in."""
        private_dir(self.folder)
        # One import at a time in a folder: it swaps the one pointer, and while it holds the
        # lock every build file there not its own is a leftover of an import cut short.
        with _folder_lock(self.folder, wait=True):
            _remove_stale_builds(self.folder)
            scanned = scan_source(source, text)
            limit = complete_part(scanned, recipe)
            if verify is not None:
                verify(scanned.sha256)  # checked_read makes sure these are the bytes imported
            given = built_at is not None
            if built_at is None:
                assert scanned.identity is not None
                built_at = datetime.fromtimestamp(scanned.identity.mtime_ns / 1e9, UTC)
            refuse_future(source, built_at, now, given=given)
            stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = self.folder / f"{self.prefix}-{stamp}-{scanned.sha256[:8]}.db"
            building = target.with_suffix(".building")
            building.unlink(missing_ok=True)
            try:
                counts = build(scanned, building, recipe, progress, limit)
                if limit is not None:
                    counts.left_out_line = scanned.last_line
                judge(counts, max_bad_percent, recipe.rows_word)
                info = SnapshotInfo(
                    target,
                    str(source.resolve()),
                    scanned.sha256,
                    built_at,
                    now,
                    counts.imported,
                    recipe.mode,
                    recipe.kind,
                    counts.conflicts,
                    counts.noted,
                )
                current = self._current_if_readable()
                # A list of another mode is another kind of list: its size says nothing.
                if (
                    current is not None
                    and current.mode is info.mode
                    and not allow_shrink
                    and info.rows * 2 < current.rows
                ):
                    raise SnapshotError(
                        f"{source}: has {info.rows:,} {info.noun}, less than half of the current "
                        f"snapshot's {current.rows:,}; it may be cut short. Check the export, or "
                        f"import it with --allow-shrink if there really are fewer {info.noun} now."
                    )
                _write_meta(building, info)
                fsync_file(building)
                building.replace(target)
            except BaseException:
                building.unlink(missing_ok=True)
                raise
            old = self._read_pointer()
            self._write_pointer(target.name, old["current"])
            self._prune(keep={target.name, old["current"]})
            return ImportReport(read_info(target), counts)

    def remove_stale_builds(self) -> list[Path]:
        """Remove build files left by an import that was killed (a 2-million-patron build is
        about 50 MB), unless an import is running now: then it leaves everything alone."""
        if not self.folder.is_dir():
            return []
        with _folder_lock(self.folder, wait=False) as locked:
            return _remove_stale_builds(self.folder) if locked else []

    def _prune(self, keep: set[str | None]) -> None:
        for path in self.folder.glob(f"{self.prefix}-*.db"):
            if path.name not in keep:
                path.unlink(missing_ok=True)


@contextmanager
def _folder_lock(folder: Path, *, wait: bool) -> Iterator[bool]:
    """An exclusive lock on the folder's imports: flock on the folder itself (no file of
    its own, and SQLite's locks on the build files are never touched). Yields whether it was
    taken; the kernel releases it if the process dies."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _remove_stale_builds(folder: Path) -> list[Path]:
    removed = []
    for path in sorted(folder.glob("*.building")):
        size = path.stat().st_size
        path.unlink(missing_ok=True)
        removed.append(path)
        log.warning(
            "removed %s (%.1f MB), left by a snapshot import that was cut short",
            path.name,
            size / 1e6,
        )
    return removed


def _write_meta(path: Path, info: SnapshotInfo) -> None:
    engine = sqlite_engine(path, mode="bulk")
    try:
        with engine.begin() as conn:
            meta = {
                "schema_version": str(SCHEMA_VERSION),
                "source": info.source,
                "sha256": info.sha256,
                "built_at": info.built_at.isoformat(),
                "imported_at": info.imported_at.isoformat(),
                "rows": str(info.rows),
                "mode": info.mode.value,
                "kind": info.kind,
                "conflicts": str(info.conflicts),
                "noted": str(info.noted),
            }
            conn.exec_driver_sql("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
    finally:
        engine.dispose()


def read_info(path: Path) -> SnapshotInfo:
    if not path.exists():
        raise StorageError(f"the snapshot file {path} is missing")
    engine = sqlite_engine(path, mode="readonly")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT key, value FROM meta")).all()
            meta: dict[str, str] = {str(r[0]): str(r[1]) for r in rows}
    except Exception as exc:
        raise StorageError(f"the snapshot file {path} is damaged: {plain_error(exc)}") from exc
    finally:
        engine.dispose()
    try:
        return SnapshotInfo(
            file=path,
            source=meta["source"],
            sha256=meta["sha256"],
            built_at=datetime.fromisoformat(meta["built_at"]),
            imported_at=datetime.fromisoformat(meta["imported_at"]),
            rows=int(meta["rows"]),
            # Files from before deny lists and item lists say neither: patron allow lists.
            mode=SnapshotMode(meta.get("mode", SnapshotMode.ALLOW.value)),
            kind=meta.get("kind", "patrons"),
            conflicts=int(meta.get("conflicts", "0")),
            noted=int(meta.get("noted", "0")),
        )
    except (KeyError, ValueError) as exc:
        raise StorageError(f"the snapshot file {path} has no valid description") from exc


def column_list(names: Sequence[str], limit: int = 300) -> str:
    shown = ", ".join(n for n in names if n)
    return (shown[:limit] + "…" if len(shown) > limit else shown) or "nothing"
