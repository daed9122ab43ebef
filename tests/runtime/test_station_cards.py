"""A card is never lent as an item: the station in-process, with real SQLite snapshot files
and a real spool, mostly with barcode rules that both fit any 14 digits with a Luhn check
digit and barcodes.overlap = "lists" (issue 15: a patron's card and the staff card were lent
as items, and in deny mode a book scanned first became "the patron")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.demo import barcode
from kiosk.domain.barcodes import BarcodeRule, BarcodeRules, CheckDigit
from kiosk.domain.events import (
    Event,
    ItemCheckedOut,
    ItemRefusal,
    ItemRefused,
    PatronAccepted,
    PatronRefused,
    ScanRejected,
    ScanRejection,
    StaffCardScanned,
)
from kiosk.domain.ils_files import PatronFileFormat, PatronFileKind
from kiosk.domain.patrons import PatronRefusal, SnapshotMode
from kiosk.domain.service import SnapshotLimits
from kiosk.domain.station import StationRules
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.station import StationRuntime
from kiosk.storage.items import ItemStore
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.spool import Spool
from tests.conftest import item, patron, standard_csv

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
ANY_14_DIGITS = BarcodeRule(pattern="[0-9]{14}", check_digit=CheckDigit.LUHN)
OVERLAPPING = BarcodeRules(patron=ANY_14_DIGITS, item=ANY_14_DIGITS)
DISTINCT = BarcodeRules(  # the contract config's rules: cards start with 2, items with 3
    patron=BarcodeRule("2", 14, check_digit=CheckDigit.LUHN),
    item=BarcodeRule("3", 14, check_digit=CheckDigit.LUHN),
)
STAFF_CARD = barcode("3", 99_999)  # a staff card with an item's shape
UNLISTED_CARD = patron(20)  # in no snapshot: a deny list lets it borrow
BLOCKED_CARD = patron(4)  # blocked in the standard snapshot, and on the deny list below

Outcome = tuple[type[Event], object]


def outcome(events: list[Event]) -> list[Outcome]:
    """Each event and its reason (the refusals), or the card or item it names."""
    shown: list[Outcome] = []
    for event in events:
        if isinstance(event, ScanRejected | ItemRefused | PatronRefused):
            shown.append((type(event), event.reason))
        elif isinstance(event, PatronAccepted):
            shown.append((PatronAccepted, event.patron))
        elif isinstance(event, ItemCheckedOut):
            shown.append(
                (ItemCheckedOut, (event.stored.checkout.patron, event.stored.checkout.item))
            )
        else:
            shown.append((type(event), None))
    return shown


class Kiosk:
    def __init__(self, runtime: StationRuntime) -> None:
        self.runtime = runtime

    def scan(self, code: str) -> list[Outcome]:
        return outcome(self.runtime.scan(code))

    def lent(self) -> list[tuple[str, str]]:
        """(patron, item) of every checkout in the spool."""
        assert self.runtime.spool is not None
        return [(c.checkout.patron, c.checkout.item) for c in self.runtime.spool.checkouts()]


OpenKiosk = Callable[..., Kiosk]


@pytest.fixture
def open_kiosk(tmp_path: Path) -> Iterator[OpenKiosk]:
    """A station on real snapshot files: the standard patrons (or, deny=True, a deny list
    of the one blocked card), and an item snapshot of `items` when there are any."""
    opened: list[StationRuntime] = []
    data_dir = tmp_path / "data"

    def make(
        rules: BarcodeRules = OVERLAPPING, *, deny: bool = False, items: tuple[str, ...] = ()
    ) -> Kiosk:
        patrons = tmp_path / "patrons.csv"
        if deny:  # the rows are the cards that may not borrow
            patrons.write_text(f"barcode,status\n{BLOCKED_CARD},blocked\n", encoding="utf-8")
            file_format = PatronFileFormat(PatronFileKind.CSV, SnapshotMode.DENY)
        else:
            patrons.write_text(standard_csv(), encoding="utf-8")
            file_format = PatronFileFormat()
        SnapshotStore(data_dir).import_file(
            patrons,
            patron_rule=rules.patron,
            file_format=file_format,
            built_at=T0 - timedelta(hours=1),
            now=T0,
        )
        if items:
            books = tmp_path / "items.csv"
            rows = "".join(f"{code},Book {n}\n" for n, code in enumerate(items, 1))
            books.write_text("barcode,title\n" + rows, encoding="utf-8")
            ItemStore(data_dir).import_csv(
                books, item_rule=rules.item, built_at=T0 - timedelta(hours=1), now=T0
            )
        runtime = StationRuntime(
            rules=StationRules(kiosk_id="TEST-SC01", timezone=ZoneInfo("America/New_York")),
            barcode_rules=rules,
            limits=SnapshotLimits(0, 36),
            snapshots=SnapshotStore(data_dir),
            items=ItemStore(data_dir),
            spool=Spool.open(data_dir, create=True),
            spool_problem=None,
            clock=ManualClock(T0),
            is_staff_card=lambda scan: scan == STAFF_CARD,
        )
        opened.append(runtime)
        runtime.start()
        return Kiosk(runtime)

    yield make
    for runtime in opened:
        runtime.close()


REFUSED_AS_A_CARD = [(ScanRejected, ScanRejection.LIBRARY_CARD)]


# During a session, whatever the rules ----------------------------------------------------------


def test_a_known_patrons_card_in_a_session_is_refused_not_lent(open_kiosk: OpenKiosk) -> None:
    kiosk = open_kiosk()
    assert kiosk.scan(patron(1)) == [(PatronAccepted, patron(1))]

    assert kiosk.scan(patron(2)) == REFUSED_AS_A_CARD
    assert kiosk.scan(BLOCKED_CARD) == REFUSED_AS_A_CARD  # a card in the snapshot, blocked
    assert kiosk.scan(item(1)) == [(ItemCheckedOut, (patron(1), item(1)))]  # the session goes on

    assert kiosk.lent() == [(patron(1), item(1))]
    assert kiosk.runtime.state.session is not None
    assert kiosk.runtime.state.session.patron == patron(1)


@pytest.mark.parametrize("rules", [OVERLAPPING, DISTINCT], ids=["overlapping", "distinct"])
def test_the_staff_card_in_a_session_is_refused_not_lent(
    open_kiosk: OpenKiosk, rules: BarcodeRules
) -> None:
    kiosk = open_kiosk(rules)
    assert kiosk.scan(STAFF_CARD) == [(StaffCardScanned, None)]  # at Welcome: the PIN pad
    kiosk.scan(patron(1))

    assert kiosk.scan(STAFF_CARD) == REFUSED_AS_A_CARD

    assert kiosk.lent() == []


def test_a_card_in_a_deny_list_in_a_session_is_refused_not_lent(open_kiosk: OpenKiosk) -> None:
    kiosk = open_kiosk(deny=True, items=(item(1),))
    kiosk.scan(UNLISTED_CARD)

    assert kiosk.scan(BLOCKED_CARD) == REFUSED_AS_A_CARD

    assert kiosk.lent() == []


# A deny list: only the item snapshot tells a book from a card ------------------------------------


def test_in_deny_mode_a_book_scanned_first_is_not_a_patron(open_kiosk: OpenKiosk) -> None:
    kiosk = open_kiosk(deny=True, items=(item(1), item(2)))
    no_patron = [(ItemRefused, ItemRefusal.NO_PATRON)]

    assert kiosk.scan(item(1)) == no_patron
    assert kiosk.scan(item(2)) == no_patron
    assert kiosk.lent() == []

    assert kiosk.scan(BLOCKED_CARD) == [(PatronRefused, PatronRefusal.BLOCKED)]
    assert kiosk.scan(UNLISTED_CARD) == [(PatronAccepted, UNLISTED_CARD)]
    assert kiosk.scan(item(1)) == [(ItemCheckedOut, (UNLISTED_CARD, item(1)))]
    assert kiosk.lent() == [(UNLISTED_CARD, item(1))]


def test_in_deny_mode_without_an_item_snapshot_it_refuses_rather_than_guesses(
    open_kiosk: OpenKiosk,
) -> None:
    kiosk = open_kiosk(deny=True)
    cannot_tell = [(ScanRejected, ScanRejection.CARD_OR_ITEM)]

    assert kiosk.scan(item(1)) == cannot_tell
    assert kiosk.scan(UNLISTED_CARD) == cannot_tell  # a good card, but nothing says so
    assert kiosk.scan(BLOCKED_CARD) == [(PatronRefused, PatronRefusal.BLOCKED)]  # listed
    assert kiosk.lent() == []


# An allow list ----------------------------------------------------------------------------------


def test_with_an_item_snapshot_an_unknown_code_is_never_lent(open_kiosk: OpenKiosk) -> None:
    kiosk = open_kiosk(items=(item(1),))
    unknown = item(2)  # in neither snapshot

    assert kiosk.scan(unknown) == [(PatronRefused, PatronRefusal.UNKNOWN_PATRON)]
    assert kiosk.scan(item(1)) == [(ItemRefused, ItemRefusal.NO_PATRON)]
    kiosk.scan(patron(1))
    assert kiosk.scan(unknown) == [(ScanRejected, ScanRejection.UNRECOGNISED)]
    assert kiosk.scan(item(1)) == [(ItemCheckedOut, (patron(1), item(1)))]

    assert kiosk.lent() == [(patron(1), item(1))]


def test_without_an_item_snapshot_the_order_of_the_visit_decides(open_kiosk: OpenKiosk) -> None:
    kiosk = open_kiosk()

    assert kiosk.scan(item(1)) == [(PatronRefused, PatronRefusal.UNKNOWN_PATRON)]
    kiosk.scan(patron(1))
    assert kiosk.scan(item(1)) == [(ItemCheckedOut, (patron(1), item(1)))]

    assert kiosk.lent() == [(patron(1), item(1))]
