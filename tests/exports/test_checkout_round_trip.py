"""One checkout, from the station's decision through the spool to an export and back, keeps
every field it is declared with (kiosk.domain.checkout): nothing is lost, renamed or changed
on the way, whichever shape it is in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.domain.events import ItemCheckedOut
from kiosk.domain.items import ItemRecord
from kiosk.domain.station import (
    CheckoutStored,
    ItemScan,
    Mode,
    Session,
    StationRules,
    StationState,
    step,
)
from kiosk.exports.formats import COLUMNS, render_csv, render_jsonl
from kiosk.exports.merge import parse_export
from kiosk.storage.spool import Spool
from kiosk.storage.spool_records import CHECKOUT_COLUMNS
from tests.conftest import item, patron

TZ = ZoneInfo("America/New_York")
RULES = StationRules(kiosk_id="TEST-SC01", timezone=TZ)
# A moment the spool keeps exactly: it stores milliseconds.
NOW = datetime(2026, 3, 10, 15, 0, 0, 250_000, tzinfo=UTC)
DVD = ItemRecord(item(1), "Spirited Away", "dvd")

Renderer = Callable[[Iterable[SpooledCheckout]], Iterator[str]]


def decided() -> tuple[StationState, Checkout]:
    """The station, in a session, decides to lend an item the item snapshot lists."""
    session = Session("S1", patron(1), "Ana", timedelta(0))
    state = StationState(mode=Mode.SESSION, session=session)
    asked = step(state, ItemScan(item(1), 0, DVD), NOW, RULES, timedelta(seconds=1))
    assert asked.store is not None
    return asked.state, asked.store


@pytest.mark.parametrize(("name", "render"), [("a.jsonl", render_jsonl), ("a.csv", render_csv)])
def test_a_checkout_keeps_its_fields_from_the_decision_to_the_export(
    tmp_path: Path, name: str, render: Renderer
) -> None:
    state, lent = decided()
    assert lent == Checkout(
        "S1", patron(1), item(1), date(2026, 3, 31), False, NOW, "Spirited Away", "dvd"
    )

    spool = Spool.open(tmp_path, create=True)
    try:
        stored = spool.record_checkout(lent, RULES.kiosk_id, TZ)
        shown = step(state, CheckoutStored(stored), NOW, RULES, timedelta(seconds=2)).events
        (read,) = spool.checkouts()
    finally:
        spool.close()

    assert stored == SpooledCheckout(lent, "TEST-SC01", stored.txn_id, 1)
    assert shown == (ItemCheckedOut(stored),)
    # Read back: the same checkout, but for what only the item snapshot knew (never stored),
    # its moment in the library's zone (the same instant).
    assert read == replace(stored, checkout=replace(lent, title=None, material=None))
    assert read.checkout.occurred_at.utcoffset() == timedelta(hours=-4)  # daylight time

    exported = "".join(render([read])).encode()
    (row,) = parse_export(name, exported)
    assert row.checkout == read
    assert "".join(render([row.checkout])).encode() == exported


def test_the_exports_columns_are_the_spool_s_but_the_hand_over() -> None:
    assert sorted(COLUMNS) == sorted(set(CHECKOUT_COLUMNS) - {"handed_over_at"})
