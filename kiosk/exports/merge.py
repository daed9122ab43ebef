"""Merging the CSV and JSON lines exports of several kiosks into one list, in time order.

Pure: the bytes of each file in, values out (the checkouts, how many duplicates were dropped,
and warnings about kiosk clocks). Reading the files, writing the result and printing are the
command's. A file that is not one of our exports, or two files that disagree about a
checkout, refuse the whole merge: a merged file that quietly lost or doubled a checkout
would be worse than none.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from itertools import combinations, pairwise
from typing import Any

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.errors import MergeError
from kiosk.exports.formats import COLUMNS

FUTURE_SLACK = timedelta(minutes=5)  # clocks a few minutes apart are not worth a warning
CSV_HEADER = ",".join(COLUMNS)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class SourceRow:
    checkout: SpooledCheckout
    file: str  # as it was named on the command line
    line: int  # 1-based


@dataclass(frozen=True)
class ClockWarning:
    kind: str  # "future", "backwards" or "skew"
    kiosk_ids: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Merged:
    checkouts: tuple[SpooledCheckout, ...]  # oldest first, by the instant
    duplicates: int  # the same checkout in more than one place, kept once
    kiosk_ids: tuple[str, ...]
    warnings: tuple[ClockWarning, ...]


# Reading one file ---------------------------------------------------------------------------


def parse_export(name: str, data: bytes) -> list[SourceRow]:
    """The checkouts in one of our CSV or JSON lines exports, strictly: anything else, or a
    value that does not read back as what the kiosk writes, raises MergeError."""
    if not data:
        raise MergeError(f"{name} is empty: not an export from a kiosk")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MergeError(
            f"{name} is not UTF-8 text (byte {exc.start}): not an export from a kiosk"
        ) from exc
    if text.startswith("\ufeff"):
        raise MergeError(
            f"{name} was saved again by another program (it starts with a byte order mark): "
            "use the file the kiosk wrote"
        )
    first = text.split("\n", 1)[0].rstrip("\r")
    if first.startswith("Version="):
        raise MergeError(
            f"{name} is a Koha .koc file: it has no txn_id, so its checkouts cannot be told "
            "apart from the same ones in another file. Merge the kiosks' CSV or JSON lines "
            "exports (kiosk spool export --format csv or jsonl) instead"
        )
    if not text.endswith("\n"):
        raise MergeError(f"{name}: the last line has no line end: the file may be cut short")
    if first == CSV_HEADER:
        return _parse_csv(name, text)
    if first.startswith("{"):
        return _parse_jsonl(name, text)
    raise MergeError(
        f"{name} is not a CSV or JSON lines export from a kiosk (its first line is neither)"
    )


def _parse_csv(name: str, text: str) -> list[SourceRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        next(reader)  # the header, checked by the caller
        for fields in reader:
            where = f"{name} line {reader.line_num}"
            if len(fields) != len(COLUMNS):
                raise MergeError(f"{where}: {len(fields)} fields, not {len(COLUMNS)}")
            values: dict[str, Any] = dict(zip(COLUMNS, fields, strict=True))
            if values["special_due"] not in ("yes", "no"):
                raise MergeError(f"{where}: special_due is {values['special_due']!r}, not yes/no")
            values["special_due"] = values["special_due"] == "yes"
            if not values["seq"].isascii() or not values["seq"].isdigit():
                raise MergeError(f"{where}: seq {values['seq']!r} is not a number")
            values["seq"] = int(values["seq"])
            rows.append(SourceRow(_checkout(values, where), name, reader.line_num))
    except csv.Error as exc:
        raise MergeError(f"{name} line {reader.line_num}: not valid CSV ({exc})") from exc
    return rows


def _parse_jsonl(name: str, text: str) -> list[SourceRow]:
    rows = []
    # Not splitlines(): it also splits on U+2028 and friends, which JSON leaves unescaped.
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        where = f"{name} line {number}"
        try:
            values = json.loads(line)
        except ValueError as exc:
            raise MergeError(f"{where}: not a JSON object ({exc})") from exc
        if not isinstance(values, dict):
            raise MergeError(f"{where}: not a JSON object")
        if number == 1 and "txn_id" not in values and {"type", "timestamp"} <= values.keys():
            raise MergeError(
                f"{name} is an Evergreen pending.xacts file: it has no txn_id, so its "
                "checkouts cannot be told apart from the same ones in another file. Merge the "
                "kiosks' CSV or JSON lines exports instead"
            )
        missing = [key for key in COLUMNS if key not in values]
        extra = sorted(key for key in values if key not in COLUMNS)
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"unexpected {', '.join(extra)}"] if extra else []
        if problems:
            raise MergeError(f"{where}: not a kiosk's checkout ({'; '.join(problems)})")
        if not isinstance(values["special_due"], bool):
            raise MergeError(f"{where}: special_due is not true or false")
        if not isinstance(values["seq"], int) or isinstance(values["seq"], bool):
            raise MergeError(f"{where}: seq is not a whole number")
        rows.append(SourceRow(_checkout(values, where), name, number))
    return rows


def _checkout(values: dict[str, Any], where: str) -> SpooledCheckout:
    """The text fields checked as the kiosk writes them; seq and special_due already typed."""
    for key in ("txn_id", "kiosk_id", "occurred_at", "patron", "item", "due_date", "session_id"):
        value = values[key]
        if not isinstance(value, str) or not value:
            raise MergeError(f"{where}: {key} is empty or not text")
    try:
        uuid.UUID(values["txn_id"])
    except ValueError as exc:
        raise MergeError(f"{where}: txn_id {values['txn_id']!r} is not a UUID") from exc
    if values["seq"] < 1:
        raise MergeError(f"{where}: seq {values['seq']} is below 1")
    try:
        occurred_at = datetime.fromisoformat(values["occurred_at"])
    except ValueError as exc:
        raise MergeError(f"{where}: occurred_at {values['occurred_at']!r} is not a time") from exc
    if occurred_at.utcoffset() is None:
        raise MergeError(f"{where}: occurred_at {values['occurred_at']!r} has no UTC offset")
    try:
        if not _DATE.fullmatch(values["due_date"]):
            raise ValueError
        due_date = date.fromisoformat(values["due_date"])
    except ValueError as exc:
        raise MergeError(f"{where}: due_date {values['due_date']!r} is not YYYY-MM-DD") from exc
    lent = Checkout(
        session_id=values["session_id"],
        patron=values["patron"],
        item=values["item"],
        due_date=due_date,
        special_due=values["special_due"],
        occurred_at=occurred_at,
    )
    return SpooledCheckout(lent, values["kiosk_id"], values["txn_id"], values["seq"])


# Merging ------------------------------------------------------------------------------------


def merge_exports(
    files: Iterable[Sequence[SourceRow]], *, now: datetime, max_skew: timedelta
) -> Merged:
    """Every checkout once, oldest first. The same txn_id with the same content is kept once
    and counted; with different content the merge is refused (MergeError naming both)."""
    first_seen: dict[str, SourceRow] = {}
    duplicates = 0
    for rows in files:
        for row in rows:
            earlier = first_seen.get(row.checkout.txn_id)
            if earlier is None:
                first_seen[row.checkout.txn_id] = row
                continue
            differ = _differences(earlier.checkout, row.checkout)
            if differ:
                raise MergeError(
                    f"txn_id {row.checkout.txn_id} is in {earlier.file} line {earlier.line} "
                    f"and in {row.file} line {row.line} with a different {', '.join(differ)}: "
                    "one of the files was changed; nothing was merged"
                )
            duplicates += 1
    checkouts = sorted(
        (row.checkout for row in first_seen.values()),
        key=lambda c: (c.checkout.occurred_at, c.kiosk_id, c.seq),
    )
    return Merged(
        tuple(checkouts),
        duplicates,
        tuple(sorted({c.kiosk_id for c in checkouts})),
        tuple(clock_warnings(checkouts, now=now, max_skew=max_skew)),
    )


def _differences(a: SpooledCheckout, b: SpooledCheckout) -> list[str]:
    """The fields two copies of a checkout disagree on. Times are compared as written, offset
    included: a kiosk writes the same text for a checkout every time."""
    wa, wb = _written(a), _written(b)
    return [key for key in COLUMNS if key != "txn_id" and wa[key] != wb[key]]


def _written(c: SpooledCheckout) -> dict[str, object]:
    """Its fields by name, the checkout's and the spool's, times as text."""
    values = asdict(c)
    values.update(values.pop("checkout"))
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


# Clocks -------------------------------------------------------------------------------------


def clock_warnings(
    checkouts: Sequence[SpooledCheckout], *, now: datetime, max_skew: timedelta
) -> list[ClockWarning]:
    """Signs that a kiosk's clock was wrong while it lent: checkouts in the future, time
    going backwards as its sequence numbers go up, and a kiosk whose checkouts all lie more
    than max_skew from every other kiosk's while those others agree with each other."""
    by_kiosk: dict[str, list[SpooledCheckout]] = {}
    for c in checkouts:
        by_kiosk.setdefault(c.kiosk_id, []).append(c)
    warnings: list[ClockWarning] = []
    for kiosk_id in sorted(by_kiosk):
        rows = sorted(by_kiosk[kiosk_id], key=lambda c: c.seq)
        ahead = [c for c in rows if c.checkout.occurred_at > now + FUTURE_SLACK]
        if ahead:
            latest = max(c.checkout.occurred_at for c in ahead)
            warnings.append(
                ClockWarning(
                    "future",
                    (kiosk_id,),
                    f"{kiosk_id}: {len(ahead)} checkouts are dated in the future (the latest "
                    f"{_when(latest)}, while it is now "
                    f"{_when(now.astimezone(latest.tzinfo))}): its clock is ahead",
                )
            )
        for before, after in pairwise(rows):
            if after.checkout.occurred_at < before.checkout.occurred_at:
                back = _span(before.checkout.occurred_at - after.checkout.occurred_at)
                warnings.append(
                    ClockWarning(
                        "backwards",
                        (kiosk_id,),
                        f"{kiosk_id}: time goes back {back} from seq {before.seq} "
                        f"({_when(before.checkout.occurred_at)}) to seq {after.seq} "
                        f"({_when(after.checkout.occurred_at)}): its clock was changed",
                    )
                )
    warnings.extend(_skew_warnings(by_kiosk, max_skew))
    return warnings


