"""Items as the optional item snapshot knows them: a title to show, a material type that
can have a loan period of its own, and a status that can keep an item from being lent here
(on hold for someone, in transit, not for loan, lost or missing)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ItemStatus(Enum):
    AVAILABLE = "available"
    ON_HOLD = "on_hold"  # kept for a patron (hold_for): only that patron may borrow it
    IN_TRANSIT = "in_transit"
    NOT_FOR_LOAN = "not_for_loan"  # reference, or anything else that stays in the building
    LOST = "lost"
    MISSING = "missing"
    # A status word the kiosk does not know: refused, never guessed to be available (it may
    # be the library system's word for any of the above). The import counts such rows.
    UNKNOWN = "unknown"


# The words an export may use for our statuses without a mapping in the config.
OUR_STATUS_WORDS = tuple(s.value for s in ItemStatus if s is not ItemStatus.UNKNOWN)


@dataclass(frozen=True)
class ItemRecord:
    barcode: str
    title: str = ""
    material: str = ""  # the library system's material type code, in lower case ("dvd")
    status: ItemStatus = ItemStatus.AVAILABLE
    hold_for: str = ""  # the card number of the patron an item on hold is kept for

    def lendable_to(self, patron: str) -> bool:
        """May this item be lent to this patron here, as far as its status says?"""
        if self.status is ItemStatus.AVAILABLE:
            return True
        return self.status is ItemStatus.ON_HOLD and bool(self.hold_for) and self.hold_for == patron


def material_key(text: str) -> str:
    """A material type as the kiosk compares it: 'DVD', ' dvd ' and 'Dvd' are one type."""
    return " ".join(text.split()).lower()
