"""The spool's settings table: the staff settings, and the channel through which a `kiosk
staff` command tells the running kiosk about them (another process, the same file)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from kiosk.storage.db import HeldConnections, database_errors

_SETTINGS_QUERY = "SELECT key, value FROM settings WHERE key IN (SELECT value FROM json_each(?))"


@database_errors("the spool cannot be used")
class SpoolSettings:
    """Part of `Spool` (kiosk.storage.spool), sharing its engine."""

    _engine: Engine
    _held: HeldConnections

    def __init__(self) -> None:
        # Moved on by every change this object makes to the settings: with SQLite's
        # data_version (which moves when another connection commits) it says when a kept
        # read is stale. Each value is new (next() on a count is atomic), so two threads
        # changing settings at once cannot bring it back to a value a read was kept under.
        self._settings_counter = itertools.count(1)
        self._settings_changes = 0

    @contextmanager
    def _changing_settings(self) -> Iterator[None]:
        """Around every write to the settings table: a kept read (`settings`) is stale after
        it. Counted before and after, so a read made in between is not kept either."""
        self._settings_changes = next(self._settings_counter)
        try:
            yield
        finally:
            self._settings_changes = next(self._settings_counter)

    def set_setting(self, key: str, value: str | None) -> None:
        with self._changing_settings(), self._engine.begin() as conn:
            if value is None:
                conn.exec_driver_sql("DELETE FROM settings WHERE key = ?", (key,))
            else:
                conn.exec_driver_sql(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    def setting(self, key: str) -> str | None:
        return self.settings((key,)).get(key)

    def settings(self, keys: tuple[str, ...]) -> dict[str, str]:
        """Several settings in one read. The kiosk looks at the staff settings at every scan,
        and they seldom change: the answer is kept with the connection and read again only
        when the database changed under it (PRAGMA data_version: a commit by any other
        connection, such as a `kiosk staff` command) or this object changed a setting."""
        with self._held() as (db, notes):
            (version,) = db.execute("PRAGMA data_version").fetchone()
            stamp = (version, self._settings_changes, keys)
            kept = notes.get("settings")
            if kept is not None and kept[0] == stamp:
                return dict(kept[1])
            rows = db.execute(_SETTINGS_QUERY, (json.dumps(list(keys)),)).fetchall()
            values = {str(k): str(v) for k, v in rows}
            notes["settings"] = (stamp, values)
        return dict(values)
