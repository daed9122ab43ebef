"""Uploading to the library system, as the spool keeps it: each checkout's upload state,
staff's answers for those sent with no answer, and the record of each upload run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from kiosk.storage.db import database_errors
from kiosk.storage.spool_records import (
    CHECKOUT_COLUMNS,
    CONFIRMED,
    RESEND,
    UploadRun,
    UploadState,
    checkout_from_row,
    when_or_none,
)


@database_errors("the spool cannot be used")
class SpoolUploads:
    """Part of `Spool` (kiosk.storage.spool), sharing its engine."""

    _engine: Engine

    def upload_states(
        self, *, to_send: bool = False, retry_rejected: bool = False
    ) -> list[UploadState]:
        """Every checkout with its upload state, oldest first. to_send: only those an upload
        must still deal with (not handed over; never sent, or sent and not answered, or
        rejected when retry_rejected)."""
        query = _UPLOAD_QUERY
        if to_send:
            query += _to_send_where(retry_rejected)
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(query + "ORDER BY c.seq").all()
        return [_upload_state(r) for r in rows]

    def find_upload(self, reference: str) -> UploadState | None:
        """One checkout's upload state by its txn id, or by the reference on the receipt and
        in the report (its sequence number: "#12" or "12")."""
        ref = reference.strip()
        seq = ref.removeprefix("#")
        by_seq = seq.isdigit()
        where = "WHERE c.seq = ? " if by_seq else "WHERE c.txn_id = ? "
        value: int | str = int(seq) if by_seq else ref
        with self._engine.connect() as conn:
            row = conn.exec_driver_sql(_UPLOAD_QUERY + where, (value,)).first()
        return None if row is None else _upload_state(row)

    def record_staff_answer(self, txn_id: str, answer: str, *, by: str, when: datetime) -> bool:
        """Staff's answer for a checkout sent with no answer (CONFIRMED or RESEND), in one
        transaction with the check that it still is one. CONFIRMED hands it over as accepted
        in the same commit. False: it is not (any longer) sent with no answer; nothing
        changed."""
        if answer not in (CONFIRMED, RESEND):
            raise ValueError(f"not a staff answer: {answer!r}")
        stamp = when.isoformat(timespec="seconds")
        with self._engine.begin() as conn:  # BEGIN IMMEDIATE: the check and the change are one
            current = conn.exec_driver_sql(
                "SELECT u.state, c.handed_over_at, u.staff_answer FROM checkouts c "
                "JOIN uploads u ON u.checkout_id = c.id WHERE c.txn_id = ?",
                (txn_id,),
            ).first()
            if current is None or current[0] != "sent" or current[1] is not None:
                return False
            if answer == RESEND and current[2] == RESEND:
                return False
            accepted = answer == CONFIRMED
            conn.exec_driver_sql(
                "UPDATE uploads SET staff_answer = ?, staff_by = ?, staff_at = ?, "
                "state = ?, answered_at = ? "
                "WHERE checkout_id = (SELECT id FROM checkouts WHERE txn_id = ?)",
                (
                    answer,
                    by,
                    stamp,
                    "accepted" if accepted else "sent",
                    stamp if accepted else None,
                    txn_id,
                ),
            )
            if accepted:
                conn.exec_driver_sql(
                    "UPDATE checkouts SET handed_over_at = ? WHERE txn_id = ?", (stamp, txn_id)
                )
        return True

    def to_send_count(self) -> int:
        """How many checkouts an upload must still deal with (upload_states(to_send=True),
        counted by the database instead of read)."""
        with self._engine.connect() as conn:
            return int(conn.exec_driver_sql(_TO_SEND_COUNT).scalar_one())

    def mark_sent(self, txn_id: str, when: datetime, *, expected: str | None = None) -> bool:
        """Before a checkout goes to the ILS: durable, so a crash mid-send is resolved by the
        next run instead of being sent blind a second time. Only if its state is still
        `expected` (what the caller read; None: never sent): False means someone else dealt
        with it meanwhile, and it must not be sent."""
        stamp = when.isoformat(timespec="seconds")
        with self._engine.begin() as conn:  # BEGIN IMMEDIATE: the check and the claim are one
            current = conn.exec_driver_sql(
                "SELECT u.state, c.handed_over_at FROM checkouts c LEFT JOIN uploads u "
                "ON u.checkout_id = c.id WHERE c.txn_id = ?",
                (txn_id,),
            ).first()
            if current is None or current[0] != expected or current[1] is not None:
                return False
            conn.exec_driver_sql(
                "INSERT INTO uploads (checkout_id, state, attempts, sent_at) "
                "SELECT id, 'sent', 1, ? FROM checkouts WHERE txn_id = ? "
                "ON CONFLICT (checkout_id) DO UPDATE SET state = 'sent', "
                "attempts = attempts + 1, sent_at = excluded.sent_at, "
                # the one send staff asked for is this one
                "staff_answer = CASE staff_answer WHEN 'resend' THEN 'resent' "
                "ELSE staff_answer END",
                (stamp, txn_id),
            )
        return True

    def mark_answered(
        self, txn_id: str, *, accepted: bool, message: str, ils_due: str, when: datetime
    ) -> None:
        """The ILS's answer. Accepted: the checkout is handed over (in the same commit)."""
        stamp = when.isoformat(timespec="seconds")
        with self._engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE uploads SET state = ?, message = ?, ils_due = ?, answered_at = ? "
                "WHERE checkout_id = (SELECT id FROM checkouts WHERE txn_id = ?)",
                ("accepted" if accepted else "rejected", message, ils_due, stamp, txn_id),
            )
            if accepted:
                conn.exec_driver_sql(
                    "UPDATE checkouts SET handed_over_at = ? WHERE txn_id = ? "
                    "AND handed_over_at IS NULL",
                    (stamp, txn_id),
                )

    def record_upload_run(self, run: UploadRun) -> None:
        with self._engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO upload_runs (started_at, finished_at, target, accepted, rejected, "
                "still_pending, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run.started_at.isoformat(timespec="seconds"),
                    run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
                    run.target,
                    run.accepted,
                    run.rejected,
                    run.still_pending,
                    run.error,
                ),
            )

    def last_upload_run(self) -> UploadRun | None:
        with self._engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT started_at, finished_at, target, accepted, rejected, still_pending, "
                "error FROM upload_runs ORDER BY id DESC LIMIT 1"
            ).first()
        if row is None:
            return None
        return UploadRun(
            datetime.fromisoformat(row[0]),
            when_or_none(row[1]),
            row[2],
            int(row[3]),
            int(row[4]),
            int(row[5]),
            row[6],
        )


