"""The spool's checkout columns are derived from the one declaration of a checkout
(kiosk.domain.checkout): these tests fail if the value and the table drift apart."""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.storage.spool import Spool
from kiosk.storage.spool_records import (
    CHECKOUT_COLUMNS,
    NOT_STORED,
    checkout_from_row,
    checkout_values,
)
from tests.conftest import item, patron

EST = timezone(timedelta(hours=-5))


def test_the_columns_are_the_checkouts_table_s(tmp_path: Path) -> None:
    Spool.open(tmp_path, create=True).close()
    with sqlite3.connect(tmp_path / "spool.db") as db:
        table = [row[1] for row in db.execute("PRAGMA table_info(checkouts)")]
    db.close()
    assert sorted(CHECKOUT_COLUMNS) == sorted(set(table) - {"id"})


def test_every_field_is_a_column_but_the_checkout_itself_and_what_is_never_stored() -> None:
    lent = [f.name for f in fields(Checkout) if f.name not in NOT_STORED]
    spooled = [f.name for f in fields(SpooledCheckout) if f.name != "checkout"]
    assert sorted(CHECKOUT_COLUMNS) == sorted(lent + spooled)
    assert set(NOT_STORED) <= {f.name for f in fields(Checkout)}


def test_a_row_reads_back_as_the_checkout_it_was_written_from() -> None:
    at = datetime(2026, 11, 20, 10, 0, 0, 250_000, tzinfo=EST)
    lent = Checkout("S1", patron(1), item(1), date(2026, 12, 11), True, at)
    handed_over = SpooledCheckout(lent, "TEST-SC01", "T1", 3, at + timedelta(days=1))
    waiting = SpooledCheckout(lent, "TEST-SC01", "T2", 4)

    for c in (handed_over, waiting):
        row = checkout_values(c)
        assert len(row) == len(CHECKOUT_COLUMNS)
        assert checkout_from_row(row) == c
        assert checkout_from_row((*row, "more", "columns")) == c  # a join's row


def test_a_row_is_written_as_the_spool_always_wrote_it() -> None:
    at = datetime(2026, 11, 20, 10, 0, 0, 250_000, tzinfo=EST)
    lent = Checkout("S1", patron(1), item(1), date(2026, 12, 11), True, at, "A title", "dvd")
    values = checkout_values(SpooledCheckout(lent, "K1", "T1", 3))
    row = dict(zip(CHECKOUT_COLUMNS, values, strict=True))
    assert row == {
        "txn_id": "T1",
        "kiosk_id": "K1",
        "seq": 3,
        "occurred_at": "2026-11-20T10:00:00.250-05:00",
        "patron": patron(1),
        "item": item(1),
        "due_date": "2026-12-11",
        "special_due": True,
        "session_id": "S1",
        "handed_over_at": None,
    }
