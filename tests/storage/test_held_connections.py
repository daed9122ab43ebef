"""The connections the spool holds for the calls made at every scan (kiosk.storage.db):
one per thread, a transaction never left open, all closed with the spool."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kiosk.domain.checkout import Checkout
from kiosk.storage.db import HeldConnections, sqlite_engine
from kiosk.storage.spool import Spool
from tests.conftest import item, patron


def test_each_thread_keeps_its_own_connection(tmp_path: Path) -> None:
    held = HeldConnections(sqlite_engine(tmp_path / "x.db"))
    with held() as (first, _), held() as (again, _):
        assert first is again  # the same thread: the same connection, no hand-over
    seen: list[sqlite3.Connection] = []

    def other() -> None:
        with held() as (db, _):
            seen.append(db)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen and seen[0] is not first
    held.close()


def test_a_transaction_left_open_is_rolled_back_and_the_write_lock_freed(
    tmp_path: Path,
) -> None:
    engine = sqlite_engine(tmp_path / "x.db")
    held = HeldConnections(engine)
    with held() as (db, _):
        db.execute("CREATE TABLE t (n INTEGER)")
    with held() as (db, _):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (1)")  # and the block ends without a COMMIT
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None, timeout=0.1)
    other.execute("BEGIN IMMEDIATE")  # the lock is free: no "database is locked"
    assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)
    other.execute("ROLLBACK")
    other.close()
    held.close()


def test_closing_the_spool_closes_the_connections_it_held(tmp_path: Path) -> None:
    spool = Spool.open(tmp_path, create=True)
    lent = Checkout(
        "s1", patron(1), item(1), date(2026, 12, 14), False, datetime(2026, 11, 23, tzinfo=UTC)
    )
    spool.record_checkout(lent, "K1", UTC)
    with spool._held() as (db, _):
        pass
    spool.close()
    with pytest.raises(sqlite3.ProgrammingError):
        db.execute("SELECT 1")
    reopened = Spool.open(tmp_path)
    assert [c.checkout for c in reopened.checkouts()] == [lent]
    reopened.close()
