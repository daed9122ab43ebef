"""Patron records from the snapshot, and who may borrow."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum


class PatronStatus(Enum):
    OK = "ok"
    BLOCKED = "blocked"
    LOST = "lost"
    EXPIRED = "expired"


class PatronRefusal(Enum):
    UNKNOWN_PATRON = "unknown_patron"
    BLOCKED = "blocked"
    LOST = "lost"
    EXPIRED = "expired"
    FINES_OVER_LIMIT = "fines_over_limit"
    PATRON_LIMIT = "patron_limit"


@dataclass(frozen=True)
class PatronRecord:
    barcode: str
    name: str = ""
    fines: Decimal = Decimal("0")
    status: PatronStatus = PatronStatus.OK
    expires: date | None = None

    @property
    def first_name(self) -> str:
        """The name to greet with: 'Smith, Ana' and 'Ana Smith' both give 'Ana'."""
        name = self.name.strip()
        if "," in name:
            name = name.split(",", 1)[1].strip()
        return name.split(" ", 1)[0] if name else ""


@dataclass(frozen=True)
class PatronPolicy:
    block_fines_over: Decimal | None = None
    block_statuses: frozenset[PatronStatus] = frozenset(
        {PatronStatus.BLOCKED, PatronStatus.LOST, PatronStatus.EXPIRED}
    )
    max_items_per_patron: int = 0  # 0: no cap


_STATUS_REFUSAL = {
    PatronStatus.LOST: PatronRefusal.LOST,
    PatronStatus.BLOCKED: PatronRefusal.BLOCKED,
    PatronStatus.EXPIRED: PatronRefusal.EXPIRED,
}


def check_patron(
    record: PatronRecord | None, policy: PatronPolicy, today: date, outstanding: int
) -> PatronRefusal | None:
    """Why this patron may not borrow, or None. `outstanding`: the patron's checkouts in the
    spool that have not been handed over to the library system yet.

    The most serious reason wins: a lost card is reported as lost even if it also has fines.
    """
    if record is None:
        return PatronRefusal.UNKNOWN_PATRON
    for status in (PatronStatus.LOST, PatronStatus.BLOCKED, PatronStatus.EXPIRED):
        if record.status is status and status in policy.block_statuses:
            return _STATUS_REFUSAL[status]
    if (
        PatronStatus.EXPIRED in policy.block_statuses
        and record.expires is not None
        and record.expires < today
    ):
        return PatronRefusal.EXPIRED
    if policy.block_fines_over is not None and record.fines > policy.block_fines_over:
        return PatronRefusal.FINES_OVER_LIMIT
    if policy.max_items_per_patron > 0 and outstanding >= policy.max_items_per_patron:
        return PatronRefusal.PATRON_LIMIT
    return None


class RowError(ValueError):
    """A snapshot row that cannot be used, with a reason in plain words."""


_AMOUNT = re.compile(r"-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")


def parse_money(text: str) -> Decimal:
    """An amount like `12.50`, `-3`, `1,234.50` or `$4.00`; empty means 0.

    A comma is accepted only as a thousands separator in its right place: `1,5` is refused
    rather than guessed (it means 1.5 in much of the world).
    """
    stripped = text.strip()
    if not stripped:
        return Decimal("0")
    cleaned = stripped.replace("$", "", 1).replace("€", "", 1).replace("£", "", 1).strip()
    if not _AMOUNT.fullmatch(cleaned):
        raise RowError(f"fines {text!r} is not an amount (like 12.50)")
    try:
        value = Decimal(cleaned.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise RowError(f"fines {text!r} is not an amount (like 12.50)") from exc
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise RowError(f"fines {text!r} has more than two decimals")
    return value


def parse_patron_row(row: Mapping[str, str | None], max_barcode_length: int = 64) -> PatronRecord:
    """One snapshot CSV row (columns already named barcode/name/fines/status/expires)."""
    barcode = (row.get("barcode") or "").strip()
    if not barcode:
        raise RowError("barcode is empty")
    if len(barcode) > max_barcode_length or not barcode.isprintable() or " " in barcode:
        raise RowError(f"barcode {barcode[:20]!r} is not a barcode")
    status_text = (row.get("status") or "").strip().lower() or "ok"
    try:
        status = PatronStatus(status_text)
    except ValueError as exc:
        allowed = ", ".join(s.value for s in PatronStatus)
        raise RowError(f"status {status_text!r} is not one of {allowed}") from exc
    expires_text = (row.get("expires") or "").strip()
    expires = None
    if expires_text:
        try:
            expires = date.fromisoformat(expires_text)
        except ValueError as exc:
            raise RowError(f"expires {expires_text!r} is not a date (YYYY-MM-DD)") from exc
    name = (row.get("name") or "").strip()
    if not name.isprintable():
        raise RowError("name contains control characters")
    return PatronRecord(
        barcode=barcode,
        name=name,
        fines=parse_money(row.get("fines") or ""),
        status=status,
        expires=expires,
    )
