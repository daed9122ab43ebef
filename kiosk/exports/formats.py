"""Rendering spooled checkouts in the formats library systems import (see FORMATS.md).

Pure functions from checkouts to lines of text, so each format is tested byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from kiosk import __version__
from kiosk.storage.spool import SpooledCheckout

FORMATS = ("koc", "csv", "jsonl", "evergreen")
COLUMNS = (
    "txn_id",
    "kiosk_id",
    "seq",
    "occurred_at",
    "patron",
    "item",
    "due_date",
    "special_due",
    "session_id",
)
GENERATOR = "offline-kiosk"


def koc_timestamp(moment: datetime) -> str:
    """Koha's offline timestamp: local time, milliseconds after a space, no zone."""
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + f"{moment.microsecond // 1000:03d}"


def _clean(value: str) -> str:
    # Tabs and newlines would break the .koc line structure; barcodes never contain them.
    if any(ch in value for ch in "\t\r\n"):
        raise ValueError(f"{value!r} cannot be written to a .koc file")
    return value


def render_koc(checkouts: Iterable[SpooledCheckout]) -> Iterator[str]:
    """Koha offline circulation file 1.0: a header, then one `issue` line per checkout.

    occurred_at is stored in the library's time zone with its offset, so its wall-clock time
    is the local time Koha expects.
    """
    yield f"Version=1.0\tGenerator={GENERATOR}\tGeneratorVersion={__version__}\n"
    for c in checkouts:
        yield f"{koc_timestamp(c.occurred_at)}\tissue\t{_clean(c.patron)}\t{_clean(c.item)}\n"


def _record(c: SpooledCheckout) -> dict[str, Any]:
    return {
        "txn_id": c.txn_id,
        "kiosk_id": c.kiosk_id,
        "seq": c.seq,
        "occurred_at": c.occurred_at.isoformat(timespec="milliseconds"),
        "patron": c.patron,
        "item": c.item,
        "due_date": c.due_date.isoformat(),
        "special_due": c.special_due,
        "session_id": c.session_id,
    }


def render_jsonl(checkouts: Iterable[SpooledCheckout]) -> Iterator[str]:
    for c in checkouts:
        yield json.dumps(_record(c), ensure_ascii=False) + "\n"


def render_csv(checkouts: Iterable[SpooledCheckout]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    yield buffer.getvalue()
    for c in checkouts:
        buffer.seek(0)
        buffer.truncate()
        row = _record(c)
        row["special_due"] = "yes" if c.special_due else "no"
        writer.writerow(row)
        yield buffer.getvalue()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def js_iso(moment: datetime) -> str:
    """An instant as JavaScript's Date.toISOString() prints it: UTC, milliseconds, then Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def evergreen_due_date(due: date, zone: tzinfo) -> str:
    """The due date as Evergreen's offline client sends it: the instant that date begins in
    the library's zone, in UTC. Evergreen moves a day-granular due date to 23:59:59 of the
    same local date, so the patron keeps the whole day they were told."""
    return js_iso(datetime.combine(due, time(0), tzinfo=zone))


def render_evergreen(
    checkouts: Iterable[SpooledCheckout], tz: tzinfo | None = None
) -> Iterator[str]:
    """Evergreen's offline transactions (`pending.xacts`): one compact JSON object a line, as
    its web staff client writes them, so its offline interface can import the file.

    tz: the library's time zone, for the due dates. Without it, each checkout's own zone is
    used, and it must be a real zone: the fixed UTC offset a spooled checkout is read back
    with is wrong for a due date across a daylight-saving change, and Evergreen would make
    the item due a day early.
    """
    for c in checkouts:
        zone = tz or c.occurred_at.tzinfo
        if zone is None or (tz is None and isinstance(zone, timezone)):
            raise ValueError(
                "Evergreen's due dates need the library's time zone, not a fixed UTC offset"
            )
        record = {
            "timestamp": (c.occurred_at - _EPOCH) // timedelta(seconds=1),
            "type": "checkout",
            "delta": 0,
            "patron_barcode": c.patron,
            "barcode": c.item,
            "due_date": evergreen_due_date(c.due_date, zone),
            "checkout_time": js_iso(c.occurred_at),
        }
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


RENDERERS: dict[str, Callable[[Iterable[SpooledCheckout]], Iterator[str]]] = {
    "koc": render_koc,
    "csv": render_csv,
    "jsonl": render_jsonl,
    "evergreen": render_evergreen,
}


def render(
    fmt: str, checkouts: Iterable[SpooledCheckout], *, tz: tzinfo | None = None
) -> Iterator[str]:
    """The lines of `fmt` for these checkouts. tz: the library's time zone (see
    render_evergreen); the other formats carry each checkout's own offset."""
    if fmt == "evergreen":
        return render_evergreen(checkouts, tz)
    return RENDERERS[fmt](checkouts)
