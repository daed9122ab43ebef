"""Rendering spooled checkouts in the formats library systems import (see FORMATS.md).

Pure functions from checkouts to lines of text, so each format is tested byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from kiosk import __version__
from kiosk.storage.spool import SpooledCheckout

FORMATS = ("koc", "csv", "jsonl")
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


RENDERERS = {"koc": render_koc, "csv": render_csv, "jsonl": render_jsonl}
