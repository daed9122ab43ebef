"""One way to open an SQLite database, so every file gets the same durability settings."""

from __future__ import annotations

import functools
import inspect
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool, PoolProxiedConnection, QueuePool

from kiosk.errors import StorageError

Mode = Literal["durable", "bulk", "readonly"]

# Fault injection, for drills and tests only (off unless set): a full disk without filling one.
# When this names a file holding a number, every durable database (the spool) may hold at most
# that many pages (SQLite's max_page_count, applied at each transaction, so rewriting the
# file moves the limit for the next transaction and deleting it lifts it). It is never set on
# a kiosk; `make torture` sets it where it may not mount a small filesystem.
FAULT_MAX_PAGES_ENV = "KIOSK_FAULT_MAX_PAGES_FILE"
# For the power-loss test only, to prove it can see lost checkouts: the spool's commits are
# no longer on disk when they return (synchronous=NORMAL). Never set on a station.
FAULT_WEAK_SYNC_ENV = "KIOSK_FAULT_WEAK_SYNC"
NO_PAGE_LIMIT = 4294967294  # SQLite's own largest max_page_count


def plain_error(exc: BaseException) -> str:
    """The driver's own one-line message. SQLAlchemy's text adds the SQL and its parameters,
    which can hold a patron's barcode: never show or log that."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).splitlines()
    return lines[0] if lines else type(orig).__name__


# What the database layers below us raise: never seen outside kiosk.storage.
DATABASE_ERRORS = (SQLAlchemyError, sqlite3.Error)

C = TypeVar("C", bound=type)


def database_errors(what: str) -> Callable[[C], C]:
    """A class decorator: every public method of the class (generators too) turns an error
    of SQLAlchemy or SQLite into a StorageError saying `what`, with the driver's own line
    (plain_error). Applied to every class that reaches a database, so callers catch only the
    kiosk's own errors and SQLAlchemy stays inside kiosk.storage. A method that says more
    (a checkout that was not stored, a full disk) raises its own StorageError first."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(method):

            @functools.wraps(method)
            def generator(*args: Any, **kwargs: Any) -> Any:
                try:
                    return (yield from method(*args, **kwargs))
                except DATABASE_ERRORS as exc:
                    raise StorageError(f"{what}: {plain_error(exc)}") from exc

            return generator

        @functools.wraps(method)
        def translated(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except DATABASE_ERRORS as exc:
                raise StorageError(f"{what}: {plain_error(exc)}") from exc

        return translated

    def decorate(cls: C) -> C:
        for name, member in list(vars(cls).items()):
            if name.startswith("_"):
                continue
            if isinstance(member, classmethod | staticmethod):
                setattr(cls, name, type(member)(wrap(member.__func__)))
            elif inspect.isfunction(member):
                setattr(cls, name, wrap(member))
        return cls

    return decorate


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
    if mode == "durable":
        # One connection kept open (and more only while several threads use the spool at
        # once): opening a connection per transaction, and closing the last one, costs a
        # WAL checkpoint with its fsyncs on every scan (2 ms instead of 0.3 ms here). A
        # connection is used by one thread at a time, handed from one to the next by the pool.
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=4,
            connect_args={"check_same_thread": False},
        )
    else:
        engine = create_engine(url, poolclass=NullPool)
    fault_file = os.environ.get(FAULT_MAX_PAGES_ENV) if mode == "durable" else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # We issue BEGIN ourselves (below): pysqlite's own transaction handling defers it.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.execute("PRAGMA foreign_keys = ON")
        if mode == "durable":
            cursor.execute("PRAGMA journal_mode = WAL")
            weak = os.environ.get(FAULT_WEAK_SYNC_ENV) == "1"
            cursor.execute(f"PRAGMA synchronous = {'NORMAL' if weak else 'FULL'}")
        elif mode == "bulk":
            cursor.execute("PRAGMA journal_mode = OFF")
            cursor.execute("PRAGMA synchronous = OFF")
        cursor.close()

    if fault_file:

        @event.listens_for(engine, "checkout")
        def _on_checkout(dbapi_conn: sqlite3.Connection, _record: Any, _proxy: Any) -> None:
            cursor = dbapi_conn.cursor()
            _inject_page_limit(cursor, Path(fault_file))
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if mode == "readonly" else "BEGIN IMMEDIATE")

    return engine


def _inject_page_limit(cursor: sqlite3.Cursor, limit_file: Path) -> None:
    """The full-disk fault (FAULT_MAX_PAGES_ENV): no file, no limit."""
    try:
        pages = int(limit_file.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pages = NO_PAGE_LIMIT  # lifted (a pooled connection keeps the last limit otherwise)
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"{FAULT_MAX_PAGES_ENV}: {limit_file} must hold a number") from exc
    cursor.execute(f"PRAGMA max_page_count = {max(pages, 1)}")


@contextmanager
def driver_connection(engine: Engine) -> Iterator[tuple[sqlite3.Connection, dict[Any, Any]]]:
    """A pooled connection's own `sqlite3.Connection`, and the pool's notes on it (kept as
    long as the connection lives), for the calls made at every scan. SQLAlchemy's execution
    layer costs about 90 µs a transaction on the development machine, as much as a commit's
    fsync; the pool, its events (the full-disk fault) and the connection's settings are the
    same as for every other call. The caller issues BEGIN itself (isolation_level is None)."""
    proxy = engine.raw_connection()
    try:
        db = proxy.driver_connection
        assert isinstance(db, sqlite3.Connection)
        yield db, proxy.info
    finally:
        proxy.close()  # back to the pool, which rolls back anything left open


class HeldConnections:
    """Driver connections for the calls made at every scan (the spool's staff settings'
    check and checkout write; a card or an item looked up in a snapshot): one per thread,
    taken from the pool at its first use and kept until `close`, with no SQLAlchemy
    execution layer around them. The pool's hand-over costs about 18 µs a call here, a
    tenth of a scan to a durable checkout. What the pool does at each hand-over is done at
    each use instead: a transaction left open is rolled back (a read run to its end leaves
    none to pin old WAL pages), and, on a durable engine, the full-disk fault of the tests
    (FAULT_MAX_PAGES_ENV) is applied."""

    def __init__(self, engine: Engine, *, durable: bool = True) -> None:
        self._engine = engine
        self._fault_file = os.environ.get(FAULT_MAX_PAGES_ENV) if durable else None
        self._local = threading.local()
        self._held: list[PoolProxiedConnection] = []
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[tuple[sqlite3.Connection, dict[Any, Any]]]:
        proxy: PoolProxiedConnection | None = getattr(self._local, "proxy", None)
        if proxy is None:
            proxy = self._engine.raw_connection()
            with self._lock:
                self._held.append(proxy)
            self._local.proxy = proxy
        db = proxy.driver_connection
        assert isinstance(db, sqlite3.Connection)
        if self._fault_file:
            cursor = db.cursor()
            _inject_page_limit(cursor, Path(self._fault_file))
            cursor.close()
        try:
            yield db, proxy.info
        finally:
            if db.in_transaction:
                db.rollback()

    def rows(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement run to its end on this thread's connection."""
        with self() as (db, _):
            return db.execute(sql, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for proxy in held:
            proxy.close()
