"""Hold and status protection (issue 16): the station in-process, with real SQLite snapshot
files and a real spool. An item the item snapshot lists as on hold for another patron, in
transit, not for loan, lost, missing or with a status the kiosk does not know is refused
and never spooled; an item on hold is lent to the patron it is kept for; an item the
snapshot does not list, or no item snapshot at all, lends exactly as before."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.barcodes import BarcodeRule, BarcodeRules, CheckDigit
from kiosk.domain.events import Event, ItemCheckedOut, ItemRefusal, ItemRefused, PatronAccepted
from kiosk.domain.items import ItemStatus
from kiosk.domain.service import SnapshotLimits
from kiosk.domain.station import StationRules
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.station import StationRuntime
from kiosk.storage.items import ItemStore
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.spool import Spool
from tests.conftest import item, patron, standard_csv

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
RULES = BarcodeRules(
    patron=BarcodeRule("2", 14, check_digit=CheckDigit.LUHN),
    item=BarcodeRule("3", 14, check_digit=CheckDigit.LUHN),
)
ANA, CHIDI = patron(1), patron(2)
# The item snapshot: serial -> (status as the library system writes it, hold_for)
ITEMS = {
    1: ("", ""),
    2: ("On holds shelf", ANA),  # Ana's hold
    3: ("on_hold", CHIDI),  # Chidi's hold
    4: ("in transit", ""),
    5: ("Reference", ""),
    6: ("lost", ""),
    7: ("missing", ""),
    8: ("Damaged", ""),  # a word the kiosk does not know
}
WORDS = {"On holds shelf": ItemStatus.ON_HOLD, "Reference": ItemStatus.NOT_FOR_LOAN}


def items_csv() -> str:
    rows = [f"{item(n)},Book {n},BOOK,{status},{held}" for n, (status, held) in ITEMS.items()]
    return "barcode,title,material,status,hold_for\n" + "\n".join(rows) + "\n"


def shown(events: list[Event]) -> list[tuple[str, object]]:
    """Each checkout or item refusal: ("lent", item) or ("refused", reason)."""
    out: list[tuple[str, object]] = []
    for event in events:
        if isinstance(event, ItemCheckedOut):
            out.append(("lent", event.stored.checkout.item))
        elif isinstance(event, ItemRefused):
            out.append(("refused", event.reason))
        elif isinstance(event, PatronAccepted):
            out.append(("patron", event.patron))
    return out


OpenStation = Callable[..., StationRuntime]


@pytest.fixture
def open_station(tmp_path: Path) -> Iterator[OpenStation]:
    opened: list[StationRuntime] = []
    data_dir = tmp_path / "data"

    def make(*, items: str | None = None) -> StationRuntime:
        patrons = tmp_path / "patrons.csv"
        patrons.write_text(standard_csv(), encoding="utf-8")
        SnapshotStore(data_dir).import_csv(
            patrons, patron_rule=RULES.patron, built_at=T0 - timedelta(hours=1), now=T0
        )
        if items is not None:
            source = tmp_path / "items.csv"
            source.write_text(items, encoding="utf-8")
            ItemStore(data_dir).import_csv(
                source,
                item_rule=RULES.item,
                built_at=T0 - timedelta(hours=1),
                now=T0,
                status_values=WORDS,
            )
        runtime = StationRuntime(
            rules=StationRules(kiosk_id="TEST-SC01", timezone=ZoneInfo("America/New_York")),
            barcode_rules=RULES,
            limits=SnapshotLimits(0, 36),
            snapshots=SnapshotStore(data_dir),
            items=ItemStore(data_dir),
            spool=Spool.open(data_dir, create=True),
            spool_problem=None,
            clock=ManualClock(T0),
        )
        opened.append(runtime)
        runtime.start()
        return runtime

    yield make
    for runtime in opened:
        runtime.close()


def lent(runtime: StationRuntime) -> list[tuple[str, str]]:
    assert runtime.spool is not None
    return [(c.checkout.patron, c.checkout.item) for c in runtime.spool.checkouts()]


@pytest.mark.parametrize(
    ("serial", "reason"),
    [
        (3, ItemRefusal.ON_HOLD),
        (4, ItemRefusal.IN_TRANSIT),
        (5, ItemRefusal.NOT_FOR_LOAN),
        (6, ItemRefusal.LOST_OR_MISSING),
        (7, ItemRefusal.LOST_OR_MISSING),
        (8, ItemRefusal.UNKNOWN_STATUS),
    ],
)
def test_an_item_whose_status_keeps_it_here_is_refused_and_never_spooled(
    open_station: OpenStation, serial: int, reason: ItemRefusal
) -> None:
    station = open_station(items=items_csv())
    assert shown(station.scan(ANA)) == [("patron", ANA)]

    assert shown(station.scan(item(serial))) == [("refused", reason)]

    assert lent(station) == []
    assert shown(station.scan(item(1))) == [("lent", item(1))]  # the visit goes on
    assert lent(station) == [(ANA, item(1))]


def test_the_patron_an_item_is_kept_for_borrows_it_and_nobody_else_does(
    open_station: OpenStation,
) -> None:
    station = open_station(items=items_csv())

    station.scan(CHIDI)
    assert shown(station.scan(item(2))) == [("refused", ItemRefusal.ON_HOLD)]  # Ana's
    assert shown(station.scan(item(3))) == [("lent", item(3))]  # his own
    station.done()
    station.scan(ANA)
    assert shown(station.scan(item(2))) == [("lent", item(2))]

    assert lent(station) == [(CHIDI, item(3)), (ANA, item(2))]


def test_an_item_the_snapshot_does_not_list_is_lent_as_before(open_station: OpenStation) -> None:
    station = open_station(items=items_csv())
    station.scan(ANA)
    assert shown(station.scan(item(99))) == [("lent", item(99))]


def test_without_an_item_snapshot_every_item_is_lent_as_before(open_station: OpenStation) -> None:
    station = open_station()
    station.scan(ANA)
    events = [shown(station.scan(item(n))) for n in ITEMS]
    assert events == [[("lent", item(n))] for n in ITEMS]


def test_an_item_snapshot_from_before_statuses_lends_as_before(
    open_station: OpenStation, tmp_path: Path
) -> None:
    """A file built by the previous version (no status columns) still reads: titles, no
    refusals."""
    station = open_station(items=items_csv())
    current = ItemStore(tmp_path / "data").current()
    assert current is not None
    with closing(sqlite3.connect(current.file)) as db:  # the station opens it at its first item
        db.execute("ALTER TABLE items DROP COLUMN hold_for")
        db.execute("ALTER TABLE items DROP COLUMN status")

    station.scan(CHIDI)
    events = station.scan(item(2))

    assert shown(events) == [("lent", item(2))]
    assert isinstance(events[-1], ItemCheckedOut) and events[-1].stored.checkout.title == "Book 2"
