"""A SIP2 date in local time cannot say which pass of the repeated autumn hour it names:
`kiosk spool upload` names the checkouts sent from that hour for staff to check."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from kiosk.cli.upload import repeated_hour_lines
from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.storage.spool import UploadState
from kiosk.upload.report import build_report
from tests.conftest import item, patron

NEW_YORK = ZoneInfo("America/New_York")


def sent(seq: int, at: datetime, state: str | None = "accepted") -> UploadState:
    checkout = SpooledCheckout(
        Checkout(
            session_id="s",
            patron=patron(1),
            item=item(seq),
            due_date=date(2026, 11, 22),
            special_due=False,
            occurred_at=at.astimezone(NEW_YORK),
        ),
        kiosk_id="K1",
        txn_id=f"t{seq}",
        seq=seq,
    )
    return UploadState(checkout, state, 1 if state else 0, "", "", None)


def test_checkouts_sent_from_the_repeated_hour_are_named() -> None:
    states = [
        sent(1, datetime(2026, 11, 1, 4, 59, tzinfo=UTC)),  # 00:59 EDT: before the hour
        sent(2, datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),  # 01:30 EDT, the first pass
        sent(3, datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),  # 01:30 EST, the second pass
        sent(4, datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),  # 02:00 EST: after it
        sent(5, datetime(2026, 11, 1, 5, 45, tzinfo=UTC), state=None),  # never sent
        sent(6, datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),  # 03:30 EDT, the spring change
    ]
    report = build_report(states, kiosk_id="K1", run=None, made_at=datetime.now(UTC))

    lines = repeated_hour_lines(report, NEW_YORK)

    assert lines[0].startswith("Warning: 2 checkouts sent were made in the hour the clocks")
    assert lines[1:] == [
        f"  #2 item {item(2)}: 2026-11-01 01:30:00 EDT",
        f"  #3 item {item(3)}: 2026-11-01 01:30:00 EST",
    ]


def test_no_warning_without_such_checkouts() -> None:
    states = [sent(1, datetime(2026, 11, 2, 15, 0, tzinfo=UTC))]
    report = build_report(states, kiosk_id="K1", run=None, made_at=datetime.now(UTC))
    assert repeated_hour_lines(report, NEW_YORK) == []
