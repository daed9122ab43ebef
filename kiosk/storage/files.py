"""Files that must survive power loss, and that only the kiosk's user may read."""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable only by this user, each new folder made durable
    in its parent; tighten it if it exists."""
    durable_dirs(path, PRIVATE_DIR)
    if not path.is_dir():  # as mkdir says it (a file is in the way): never chmod the file
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    if path.stat().st_mode & 0o077:
        path.chmod(PRIVATE_DIR)
    return path


def durable_dirs(path: Path, mode: int = PRIVATE_DIR) -> list[Path]:
    """Make `path` and any missing parents, and flush each new folder's entry into its
    parent (a folder made but not flushed can vanish at a power cut, with everything the
    command then wrote and reported done inside it). Returns the folders it made."""
    missing = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    made = []
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            continue  # made meanwhile by another process: that one flushes it
        fsync_dir(folder.parent)
        made.append(folder)
    return made


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path, mode: int = PRIVATE_FILE) -> Iterator[IO[bytes]]:
    """Write `path` so that a reader sees the old file or the whole new one, never half.

    The data goes to a temporary file in the same folder, is flushed to disk, renamed over the
    target, and the folder entry is flushed too. On any error the temporary file is removed.
    """
    durable_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, mode)  # FAT-formatted USB drives have no modes and may refuse
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
        fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes, mode: int = PRIVATE_FILE) -> None:
    with atomic_writer(path, mode) as handle:
        handle.write(data)


def atomic_create_bytes(path: Path, data: bytes, mode: int = PRIVATE_FILE) -> bool:
    """Like atomic_write_bytes, but never over a file already there (one made meanwhile by
    another process stays): the whole file appears under its name at once, by link(2).
    False: `path` existed, and nothing was written."""
    durable_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def user_name(uid: int | None = None) -> str:
    """A user's name for a message (this process's effective user by default)."""
    uid = os.geteuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def write_report_files(folder: Path, stem: str, csv_text: str, html_text: str) -> tuple[Path, Path]:
    """A report's two files, `folder/stem.csv` and `folder/stem.html`, each written whole
    and readable only by the kiosk's user (the folder too)."""
    private_dir(folder)
    csv_path, html_path = folder / f"{stem}.csv", folder / f"{stem}.html"
    atomic_write_bytes(csv_path, csv_text.encode("utf-8"))
    atomic_write_bytes(html_path, html_text.encode("utf-8"))
    return csv_path, html_path