_UPLOAD_QUERY = (
    f"SELECT {', '.join('c.' + name for name in CHECKOUT_COLUMNS)}, "  # noqa: S608
    "u.state, u.attempts, u.message, u.ils_due, u.answered_at, "
    "u.staff_answer, u.staff_by, u.staff_at "
    "FROM checkouts c LEFT JOIN uploads u ON u.checkout_id = c.id "
)


def _upload_state(r: Any) -> UploadState:
    upload = r[len(CHECKOUT_COLUMNS) :]  # the upload's columns follow the checkout's
    state, attempts, message, ils_due, answered_at, staff_answer, staff_by, staff_at = upload
    return UploadState(
        checkout_from_row(r),
        state,
        int(attempts or 0),
        message or "",
        ils_due or "",
        when_or_none(answered_at),
        staff_answer,
        staff_by or "",
        when_or_none(staff_at),
    )


def _to_send_where(retry_rejected: bool) -> str:
    states = "('sent', 'rejected')" if retry_rejected else "('sent')"
    return f"WHERE c.handed_over_at IS NULL AND (u.state IS NULL OR u.state IN {states}) "


_TO_SEND_COUNT = (
    "SELECT count(*) FROM checkouts c LEFT JOIN uploads u ON u.checkout_id = c.id "  # noqa: S608
    + _to_send_where(False)
)
