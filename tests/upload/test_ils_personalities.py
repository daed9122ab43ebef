"""The same spool replayed by SIP2 to four library systems (the test ILS's personalities,
from FORMATS.md section 4), with the server in the kiosk's zone, in UTC, or one zone west:
what the kiosk reports afterwards (the upload report, the reconciliation) must match what
kiosk/domain/ils_profiles.py says each system keeps.

The checkouts were made on 2026-11-01 in New York, the day its summer time ended (at 02:00
EDT the clocks went back to 01:00 EST), and are uploaded the day after at 14:00 EST.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.checkout import Checkout
from kiosk.domain.ils_profiles import Known, profile
from kiosk.exports.reconcile import reconcile
from kiosk.storage.spool import Spool, UploadState
from kiosk.upload.replay import upload
from kiosk.upload.report import build_report, text_lines
from tests.conftest import item, patron
from tests.upload.ils import DEBARRED, Library, ils
from tests.upload.replaying import ACCOUNT, KIOSK_ID, TZ, Sleeps, at

ANA, BAO, CARL, DANA = patron(11), patron(12), patron(13), patron(14)
FINES = "Excessive outstanding fines"
RECEIPT = date(2026, 11, 22)  # 21 days after the checkouts
ILS_DUE = date(2026, 11, 23)  # 21 days after the upload: the ILS's own due date
UPLOAD = datetime(2026, 11, 2, 14, 0, tzinfo=TZ)  # 19:00 UTC
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Lent:
    at: datetime
    patron: str
    item: str
    due: date
    sent_as: str  # the transaction date the ILS must receive: the wall time then


LENT = [
    Lent(datetime(2026, 11, 1, 0, 30, tzinfo=TZ), ANA, item(1), RECEIPT, "20261101    003000"),
    # The repeated hour: 01:30 EDT, then 01:30 EST an hour later.
    Lent(datetime(2026, 11, 1, 1, 30, tzinfo=TZ), ANA, item(2), RECEIPT, "20261101    013000"),
    Lent(
        datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=TZ), BAO, item(3), RECEIPT, "20261101    013000"
    ),
    Lent(datetime(2026, 11, 1, 9, 15, tzinfo=TZ), CARL, item(4), RECEIPT, "20261101    091500"),
    Lent(datetime(2026, 11, 1, 11, 40, tzinfo=TZ), DANA, item(5), RECEIPT, "20261101    114000"),
    Lent(datetime(2026, 11, 1, 15, 5, tzinfo=TZ), ANA, item(6), RECEIPT, "20261101    150500"),
    # A special due date, which happens to be the one the ILS gives from the upload.
    Lent(datetime(2026, 11, 1, 20, 45, tzinfo=TZ), BAO, item(7), ILS_DUE, "20261101    204500"),
]
BLOCKED, DEBARRED_SINCE, ON_LOAN_TO_BAO = item(4), item(5), item(6)

# What each system refuses (item -> its words); everything else it accepts.
REFUSED = {
    "generic": {ON_LOAN_TO_BAO: "Item already checked out"},
    "koha": {DEBARRED_SINCE: DEBARRED, ON_LOAN_TO_BAO: "Item checked out to another patron"},
    "evergreen": {
        BLOCKED: FINES,
        DEBARRED_SINCE: DEBARRED,
        ON_LOAN_TO_BAO: "Item already checked out",
    },
    "folio": {BLOCKED: FINES, DEBARRED_SINCE: DEBARRED, ON_LOAN_TO_BAO: "Item already checked out"},
}
SERVER_ZONES = ["America/New_York", "UTC", "America/Chicago"]
KINDS = list(REFUSED)


def record(spool: Spool) -> None:
    for n, lent in enumerate(LENT, start=1):
        spool.record_checkout(
            Checkout(
                session_id=f"session-{n}",
                patron=lent.patron,
                item=lent.item,
                due_date=lent.due,
                special_due=lent.due != RECEIPT,
                occurred_at=lent.at.astimezone(UTC),
            ),
            KIOSK_ID,
            TZ,
        )


@dataclass
class Replayed:
    library: Library
    states: dict[str, UploadState]


def replay(spool: Spool, kind: str, server_zone: str) -> Replayed:
    record(spool)
    lib = Library(
        patrons={ANA, BAO, CARL, DANA},
        items={lent.item for lent in LENT},
        personality=kind,
        zone=ZoneInfo(server_zone),
        clock=lambda: UPLOAD,
        loans={ON_LOAN_TO_BAO: BAO},  # lent at the desk before the ILS went down
        blocked={CARL: FINES},
        debarred={DANA},
    )
    with ils(lib) as port:
        run, _ = upload(spool, at(port), ACCOUNT, now=lambda: UPLOAD, zone=TZ, sleep=Sleeps())
    assert run.error == ""
    assert (run.accepted, run.rejected) == (len(LENT) - len(REFUSED[kind]), len(REFUSED[kind]))
    return Replayed(lib, {s.checkout.checkout.item: s for s in spool.upload_states()})


@pytest.mark.parametrize("server_zone", SERVER_ZONES)
@pytest.mark.parametrize("kind", KINDS)
def test_the_report_says_what_the_profile_says_the_ils_keeps(
    spool: Spool, kind: str, server_zone: str
) -> None:
    p = profile(kind)
    replayed = replay(spool, kind, server_zone)
    lib, states = replayed.library, replayed.states
    report = build_report(spool.upload_states(), kiosk_id=KIOSK_ID, run=None, made_at=UPLOAD)

    # Every checkout was sent once, oldest first, each with the wall time of its own moment
    # in the kiosk's zone (EDT before the change, EST after), whatever the server's zone.
    assert [r.item_identifier for r in lib.checkouts_seen] == [lent.item for lent in LENT]
    assert [r.transaction_date for r in lib.checkouts_seen] == [lent.sent_as for lent in LENT]
    for req, lent in zip(lib.checkouts_seen, LENT, strict=True):
        wall = datetime.strptime(
            req.transaction_date[:8] + req.transaction_date[12:], "%Y%m%d%H%M%S"
        )
        # Read with the offset in force at the checkout (not the upload's), it is that moment.
        own = timezone(lent.at.utcoffset() or timedelta())
        assert wall.replace(tzinfo=own).astimezone(UTC) == lent.at.astimezone(UTC)
        assert req.no_block == "Y"
        assert req.nb_due_date == lent.due.strftime("%Y%m%d") + "    235959"

    # Refused with the ILS's own words, listed for staff to follow up.
    refused = {item: s.message for item, s in states.items() if s.state == "rejected"}
    assert refused == REFUSED[kind]
    assert {line.state.checkout.checkout.item for line in report.follow_up} == set(refused)
    lines = text_lines(report)
    for barcode, words in refused.items():
        assert any(barcode in line and words in line for line in lines), (barcode, lines)

    # Blocks: a system known to honour no-block lends to the patron blocked for fines, one
    # known to ignore it refuses him.
    if p.no_block is Known.YES:
        assert states[BLOCKED].state == "accepted"
    if p.no_block is Known.NO:
        assert states[BLOCKED].state == "rejected"

    # The checkout time: a system known to drop it dates every loan at the upload.
    if p.keeps_checkout_time is Known.NO:
        assert [loan.lent_at for loan in lib.loans_made] == [UPLOAD] * len(lib.loans_made)
        assert p.replay_warning() is not None  # the kiosk said so before sending

    # Due dates: every accepted loan whose ILS due date (a date in the ILS's zone) is not
    # the receipt's is listed, and no other.
    zone = ZoneInfo(server_zone)
    receipts = {lent.item: lent.due for lent in LENT}
    differ = {
        loan.item
        for loan in lib.loans_made
        if loan.due is not None and loan.due.astimezone(zone).date() != receipts[loan.item]
    }
    listed = {line.state.checkout.checkout.item for line in report.other_due_dates}
    assert listed == differ
    if p.keeps_due_date is Known.NO:
        # The ILS's own date from the upload: all but the one whose receipt said the same.
        assert listed == {loan.item for loan in lib.loans_made} - {item(7)}
        for barcode in listed:
            assert states[barcode].ils_due == "20261123    235959"
    if kind == "generic":
        assert listed == set()
    assert bool(listed) == any("other dates than the receipts" in line for line in lines)


@pytest.mark.parametrize("kind", KINDS)
def test_an_item_on_loan_to_another_patron_is_in_the_reconciliation(
    spool: Spool, kind: str
) -> None:
    replayed = replay(spool, kind, "America/New_York")

    result = reconcile(
        list(spool.checkouts()),
        made_at=UPLOAD,
        sources=("spool",),
        card_check=None,
        snapshot="none",
        upload_states=spool.upload_states(),
    )

    [elsewhere] = result.on_loan_elsewhere
    assert elsewhere.checkout.checkout.item == ON_LOAN_TO_BAO
    assert elsewhere.message == REFUSED[kind][ON_LOAN_TO_BAO]
    assert replayed.library.loans[ON_LOAN_TO_BAO] == BAO  # still the other patron's
    # A debarred patron's refusal is not an item on loan to someone else.
    assert all(o.checkout.checkout.item != DEBARRED_SINCE for o in result.on_loan_elsewhere)


def test_koha_refuses_a_patron_debarred_since_with_its_own_words(spool: Spool) -> None:
    replayed = replay(spool, "koha", "America/New_York")

    debarred = replayed.states[DEBARRED_SINCE]
    assert (debarred.state, debarred.message) == ("rejected", "Patron debarred")
    assert replayed.states[BLOCKED].state == "accepted"  # no-block honoured for fines


# A system that keeps the transaction date reads a local SIP2 date in its own zone ---------------

# How far from its real moment each loan is dated by a generic ILS (which keeps the
# transaction date), by the server's zone; None: refused.
SHIFTS = {
    # The repeated hour's second pass reads as the first: an hour early.
    "America/New_York": [0, 0, -1, 0, 0, None, 0],
    # Read as UTC: early by the kiosk's offset at each loan's own moment (EDT, then EST).
    "UTC": [-4, -4, -5, -5, -5, None, -5],
    # Read an hour late, but where 01:30 CDT is 01:30 EST.
    "America/Chicago": [1, 1, 0, 1, 1, None, 1],
}


@pytest.mark.parametrize("server_zone", SERVER_ZONES)
def test_a_generic_ils_dates_loans_right_only_in_the_kiosk_s_zone(
    spool: Spool, server_zone: str
) -> None:
    replayed = replay(spool, "generic", server_zone)

    lent_at = {loan.item: loan.lent_at for loan in replayed.library.loans_made}
    shifts = [
        None
        if lent.item not in lent_at
        else (lent_at[lent.item].astimezone(UTC) - lent.at.astimezone(UTC)) / HOUR
        for lent in LENT
    ]
    assert shifts == SHIFTS[server_zone]
    # Nothing the kiosk reports shows a shifted checkout time: the answer carries none.
    report = build_report(spool.upload_states(), kiosk_id=KIOSK_ID, run=None, made_at=UPLOAD)
    assert report.other_due_dates == ()
