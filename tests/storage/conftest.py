"""What the storage tests share: a new spool in a temporary data folder, a second, plain
sqlite3 connection to see what is really on disk, and the check that a refused import left
a swapped store (patron or item snapshots) exactly as it was."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.errors import SnapshotError
from kiosk.storage.spool import Spool
from kiosk.storage.swap import SwappedStore


@contextlib.contextmanager
def direct(path: Path) -> Iterator[sqlite3.Connection]:
    """A second, independent connection in autocommit mode."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def spool(data_dir: Path) -> Iterator[Spool]:
    s = Spool.open(data_dir, create=True)
    try:
        yield s
    finally:
        s.close()


def refused_unchanged(store: SwappedStore, attempt: Callable[[], object]) -> str:
    """`attempt` (an import into `store`) is refused with SnapshotError, and the store's
    current file and folder are as they were: its message."""

    def files() -> list[str]:
        return sorted(p.name for p in store.folder.glob("*")) if store.folder.exists() else []

    before, listed = store.current(), files()
    with pytest.raises(SnapshotError) as caught:
        attempt()
    assert store.current() == before
    assert files() == listed
    return str(caught.value)