def _skew_warnings(
    by_kiosk: dict[str, list[SpooledCheckout]], max_skew: timedelta
) -> list[ClockWarning]:
    spans = {
        k: (min(c.checkout.occurred_at for c in rows), max(c.checkout.occurred_at for c in rows))
        for k, rows in sorted(by_kiosk.items())
    }

    def apart(a: str, b: str) -> timedelta:
        (a_from, a_to), (b_from, b_to) = spans[a], spans[b]
        return max(timedelta(0), a_from - b_to, b_from - a_to)

    if len(spans) < 2:
        return []  # one kiosk: nothing to compare it with
    if len(spans) == 2:
        a, b = spans
        if apart(a, b) > max_skew:
            return [
                ClockWarning(
                    "skew",
                    (a, b),
                    f"{a} and {b}: their checkouts lie {_span(apart(a, b))} apart: one of "
                    "their clocks is probably wrong (a third kiosk's file would tell which)",
                )
            ]
        return []
    warnings = []
    for k in spans:
        others = [o for o in spans if o != k]
        if all(apart(k, o) > max_skew for o in others) and all(
            apart(a, b) <= max_skew for a, b in combinations(others, 2)
        ):
            k_from, k_to = spans[k]
            warnings.append(
                ClockWarning(
                    "skew",
                    (k,),
                    f"{k}: its checkouts ({_when(k_from)} to {_when(k_to)}) lie at least "
                    f"{_span(min(apart(k, o) for o in others))} from every other kiosk's, "
                    "which agree with each other: its clock is probably wrong",
                )
            )
    return warnings


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


def _span(length: timedelta) -> str:
    hours = length / timedelta(hours=1)
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    if hours >= 1:
        return f"{hours:.1f} hours"
    return f"{max(1, round(hours * 60))} minutes"
