"""Rendering spooled checkouts in the formats library systems import (see FORMATS.md).

Pure functions from checkouts to lines of text, so each format is tested byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from kiosk import __version__
from kiosk.domain.barcodes import mask
from kiosk.domain.checkout import SpooledCheckout

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
    for lent in (c.checkout for c in checkouts):
        when, patron, item = koc_timestamp(lent.occurred_at), _clean(lent.patron), _clean(lent.item)
        yield f"{when}\tissue\t{patron}\t{item}\n"


@dataclass(frozen=True)
class RepeatedHourLine:
    """A .koc line whose local time happens twice: in the hour the clocks go back."""

    line: int  # in the .koc file, the header being line 1
    occurred_at: datetime  # with the offset in force, which the .koc line cannot carry
    patron: str
    item: str


def _is_repeated(wall: datetime, zone: tzinfo) -> bool:
    """Whether this local wall time (naive) occurs twice in `zone` (fold semantics)."""
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    # The offsets also differ in the skipped hour of spring: a time that does not exist does
    # not come back unchanged from UTC.
    return first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def in_repeated_hour(moment: datetime, zone: tzinfo) -> bool:
    """Whether `moment`'s local time in `zone` happens twice (the hour the clocks go back):
    a local time with no offset (a .koc line, a SIP2 date) cannot say which pass it was."""
    return _is_repeated(moment.astimezone(zone).replace(tzinfo=None), zone)


def koc_repeated_hour(
    checkouts: Iterable[SpooledCheckout], tz: tzinfo | None = None
) -> tuple[RepeatedHourLine, ...]:
    """The lines of render_koc's file whose time falls in the repeated hour of the autumn
    clock change (FORMATS.md section 6). A .koc time has no offset: Koha reads both passes of
    that hour as the second, standard-time one, so the first pass's checkouts land an hour
    late and are processed after later lines. The format cannot say otherwise; staff must be
    told which lines to check.

    tz: the library's time zone; without it, each checkout's own zone if it is a real one
    (a fixed UTC offset knows no clock change, and nothing can be found).
    """
    found = []
    for number, c in enumerate(checkouts, start=2):
        zone = tz or c.checkout.occurred_at.tzinfo
        if zone is None or (tz is None and isinstance(zone, timezone)):
            continue
        if _is_repeated(c.checkout.occurred_at.replace(tzinfo=None), zone):
            local = c.checkout.occurred_at.astimezone(zone)  # fold 0: the first pass, 1: the second
            found.append(RepeatedHourLine(number, local, c.checkout.patron, c.checkout.item))
    return tuple(found)


def repeated_hour_warning(lines: Iterable[RepeatedHourLine]) -> tuple[str, ...]:
    """What staff are told about koc_repeated_hour's lines: nothing if there are none.
    Patron barcodes are masked, as in logs."""
    lines = tuple(lines)
    if not lines:
        return ()
    text = [
        f"Warning: {len(lines)} checkouts in the .koc file were made in the hour the clocks "
        "went back, which happens twice. A .koc time cannot say which pass it was: Koha reads "
        "every one as the second pass, so those from the first pass are dated an hour late "
        "and processed after later checkouts. After the upload, check these loans' checkout "
        "times in Koha:"
    ]
    for found in lines:
        when = found.occurred_at
        which = "first pass: Koha dates it an hour late" if not when.fold else "second pass"
        text.append(
            f"  line {found.line}: {when.strftime('%Y-%m-%d %H:%M:%S')} {when.tzname()} "
            f"(UTC{when.isoformat()[-6:]}, {which}), patron {mask(found.patron)}, "
            f"item {found.item}"
        )
    return tuple(text)


def _record(c: SpooledCheckout) -> dict[str, Any]:
    return {
        "txn_id": c.txn_id,
        "kiosk_id": c.kiosk_id,
        "seq": c.seq,
        "occurred_at": c.checkout.occurred_at.isoformat(timespec="milliseconds"),
        "patron": c.checkout.patron,
        "item": c.checkout.item,
        "due_date": c.checkout.due_date.isoformat(),
        "special_due": c.checkout.special_due,
        "session_id": c.checkout.session_id,
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
        row["special_due"] = "yes" if c.checkout.special_due else "no"
        writer.writerow(row)
        yield buffer.getvalue()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def js_iso(moment: datetime) -> str:
    """An instant as JavaScript's Date.toISOString() prints it: UTC, milliseconds, then Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# Evergreen keeps the calendar date it reads from `due_date` in the library's zone
