"""Reconciling an offline period: the conflicts nobody saw while the library system was down.

From one kiosk's spool, or from several kiosks' exports together (as `spool merge` reads
them): items lent to more than one patron in the period, checkouts to cards the current patron
snapshot refuses (blocked, lost, expired, over the fines limit, or not known), and checkouts the
ILS refused because the item is on loan to someone else (its screen message, from the upload
state kept in the spool). Pure: the checkouts, a patron check and the upload states in, values
out; reading the spool and the snapshot, writing and printing are the command's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.barcodes import mask
from kiosk.domain.checkout import SpooledCheckout
from kiosk.domain.patrons import PatronRefusal
from kiosk.exports.text_lines import listed
from kiosk.storage.spool import UploadState

# What ILSs say when an item is on loan already (Koha, Evergreen, FOLIO, pysip2 and others
# word it differently); a refusal that matches none is left to the upload report.
ON_LOAN_ELSEWHERE = re.compile(
    r"checked[ -]?out|on loan|on issue|issued to|charged|circulating|open_circulation",
    re.IGNORECASE,
)

CARD_REASONS = {
    PatronRefusal.UNKNOWN_PATRON: "not in the patron snapshot",
    PatronRefusal.BLOCKED: "blocked",
    PatronRefusal.LOST: "card reported lost",
    PatronRefusal.EXPIRED: "expired",
    PatronRefusal.FINES_OVER_LIMIT: "fines over the limit",
    PatronRefusal.PATRON_LIMIT: "over the item limit",
}


@dataclass(frozen=True)
class LentTwice:
    item: str
    loans: tuple[SpooledCheckout, ...]  # two or more, to different patrons, oldest first


@dataclass(frozen=True)
class CardRefused:
    checkout: SpooledCheckout
    reason: str  # from CARD_REASONS


@dataclass(frozen=True)
class OnLoanElsewhere:
    checkout: SpooledCheckout
    message: str  # the ILS's screen message


@dataclass(frozen=True)
class Reconciliation:
    made_at: datetime
    sources: tuple[str, ...]  # "spool of MAIN-SC01", or the export files
    checkouts: int
    kiosk_ids: tuple[str, ...]
    first: datetime | None
    last: datetime | None
    snapshot: str  # which patron snapshot the cards were checked against, or why not
    lent_twice: tuple[LentTwice, ...]
    cards_refused: tuple[CardRefused, ...]
    on_loan_elsewhere: tuple[OnLoanElsewhere, ...]
    ils_answers: bool  # the upload states were read (the spool); exports carry none

    @property
    def findings(self) -> int:
        return len(self.lent_twice) + len(self.cards_refused) + len(self.on_loan_elsewhere)

    def summary(self) -> str:
        parts = [
            _count(len(self.lent_twice), "item lent twice", "items lent twice"),
            _count(
                len(self.cards_refused),
                "checkout to a card the snapshot now refuses",
                "checkouts to cards the snapshot now refuses",
            ),
        ]
        if self.ils_answers:
            parts.append(
                _count(
                    len(self.on_loan_elsewhere),
                    "refused by the ILS as on loan to someone else",
                    "refused by the ILS as on loan to someone else",
                )
            )
        kiosks = _count(len(self.kiosk_ids), "kiosk", "kiosks")
        return f"{_count(self.checkouts, 'checkout', 'checkouts')} from {kiosks}: " + ", ".join(
            parts
        )


def findings_line(result: Reconciliation) -> str:
    """For the staff screen: what was found, only what was found ("" for nothing)."""
    found = (
        (
            result.lent_twice,
            "item lent to more than one patron",
            "items lent to more than one patron",
        ),
        (
            result.cards_refused,
            "checkout to a card the snapshot now refuses",
            "checkouts to cards the snapshot now refuses",
        ),
        (
            result.on_loan_elsewhere,
            "loan the ILS has on loan to someone else",
            "loans the ILS has on loan to someone else",
        ),
    )
    parts = [_count(len(items), one, many) for items, one, many in found if items]
    return f"{', '.join(parts)} this period: see kiosk spool reconcile" if parts else ""


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def lent_twice(checkouts: Iterable[SpooledCheckout]) -> tuple[LentTwice, ...]:
    """Items lent to more than one patron, each with all its loans, oldest first. The same
    patron twice is not a conflict (the ILS takes it as one loan)."""
    by_item: dict[str, list[SpooledCheckout]] = {}
    for c in checkouts:
        by_item.setdefault(c.checkout.item, []).append(c)
    found = []
    for item, loans in by_item.items():
        if len({c.checkout.patron for c in loans}) > 1:
            ordered = sorted(loans, key=lambda c: (c.checkout.occurred_at, c.kiosk_id, c.seq))
            found.append(LentTwice(item, tuple(ordered)))
    return tuple(sorted(found, key=lambda f: (f.loans[0].checkout.occurred_at, f.item)))


def reconcile(
    checkouts: Sequence[SpooledCheckout],
    *,
    made_at: datetime,
    sources: tuple[str, ...],
    card_check: Callable[[str], PatronRefusal | None] | None,
    snapshot: str,
    upload_states: Sequence[UploadState] | None = None,
) -> Reconciliation:
    """card_check: why the current snapshot would refuse a card now (None: it would lend), or
    None when there is no snapshot to check against. upload_states: the spool's, or None."""
    refused = []
    if card_check is not None:
        verdicts: dict[str, PatronRefusal | None] = {}
        for c in checkouts:
            if c.checkout.patron not in verdicts:
                verdicts[c.checkout.patron] = card_check(c.checkout.patron)
            why = verdicts[c.checkout.patron]
            if why is not None:
                refused.append(CardRefused(c, CARD_REASONS[why]))
    elsewhere = tuple(
        OnLoanElsewhere(s.checkout, s.message)
        for s in upload_states or ()
        if s.state == "rejected" and ON_LOAN_ELSEWHERE.search(s.message)
    )
    moments = [c.checkout.occurred_at for c in checkouts]
    return Reconciliation(
        made_at=made_at,
        sources=sources,
        checkouts=len(checkouts),
        kiosk_ids=tuple(sorted({c.kiosk_id for c in checkouts})),
        first=min(moments, default=None),
        last=max(moments, default=None),
        snapshot=snapshot,
        lent_twice=lent_twice(checkouts),
        cards_refused=tuple(refused),
        on_loan_elsewhere=elsewhere,
        ils_answers=upload_states is not None,
    )


