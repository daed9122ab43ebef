"""What the patron screens say about a notice, a refused card, a failed receipt or a station
out of service: marked for translation here, translated when a screen is drawn."""

from __future__ import annotations

from kiosk.domain.events import ItemRefusal, OutOfServiceReason, ScanRejection
from kiosk.domain.patrons import PatronRefusal
from kiosk.presenter.i18n import N_
from kiosk.presenter.patron_types import Notice

NOTICE_TEXT = {
    Notice.DUPLICATE: N_("You already scanned this item."),
    Notice.NO_PATRON: N_("Please scan your library card first."),
    Notice.SESSION_LIMIT: N_("You have reached the limit of items for one visit."),
    Notice.PATRON_LIMIT: N_("This card has reached its limit of items."),
    Notice.MISREAD: N_("That did not scan correctly - please scan it again."),
    Notice.NOT_AN_ITEM: N_("That is not a library item."),
    Notice.LIBRARY_CARD: N_("That is a library card, not an item. Scan your items, or press Done."),
    Notice.CARD_OR_ITEM: N_(
        "This kiosk cannot tell if that is a library card or an item. Please ask library staff."
    ),
    Notice.HELD_FOR_ANOTHER: N_(
        "This item is being kept for another patron. Please take it to the desk."
    ),
    Notice.NOT_LENT_HERE: N_("This item cannot be borrowed here. Please take it to the desk."),
}

SCAN_NOTICE = {
    ScanRejection.INVALID_CHECK_DIGIT: Notice.MISREAD,
    ScanRejection.UNRECOGNISED: Notice.NOT_AN_ITEM,
    ScanRejection.LIBRARY_CARD: Notice.LIBRARY_CARD,
    ScanRejection.CARD_OR_ITEM: Notice.CARD_OR_ITEM,
}
ITEM_NOTICE = {
    ItemRefusal.DUPLICATE_IN_SESSION: Notice.DUPLICATE,
    ItemRefusal.NO_PATRON: Notice.NO_PATRON,
    ItemRefusal.SESSION_LIMIT: Notice.SESSION_LIMIT,
    ItemRefusal.PATRON_LIMIT: Notice.PATRON_LIMIT,
    ItemRefusal.ON_HOLD: Notice.HELD_FOR_ANOTHER,
    ItemRefusal.IN_TRANSIT: Notice.NOT_LENT_HERE,
    ItemRefusal.NOT_FOR_LOAN: Notice.NOT_LENT_HERE,
    ItemRefusal.LOST_OR_MISSING: Notice.NOT_LENT_HERE,
    ItemRefusal.UNKNOWN_STATUS: Notice.NOT_LENT_HERE,
}
REFUSAL_TEXT = {
    PatronRefusal.UNKNOWN_PATRON: N_("We could not find this card."),
    PatronRefusal.BLOCKED: N_("This card is blocked."),
    PatronRefusal.LOST: N_("This card has been reported lost."),
    PatronRefusal.EXPIRED: N_("This card has expired."),
    PatronRefusal.FINES_OVER_LIMIT: N_("This card has fines over the limit."),
    PatronRefusal.PATRON_LIMIT: N_("This card has reached its limit of items."),
}
RECEIPT_FAILED = N_("The receipt could not be printed. Your items are checked out all the same.")
OUT_OF_SERVICE_TEXT = {
    OutOfServiceReason.PAUSED: N_("Paused by staff."),
    OutOfServiceReason.NO_SNAPSHOT: N_("No patron list has been loaded."),
    OutOfServiceReason.SNAPSHOT_TOO_OLD: N_("The patron list is too old."),
    OutOfServiceReason.STORAGE_ERROR: N_("Checkouts cannot be saved."),
}
