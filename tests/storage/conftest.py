"""What the spool tests share: a new spool in a temporary data folder, and a second, plain
sqlite3 connection to see what is really on disk."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.storage.spool import Spool


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