def _loan(c: SpooledCheckout, patron: Callable[[str], str]) -> str:
    lent = c.checkout
    return f"{c.kiosk_id} #{c.seq} {lent.occurred_at:%Y-%m-%d %H:%M} to {patron(lent.patron)}"


def text_lines(result: Reconciliation, *, limit: int = 20, unmask: bool = False) -> list[str]:
    """The findings for a terminal; patron barcodes masked unless `unmask`."""

    def patron(barcode: str) -> str:
        return barcode if unmask else mask(barcode)

    return [
        *listed(
            f"Items lent to more than one patron ({len(result.lent_twice)}):",
            result.lent_twice,
            lambda f: f"item {f.item}: " + "; ".join(_loan(c, patron) for c in f.loans),
            limit,
        ),
        *listed(
            f"Checkouts to cards the patron snapshot now refuses ({len(result.cards_refused)}):",
            result.cards_refused,
            lambda r: f"item {r.checkout.checkout.item}: {_loan(r.checkout, patron)}: {r.reason}",
            limit,
        ),
        *listed(
            f"Refused by the ILS as on loan to someone else ({len(result.on_loan_elsewhere)}):",
            result.on_loan_elsewhere,
            lambda o: f"item {o.checkout.checkout.item}: {_loan(o.checkout, patron)}: {o.message}",
            limit,
        ),
    ]


def lent_twice_line(count: int) -> str:
    """For the staff screen and `spool merge`."""
    items = "1 item" if count == 1 else f"{count} items"
    return f"{items} lent to more than one patron this period: see kiosk spool reconcile"
