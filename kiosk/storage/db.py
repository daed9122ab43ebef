"""One way to open an SQLite database, so every file gets the same durability settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

Mode = Literal["durable", "bulk", "readonly"]


def plain_error(exc: BaseException) -> str:
    """The driver's own one-line message. SQLAlchemy's text adds the SQL and its parameters,
    which can hold a patron's barcode: never show or log that."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).splitlines()
    return lines[0] if lines else type(orig).__name__


def sqlite_engine(path: Path, *, mode: Mode = "durable") -> Engine:
    """An engine for one SQLite file.

    durable: WAL with synchronous=FULL, so a commit is on disk when it returns (survives power
        loss). Transactions start with BEGIN IMMEDIATE, taking the write lock up front, so two
        writers queue (busy_timeout) instead of failing half-way.
    bulk: no journal and no syncs, for a new file that is thrown away if building it fails and
        flushed to disk by the caller before it is used.
    readonly: opened with mode=ro; the file must exist and is never changed.
    """
    if mode == "readonly":
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        url = f"sqlite:///{path}"
    engine = create_engine(url, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # We issue BEGIN ourselves (below): pysqlite's own transaction handling defers it.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.execute("PRAGMA foreign_keys = ON")
        if mode == "durable":
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
        elif mode == "bulk":
            cursor.execute("PRAGMA journal_mode = OFF")
            cursor.execute("PRAGMA synchronous = OFF")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if mode == "readonly" else "BEGIN IMMEDIATE")

    return engine
