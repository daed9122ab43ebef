"""Offline periods and the retention rule, and the export record: which checkouts went into
which export file (and so count as handed over)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from kiosk.errors import PeriodNotHandedOver, StorageError
from kiosk.storage.db import database_errors, plain_error
from kiosk.storage.spool_records import ExportRecord, Period, when_or_none


@database_errors("the spool cannot be used")
class SpoolPeriods:
    """Part of `Spool` (kiosk.storage.spool), sharing its engine."""

    _engine: Engine

    # The export record ------------------------------------------------------------------

    def record_export(
        self, fmt: str, path: str, sha256: str, txn_ids: list[str], when: datetime
    ) -> ExportRecord:
        """Remember that these checkouts were written to an export file: from now on they
        count as handed over (they no longer count toward a patron's limit)."""
        stamp = when.isoformat(timespec="seconds")
        with self._engine.begin() as conn:
            export_id = conn.exec_driver_sql(
                "INSERT INTO exports (exported_at, format, path, sha256, checkouts) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (stamp, fmt, path, sha256, len(txn_ids)),
            ).scalar_one()
            wanted = json.dumps(txn_ids)
            conn.exec_driver_sql(
                "INSERT INTO export_checkouts (export_id, checkout_id) SELECT ?, id "
                "FROM checkouts WHERE txn_id IN (SELECT value FROM json_each(?))",
                (export_id, wanted),
            )
            conn.exec_driver_sql(
                "UPDATE checkouts SET handed_over_at = ? WHERE handed_over_at IS NULL "
                "AND txn_id IN (SELECT value FROM json_each(?))",
                (stamp, wanted),
            )
        return ExportRecord(when, fmt, path, sha256, len(txn_ids))

    def exports_of(self, txn_ids: list[str]) -> dict[str, list[ExportRecord]]:
        """Earlier exports that contained each of these checkouts."""
        found: dict[str, list[ExportRecord]] = {}
        with self._engine.connect() as conn:
            for row in conn.exec_driver_sql(
                "SELECT c.txn_id, e.exported_at, e.format, e.path, e.sha256, e.checkouts "
                "FROM export_checkouts x JOIN checkouts c ON c.id = x.checkout_id "
                "JOIN exports e ON e.id = x.export_id "
                "WHERE c.txn_id IN (SELECT value FROM json_each(?)) ORDER BY e.id",
                (json.dumps(txn_ids),),
            ):
                found.setdefault(row[0], []).append(_export(row[1:]))
        return found

    def exports(self) -> list[ExportRecord]:
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT exported_at, format, path, sha256, checkouts FROM exports ORDER BY id"
            ).all()
        return [_export(r) for r in rows]

    # Offline periods ----------------------------------------------------------------------

    def periods(self) -> list[Period]:
        """Every offline period, oldest first; the last one is open."""
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(_PERIODS_QUERY).all()
        return [_period(r) for r in rows]

    def current_period(self) -> Period:
        return self.periods()[-1]

    def start_new_period(self, now: datetime, *, expected_checkouts: int) -> tuple[Period, Period]:
        """Archive the open period and open the next (the staff "reset").

        Refused (PeriodNotHandedOver) while any checkout of the open period has not been
        handed over, or if the period no longer holds `expected_checkouts` (what staff were
        shown when they confirmed). Nothing is deleted: the archived checkouts stay in the
        spool until the retention rule removes them. Returns (archived, new).
        """
        stamp = now.isoformat(timespec="seconds")
        try:
            with self._engine.begin() as conn:  # BEGIN IMMEDIATE: no checkout slips in
                row = conn.exec_driver_sql(
                    "SELECT p.id, p.first_seq, count(c.id), count(c.handed_over_at), "
                    "(SELECT value FROM counters WHERE name = 'checkout_seq') "
                    "FROM periods p LEFT JOIN checkouts c ON c.seq >= p.first_seq "
                    "WHERE p.last_seq IS NULL GROUP BY p.id"
                ).one()
                period_id, _first, held, handed_over, last_seq = (int(v) for v in row)
                if held != handed_over:
                    raise PeriodNotHandedOver(held - handed_over, held)
                if held != expected_checkouts:
                    raise PeriodNotHandedOver(0, held, changed_from=expected_checkouts)
                conn.exec_driver_sql(
                    "UPDATE periods SET ended_at = ?, last_seq = ?, archived = ? WHERE id = ?",
                    (stamp, last_seq, held, period_id),
                )
                conn.exec_driver_sql(
                    "INSERT INTO periods (started_at, first_seq) VALUES (?, ?)",
                    (stamp, last_seq + 1),
                )
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise StorageError(f"the new period could not be started: {plain_error(exc)}") from exc
        periods = self.periods()
        return periods[-2], periods[-1]

    def purge_archived(self, cutoff: datetime, now: datetime) -> list[tuple[Period, int]]:
        """The retention rule: remove checkouts of *archived* periods that were handed over
        before `cutoff`. The open period is never touched, and the database refuses to delete
        a checkout that was not handed over. Returns (period, checkouts removed) pairs."""
        try:
            return self._purge_archived(cutoff, now)
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            raise StorageError(f"the spool cannot be cleaned up: {plain_error(exc)}") from exc

    def _purge_archived(self, cutoff: datetime, now: datetime) -> list[tuple[Period, int]]:
        removed: list[tuple[Period, int]] = []
        stamp = now.isoformat(timespec="seconds")
        closed = [p for p in self.periods() if not p.is_open and p.checkouts]
        for period in closed:
            with self._engine.begin() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT id, handed_over_at FROM checkouts WHERE seq BETWEEN ? AND ?",
                    (period.first_seq, period.last_seq),
                ).all()
                due = [
                    int(r[0])
                    for r in rows
                    if r[1] is not None and datetime.fromisoformat(r[1]) < cutoff
                ]
                if not due:
                    continue
                wanted = json.dumps(due)
                for table in ("export_checkouts", "uploads"):
                    conn.exec_driver_sql(
                        f"DELETE FROM {table} WHERE checkout_id IN "  # noqa: S608 (constant)
                        "(SELECT value FROM json_each(?))",
                        (wanted,),
                    )
                conn.exec_driver_sql(
                    "DELETE FROM checkouts WHERE id IN (SELECT value FROM json_each(?))",
                    (wanted,),
                )
                conn.exec_driver_sql(
                    "UPDATE periods SET purged_at = ?, purged = purged + ? WHERE id = ?",
                    (stamp, len(due), period.id),
                )
            removed.append((period, len(due)))
        return removed


_PERIODS_QUERY = (
    "SELECT p.id, p.started_at, p.first_seq, p.ended_at, p.last_seq, "
    "(SELECT count(*) FROM checkouts c WHERE c.seq >= p.first_seq "
    " AND (p.last_seq IS NULL OR c.seq <= p.last_seq)), "
    "(SELECT count(handed_over_at) FROM checkouts c WHERE c.seq >= p.first_seq "
    " AND (p.last_seq IS NULL OR c.seq <= p.last_seq)), "
    "p.archived, p.purged_at, p.purged FROM periods p ORDER BY p.id"
)


def _period(row: Any) -> Period:
    return Period(
        id=int(row[0]),
        started_at=datetime.fromisoformat(row[1]),
        first_seq=int(row[2]),
        ended_at=when_or_none(row[3]),
        last_seq=None if row[4] is None else int(row[4]),
        checkouts=int(row[5]),
        handed_over=int(row[6]),
        archived=None if row[7] is None else int(row[7]),
        purged_at=when_or_none(row[8]),
        purged=int(row[9]),
    )


def _export(row: Any) -> ExportRecord:
    return ExportRecord(datetime.fromisoformat(row[0]), row[1], row[2], row[3], int(row[4]))
