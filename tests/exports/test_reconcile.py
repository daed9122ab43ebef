"""Reconciling the offline period (kiosk/exports/reconcile.py, kiosk/cli/reconcile.py): items
lent to more than one patron, cards the current snapshot refuses, loans the ILS refused as on
loan elsewhere. Pure findings first, then a real spool, a real snapshot and the report files."""

from __future__ import annotations

import csv
import io
import stat
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.cli.reconcile import run_reconcile
from kiosk.config import KioskConfig, load_config
from kiosk.domain.checkout import SpooledCheckout
from kiosk.domain.patrons import PatronRefusal
from kiosk.exports.reconcile import ON_LOAN_ELSEWHERE, lent_twice, reconcile, text_lines
from kiosk.exports.reconcile_report import render_csv, render_html, write_reconciliation
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.staff import StaffDesk
from kiosk.runtime.staff_jobs import facts
from kiosk.storage.spool import Spool, UploadState
from tests.conftest import KioskHome, item, lent, patron

TZ = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


def loan(
    n: int, who: int, what: int, kiosk: str = "MAIN-SC01", minutes: int = 0
) -> SpooledCheckout:
    return SpooledCheckout(
        lent(n, who, what, T0 + timedelta(minutes=minutes or n)),
        kiosk_id=kiosk,
        txn_id=f"00000000-0000-4000-8000-{n:012d}",
        seq=n,
    )


# Pure ----------------------------------------------------------------------------------------


def test_an_item_lent_to_two_patrons_is_found_with_both_loans_oldest_first() -> None:
    later = loan(2, who=2, what=1, kiosk="EAST-SC02", minutes=30)
    earlier = loan(1, who=1, what=1, minutes=5)
    found = lent_twice([later, loan(3, who=1, what=2), earlier])
    assert [(f.item, f.loans) for f in found] == [(item(1), (earlier, later))]


def test_the_same_patron_twice_is_not_a_conflict() -> None:
    assert lent_twice([loan(1, who=1, what=1), loan(2, who=1, what=1)]) == ()


def test_each_card_is_checked_once_and_refusals_are_named() -> None:
    asked: list[str] = []

    def check(barcode: str) -> PatronRefusal | None:
        asked.append(barcode)
        return {patron(2): PatronRefusal.BLOCKED, patron(3): PatronRefusal.UNKNOWN_PATRON}.get(
            barcode
        )

    checkouts = [loan(1, 1, 1), loan(2, 2, 2), loan(3, 2, 3), loan(4, 3, 4)]
    result = reconcile(checkouts, made_at=T0, sources=("x",), card_check=check, snapshot="s")
    assert sorted(asked) == sorted({patron(1), patron(2), patron(3)})
    assert [(r.checkout.seq, r.reason) for r in result.cards_refused] == [
        (2, "blocked"),
        (3, "blocked"),
        (4, "not in the patron snapshot"),
    ]
    assert not result.ils_answers
    assert "refused by the ILS" not in result.summary()  # exports carry no ILS answers


@pytest.mark.parametrize(
    ("message", "elsewhere"),
    [
        ("Item already checked out", True),
        ("Item checked out to another patron", True),
        ("This item is already on loan", True),
        ("OPEN_CIRCULATION_EXISTS", True),
        ("Patron not found", False),
        ("Item not found", False),
        ("Patron blocked", False),
    ],
)
def test_on_loan_elsewhere_is_read_from_the_ils_words(message: str, elsewhere: bool) -> None:
    assert bool(ON_LOAN_ELSEWHERE.search(message)) is elsewhere


def test_only_refused_checkouts_count_as_on_loan_elsewhere() -> None:
    states = [
        UploadState(loan(1, 1, 1), "rejected", 1, "Item already checked out", "", T0),
        UploadState(loan(2, 1, 2), "accepted", 1, "Item checked out", "", T0),
        UploadState(loan(3, 1, 3), "rejected", 1, "Patron not found", "", T0),
    ]
    result = reconcile(
        [s.checkout for s in states],
        made_at=T0,
        sources=("x",),
        card_check=None,
        snapshot="none",
        upload_states=states,
    )
    assert [o.checkout.seq for o in result.on_loan_elsewhere] == [1]
    assert result.summary() == (
        "3 checkouts from 1 kiosk: 0 items lent twice, 0 checkouts to cards the snapshot now "
        "refuses, 1 refused by the ILS as on loan to someone else"
    )


