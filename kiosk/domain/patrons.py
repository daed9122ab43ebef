"""Patron records from the snapshot, and who may borrow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

# What follows a surname after a comma without being a first name ("O'Brien, Jr.").
NAME_SUFFIXES = frozenset(
    {"jr", "sr", "ii", "iii", "iv", "v", "phd", "md", "esq", "jnr", "snr", "dds", "rn"}
)


class PatronStatus(Enum):
    OK = "ok"
    BLOCKED = "blocked"
    LOST = "lost"
    EXPIRED = "expired"
    # On a deny list with a flag or status the kiosk does not know (or none, or "ok"): the
    # card is listed, so it is refused, as blocked, whatever the policy says.
    LISTED = "listed"


# The order in which a status refuses: a lost card is reported as lost even if it is also
# blocked or expired.
MOST_SERIOUS_FIRST = (PatronStatus.LOST, PatronStatus.BLOCKED, PatronStatus.EXPIRED)
# A card listed twice keeps its most restrictive status: a listed card of unknown reason
# is refused whatever the policy, so it ranks above the statuses the policy may let through.
MOST_RESTRICTIVE_FIRST = (
    PatronStatus.LOST,
    PatronStatus.LISTED,
    PatronStatus.BLOCKED,
    PatronStatus.EXPIRED,
    PatronStatus.OK,
)


class SnapshotMode(Enum):
    """What a card that is not in the snapshot means."""

    ALLOW = "allow"  # the snapshot lists who may borrow: an unlisted card is unknown
    DENY = "deny"  # it lists who may not: any other card may borrow


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
        """The name to greet with: 'Smith, Ana' and 'Ana Smith' both give 'Ana', and so do
        'Ana Smith, Jr.' and 'Smith, Jr., Ana' (a suffix after a comma is not a first
        name)."""
        first, *rest = (part.strip() for part in self.name.split(","))
        rest = [part for part in rest if part.rstrip(".").casefold() not in NAME_SUFFIXES]
        given = rest[0] if rest else first  # "Last, First" or "First Last"
        return given.split(" ", 1)[0] if given else ""


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
    if record.status is PatronStatus.LISTED:
        return PatronRefusal.BLOCKED
    for status in MOST_SERIOUS_FIRST:
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


def card_record(
    barcode: str, listed: PatronRecord | None, mode: SnapshotMode
) -> PatronRecord | None:
    """What the station knows about a card that fits the patron barcode rule, given what the
    snapshot lists for it. In a deny list an unlisted card belongs to a patron in good
    standing whose name the kiosk does not know (the screen greets them by the card's last
    digits); in an allow list it is unknown."""
    if listed is not None or mode is SnapshotMode.ALLOW:
        return listed
    return PatronRecord(barcode)
