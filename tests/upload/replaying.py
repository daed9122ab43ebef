"""What the replay tests share: a kiosk account, checkouts recorded in a real spool, and
ways to see what reached the test ILS."""

from __future__ import annotations

import socket
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.domain.checkout import Checkout
from kiosk.storage.spool import Spool, UploadState
from kiosk.upload.client import Endpoint
from kiosk.upload.replay import Account
from tests.conftest import item, patron
from tests.upload.ils import Faults, Library

TZ = ZoneInfo("America/New_York")
KIOSK_ID = "TEST-SC01"
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
DUE = date(2026, 12, 14)
ANA, BAO = patron(1), patron(3)
ACCOUNT = Account(
    login_user="kiosk1",
    login_password="secret",
    location="MAIN-SC01",
    institution="MAIN",
    terminal_password="tpw",
)
SWALLOW_TIMEOUT = 1.0  # how long the kiosk waits for an answer that never comes


def now() -> datetime:
    return datetime.now(TZ)


class Sleeps:
    """The back-off waits upload() asked for, none of them slept."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def record(spool: Spool, *items: str, who: str = ANA, start: int = 1) -> list[str]:
    """Checkouts a minute apart from 10:01 local, in order; their txn ids."""
    ids = []
    for n, barcode in enumerate(items, start=start):
        stored = spool.record_checkout(
            Checkout(
                session_id=f"session-{who}",
                patron=who,
                item=barcode,
                due_date=DUE,
                special_due=False,
                occurred_at=T0 + timedelta(minutes=n),  # given in UTC, stored local
            ),
            KIOSK_ID,
            TZ,
        )
        ids.append(stored.txn_id)
    return ids


def states(spool: Spool) -> dict[str, UploadState]:
    return {s.checkout.checkout.item: s for s in spool.upload_states()}


def seen(library: Library) -> Counter[str]:
    """How many checkout requests reached the library system, per item."""
    return Counter(req.item_identifier for req in library.checkouts_seen)


def requests_of(faults: Faults, code: bytes) -> list[bytes]:
    return [m for m in faults.log if m.startswith(code)]


def at(port: int, *, timeout: float = 5, **kwargs: object) -> Endpoint:
    return Endpoint("127.0.0.1", port, timeout=timeout, **kwargs)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ITEMS = [item(n) for n in range(1, 6)]


def library(**kwargs: object) -> Library:
    return Library(patrons={ANA, BAO}, items=set(ITEMS), **kwargs)  # type: ignore[arg-type]