def test_the_files_and_the_terminal_name_both_loans_of_an_item_lent_twice() -> None:
    a, b = loan(1, 1, 1), loan(2, 4, 1, kiosk="EAST-SC02")
    result = reconcile(
        [a, b], made_at=T0, sources=("a.csv", "b.csv"), card_check=None, snapshot="none"
    )
    rows = list(csv.reader(io.StringIO(render_csv(result))))
    assert rows[0][:3] == ["finding", "item", "patron"]
    assert [(r[0], r[2], r[4]) for r in rows[1:]] == [
        ("lent to more than one patron", patron(1), "MAIN-SC01"),
        ("lent to more than one patron", patron(4), "EAST-SC02"),
    ]
    page = render_html(result)
    assert "Items lent to more than one patron (1)" in page and patron(4) in page
    lines = text_lines(result)
    assert lines[0] == "Items lent to more than one patron (1):"
    assert "MAIN-SC01 #1" in lines[1] and "EAST-SC02 #2" in lines[1]
    assert patron(4) not in lines[1]  # masked on a terminal


# A real spool and snapshot -----------------------------------------------------------------


def record(config: KioskConfig, *loans: tuple[int, int]) -> list[str]:
    spool = Spool.open(config.data_dir, create=True)
    try:
        return [
            spool.record_checkout(
                lent(n, who, what, T0 + timedelta(minutes=n)),
                config.kiosk.id,
                TZ,
            ).txn_id
            for n, (who, what) in enumerate(loans, start=1)
        ]
    finally:
        spool.close()


def test_the_spool_alone_finds_every_kind_and_writes_private_reports(home: KioskHome) -> None:
    home.import_standard_snapshot(built_at="2026-11-23T06:00:00-05:00")
    config = load_config(home.config_path)
    # Ana and Chidi both borrow item 1; Ewa (blocked in this snapshot) and a card the
    # snapshot does not know borrow one each; item 5 the ILS has on loan to someone else.
    txn = record(config, (1, 1), (2, 1), (4, 2), (99, 3), (1, 5))
    spool = Spool.open(config.data_dir)
    try:
        assert spool.mark_sent(txn[4], T0)
        spool.mark_answered(
            txn[4], accepted=False, message="Item already checked out", ils_due="", when=T0
        )
    finally:
        spool.close()

    result = run_reconcile(config, ())
    assert [f.item for f in result.lent_twice] == [item(1)]
    assert [(r.checkout.checkout.patron, r.reason) for r in result.cards_refused] == [
        (patron(4), "blocked"),
        (patron(99), "not in the patron snapshot"),
    ]
    assert [o.checkout.checkout.item for o in result.on_loan_elsewhere] == [item(5)]
    assert result.snapshot == "the patron snapshot built 2026-11-23 06:00"

    csv_path, html_path = write_reconciliation(result, config.data_dir / "reports")
    for path in (csv_path, html_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(csv_path.read_text(encoding="utf-8").splitlines()) == 1 + 2 + 2 + 1

    # The staff screen says so in its status panel.
    desk = StaffDesk(config, actor="staff:test", now=ManualClock(datetime.now(UTC)).now)
    lines = {line.label: line for line in facts(desk.status()).lines}
    assert lines["Conflicts"].warn
    assert lines["Conflicts"].value == (
        "1 item lent to more than one patron, 2 checkouts to cards the snapshot now refuses, "
        "1 loan the ILS has on loan to someone else this period: see kiosk spool reconcile"
    )


def test_without_a_snapshot_the_cards_are_not_checked(home: KioskHome) -> None:
    config = load_config(home.config_path)
    record(config, (1, 1), (2, 1))
    result = run_reconcile(config, ())
    assert result.cards_refused == ()
    assert result.snapshot.startswith("nothing: no patron snapshot")
    assert len(result.lent_twice) == 1
    desk = StaffDesk(config, actor="staff:test", now=ManualClock(datetime.now(UTC)).now)
    assert "Conflicts" in {line.label for line in facts(desk.status()).lines}


def test_kiosk_status_says_what_the_reconciliation_found(home: KioskHome) -> None:
    config = load_config(home.config_path)
    record(config, (1, 1), (2, 1))
    shown = home.kiosk("status")
    assert shown.returncode == 0, shown.stderr
    assert "Conflicts: 1 item lent to more than one patron" in shown.stdout


def test_no_conflicts_no_staff_line(home: KioskHome) -> None:
    config = load_config(home.config_path)
    record(config, (1, 1), (1, 2))
    assert run_reconcile(config, ()).findings == 0
    desk = StaffDesk(config, actor="staff:test", now=ManualClock(datetime.now(UTC)).now)
    assert "Conflicts" not in {line.label for line in facts(desk.status()).lines}