# (`lib.timezone`, else the server's own zone) and moves the time to 23:59:59 there. The kiosk
# cannot know that zone, so it sends an instant that is the due date in as many zones as one
# instant can be: 10:00 UTC is the due date everywhere from UTC-10:00 to UTC+13:59 (Honolulu
# to Auckland in summer), whatever the kiosk's own zone. No instant serves every zone: from
# UTC-12 to UTC+14 the same date spans 26 hours of instants, one more day than a day has.
# Noon in the kiosk's zone, the obvious choice, serves only zones less than 12 hours from the
# kiosk's: noon in Auckland in summer is 23:00 UTC the day before, so an Auckland kiosk whose
# Evergreen server runs in UTC without `lib.timezone` would see every loan due a day early.
# Where 10:00 UTC fails: a library zone west of UTC-10 (Pago Pago, Niue: a day early) or at
# UTC+14 (Kiritimati: a day late) that is not the kiosk's own zone.
_EVERGREEN_DUE_TIME_UTC = time(10, 0)
# Evergreen takes the clock correction `delta` once per uploaded file (one workstation's), not
# line by line, so every line of a file carries the same one: 0, the kiosk's stamps as its
# clock gave them.
EVERGREEN_DELTA = 0


def evergreen_due_instant(due: date, zone: tzinfo) -> datetime:
    """The instant sent as a checkout's due date (see above): 10:00 UTC on the due date, or,
    in a kiosk zone where that instant is not the due date (west of UTC-10, or UTC+14), the
    moment of the due date there nearest to it, so the kiosk's own zone always reads the
    date the patron was told."""
    instant = datetime.combine(due, _EVERGREEN_DUE_TIME_UTC, tzinfo=UTC)
    local = instant.astimezone(zone).date()
    if local < due:  # the due date begins later in the kiosk's zone: its first moment
        return datetime.combine(due, time(0), tzinfo=zone).astimezone(UTC)
    if local > due:  # it has ended already there: its last whole second
        next_day = datetime.combine(due + timedelta(days=1), time(0), tzinfo=zone)
        return next_day.astimezone(UTC) - timedelta(seconds=1)
    return instant


def evergreen_due_date(due: date, zone: tzinfo) -> str:
    """The due date as `pending.xacts` carries it: evergreen_due_instant as toISOString()."""
    return js_iso(evergreen_due_instant(due, zone))


def render_evergreen(
    checkouts: Iterable[SpooledCheckout], tz: tzinfo | None = None
) -> Iterator[str]:
    """Evergreen's offline transactions (`pending.xacts`): one compact JSON object a line, as
    its web staff client writes them, so its offline interface can import the file.

    tz: the library's (the kiosk's) time zone, in which every due date must read the date
    the patron was told (see evergreen_due_instant). Without it, each checkout's own zone
    is used, and it must be a real zone: the fixed UTC offset a spooled checkout is read back
    with is wrong for a due date across a daylight-saving change.
    """
    for c in checkouts:
        zone = tz or c.checkout.occurred_at.tzinfo
        if zone is None or (tz is None and isinstance(zone, timezone)):
            raise ValueError(
                "Evergreen's due dates need the library's time zone, not a fixed UTC offset"
            )
        record = {
            "timestamp": (c.checkout.occurred_at - _EPOCH) // timedelta(seconds=1),
            "type": "checkout",
            "delta": EVERGREEN_DELTA,
            "patron_barcode": c.checkout.patron,
            "barcode": c.checkout.item,
            "due_date": evergreen_due_date(c.checkout.due_date, zone),
            "checkout_time": js_iso(c.checkout.occurred_at),
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
