"""A fake of what Evergreen does with a `pending.xacts` checkout's due date, built from the
facts in FORMATS.md section 3 (no Evergreen code): offline.pl takes `due_date` as an
instant; the `action.push_circ_due_time` trigger reads that instant's calendar date in the
library's zone (`lib.timezone`, else the server's own zone) and sets the time of day to
23:59:59 there. Milliseconds are dropped. The clock correction `delta` is the upload's, one
value for the whole file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo


@dataclass(frozen=True)
class EvergreenLoan:
    patron_barcode: str
    barcode: str
    due: datetime  # as Evergreen keeps it: 23:59:59 in the library's zone
    sort_key: int  # timestamp + the file's delta: the order Evergreen processes checkouts in


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError(f"due_date {text!r} names no instant")
    return moment.replace(microsecond=0).astimezone(UTC)


def import_xacts(
    text: str, *, server_zone: tzinfo, lib_timezone: tzinfo | None
) -> list[EvergreenLoan]:
    """The loans Evergreen makes from one uploaded file, with the due dates it keeps."""
    zone = lib_timezone or server_zone
    records = [json.loads(line) for line in text.split("\n") if line]
    deltas = {r["delta"] for r in records}
    if len(deltas) > 1:  # Evergreen would apply one of them to all: refused here
        raise ValueError(f"one file, several deltas: {sorted(deltas)}")
    loans = []
    for record in records:
        if record["type"] != "checkout":
            continue
        local_date = _instant(record["due_date"]).astimezone(zone).date()
        due = datetime.combine(local_date, time(23, 59, 59), tzinfo=zone)
        loans.append(
            EvergreenLoan(
                record["patron_barcode"],
                record["barcode"],
                due,
                record["timestamp"] + record["delta"],
            )
        )
    return loans
