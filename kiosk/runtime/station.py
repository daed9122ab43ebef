"""The station runtime: one owner of the state machine.

Inputs (scans, Done, clock ticks) come in one at a time; the pure core decides; this class
carries out what it decided, in a fixed order: a checkout is stored durably, then its
`item_checked_out` event exists, then anything may be shown or printed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import date, timedelta

from kiosk.domain.barcodes import BarcodeRules, Listed, Scan, ScanKind, card_or_item, classify, mask
from kiosk.domain.checkout import Checkout
from kiosk.domain.events import Event, OutOfServiceReason, ScanRejection, StaffCardScanned
from kiosk.domain.patrons import SnapshotMode, card_record
from kiosk.domain.service import Availability, SnapshotLimits, assess
from kiosk.domain.station import (
    BadScan,
    CheckoutFailed,
    CheckoutStored,
    ClearSession,
    Done,
    EndOfInput,
    Input,
    ItemScan,
    Mode,
    PatronScan,
    ServiceDown,
    ServiceUp,
    Shutdown,
    SpecialDueSet,
    StationRules,
    StationState,
    StillHere,
    Tick,
    session_deadline,
    step,
)
from kiosk.errors import StorageError
from kiosk.runtime.clock import Clock
from kiosk.runtime.snapshot_readers import SnapshotReaders, SnapshotUnreadable, explained
from kiosk.storage.items import ItemStore
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.spool import Spool

log = logging.getLogger(__name__)

SPECIAL_DUE_SETTING = "special_due_date"  # YYYY-MM-DD, set by staff
PAUSED_SETTING = "paused"  # the message patrons see while staff have paused the station
CLEAR_SESSION_SETTING = "clear_session"  # a request stamp: a new one ends the session

__all__ = [
    "CLEAR_SESSION_SETTING",
    "PAUSED_SETTING",
    "SPECIAL_DUE_SETTING",
    "StationRuntime",
    "explained",
    "shown",
]


class StationRuntime:
    def __init__(
        self,
        *,
        rules: StationRules,
        barcode_rules: BarcodeRules,
        limits: SnapshotLimits,
        snapshots: SnapshotStore,
        spool: Spool | None,
        spool_problem: str | None,
        clock: Clock,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        on_service_change: Callable[[str | None, str], None] | None = None,
        is_staff_card: Callable[[str], bool] | None = None,
        items: ItemStore | None = None,
    ) -> None:
        self.rules = rules
        self.barcode_rules = barcode_rules
        self.limits = limits
        self.snapshots = snapshots
        self.spool = spool
        self.clock = clock
        self.state = StationState()
        self._new_id = new_id
        # Told (reason or None for "in service", detail) each time the station goes out of
        # service or comes back: the audit trail records it.
        self._on_service_change = on_service_change
        # Checked only when no patron is at the station: a staff card opens the PIN pad.
        self._is_staff_card = is_staff_card
        self._service_reason: str | None = "starting"
        # Set with a spool too when it did not take a trial write at start: it is tried again
        # at each input, and the station comes back once it does.
        self._storage_problem = spool_problem
        # The patron snapshot and the optional item snapshot (titles and material types;
        # lending never depends on it), reopened when a new one is swapped in.
        self._snapshots = SnapshotReaders(snapshots, items)
        self._logged_problem: str | None = None
        self._clear_request: str | None = None  # the last request seen (None: not read yet)
        # (session id, the patron's checkouts not yet handed over when that session began):
        # during a session the count is that plus the session's own checkouts, so an item
        # scan does not read the spool again. A hand-over during the session only makes the
        # real count smaller, so the limit can only be applied more strictly, never less.
        self._session_base: tuple[str, int] | None = None
        self.items = items

    # Inputs ------------------------------------------------------------------------------

    def start(self) -> list[Event]:
        return self._assess()

    def scan(self, raw: str) -> list[Event]:
        events = self._assess()
        if self.state.session is None and self._is_staff(raw):
            log.info("a staff card was scanned")
            return [*events, StaffCardScanned()]
        if self.state.mode is not Mode.IDLE and self.state.mode is not Mode.SESSION:
            return events
        expecting = ScanKind.ITEM if self.state.session is not None else ScanKind.PATRON
        scan = classify(raw, self.barcode_rules, expecting)
        try:
            if scan.kind is ScanKind.ITEM or scan.fits_both:
                return events + self._item_or_card(scan, raw)
            if scan.kind is ScanKind.PATRON:
                return events + self._patron(scan.code)
        except StorageError as exc:
            return events + self._feed(CheckoutFailed(str(exc)))
        if scan.kind is ScanKind.MISREAD:
            detail = f"looks like a {scan.detail} barcode but its check digit is wrong"
            log.info("misread scan %s: %s", mask(scan.code), detail)
            return events + self._feed(
                BadScan(scan.code, ScanRejection.INVALID_CHECK_DIGIT, detail)
            )
        log.info("unrecognised scan (%d characters): %s", len(raw), scan.detail)
        return events + self._feed(BadScan(shown(raw), ScanRejection.UNRECOGNISED, scan.detail))

    def reject(self, text: str, detail: str) -> list[Event]:
        """Input that never was a scan (not text, far too long): refuse it plainly."""
        events = self._assess()
        log.info("rejected input: %s", detail)
        return events + self._feed(BadScan(shown(text), ScanRejection.UNRECOGNISED, detail))

    def done(self) -> list[Event]:
        return self._assess() + self._feed(Done())

    def tick(self) -> list[Event]:
        return self._assess() + self._feed(Tick())

    def still_here(self) -> list[Event]:
        return self._assess() + self._feed(StillHere())

    def clear_session(self) -> list[Event]:
        """Staff end the session in progress (the staff screen, `kiosk staff clear-session`)."""
        return self._feed(ClearSession())

    def end_of_input(self) -> list[Event]:
        return self._feed(EndOfInput())

    def shutdown(self) -> list[Event]:
        """The kiosk is being stopped: the session in progress ends, said as such."""
        return self._feed(Shutdown())

    def deadline(self) -> timedelta | None:
        """When the session times out, on the clock's monotonic time (never the wall's)."""
        return session_deadline(self.state, self.rules)

    def close(self) -> None:
        self._snapshots.close()
        if self.spool is not None:
            self.spool.close()

    # Carrying out the core's decisions -----------------------------------------------------

    def _feed(self, event: Input) -> list[Event]:
        transition = step(self.state, event, self.clock.now(), self.rules, self.clock.monotonic())
        self.state = transition.state
        events = list(transition.events)
        if transition.store is not None:
            events += self._store(transition.store)
        return events

    def _store(self, request: Checkout) -> list[Event]:
        if self.spool is None:
            return self._feed(CheckoutFailed(self._storage_problem or "no spool"))
        try:
            stored = self.spool.record_checkout(request, self.rules.kiosk_id, self.rules.timezone)
        except StorageError as exc:
            log.error("checkout of item %s NOT stored: %s", mask(request.item), exc)
            self._storage_problem = str(exc)
            self._service_is(OutOfServiceReason.STORAGE_ERROR.value, str(exc))
            return self._feed(CheckoutFailed(str(exc)))
        log.info(
            "checkout #%d stored: patron %s item %s due %s",
            stored.seq,
            mask(request.patron),
            mask(request.item),
            request.due_date,
        )
        return self._feed(CheckoutStored(stored))

    def _patron(self, barcode: str) -> list[Event]:
        reader = self._snapshots.reader
        if reader is None:
            return self._feed(ServiceDown(OutOfServiceReason.NO_SNAPSHOT, "no snapshot"))
        try:
            record = self._snapshots.lookup_patron(barcode)
        except SnapshotUnreadable:
            return self._snapshot_down()
        record = card_record(barcode, record, reader.mode)
        outstanding, session_id = self._outstanding(barcode), self._new_id()
        events = self._feed(PatronScan(barcode, record, outstanding, session_id))
        if self.state.session is not None and self.state.session.session_id == session_id:
            self._session_base = (session_id, outstanding)
        return events

    def _item_or_card(self, scan: Scan, raw: str) -> list[Event]:
        """A scan that fits the item rule, or both rules. During a session a staff card or a
        card in the patron snapshot is never lent as an item, whatever the rules say; a code
        that fits both rules is told apart by the snapshots (README, barcodes.overlap)."""
        code, in_session = scan.code, self.state.session is not None
        if not in_session and not scan.fits_both:
            return self._feed(ItemScan(code, 0))  # refused: no patron yet
        try:
            # At Welcome a staff card has opened the PIN pad already.
            staff = in_session and self._is_staff(raw)
            card = staff or self._snapshots.lookup_patron(code) is not None
        except SnapshotUnreadable as exc:
            down = self._snapshot_down()  # a session carries on: this one scan is refused
            return down + self._feed(BadScan(code, ScanRejection.CARD_OR_ITEM, str(exc)))
        if in_session and card:
            detail = "a staff card" if staff else "a card in the patron snapshot"
            log.info("scan %s refused as an item: it is %s", mask(code), detail)
            return self._feed(BadScan(code, ScanRejection.LIBRARY_CARD, f"{detail}, not an item"))
        item = self._snapshots.item(code)
        if scan.fits_both:
            reader = self._snapshots.reader
            deny = reader is not None and reader.mode is SnapshotMode.DENY
            listed = Listed(
                card=card,
                item=item is not None,
                item_list=self._snapshots.has_item_list,
                deny_list=deny,
            )
            kind = card_or_item(listed, in_session=in_session)
            if kind is None:
                detail = (
                    "fits both the patron and the item barcode rule, and with a deny list "
                    "only an item snapshot tells a book from a card (kiosk snapshot import-items)"
                )
                log.warning("scan %s refused: it %s", mask(code), detail)
                return self._feed(BadScan(code, ScanRejection.CARD_OR_ITEM, detail))
            if kind is ScanKind.PATRON and not in_session:
                return self._patron(code)
            if kind is ScanKind.PATRON:
                detail = "fits both barcode rules and is not in the item snapshot: not lent"
                log.info("scan %s refused: it %s", mask(code), detail)
                return self._feed(BadScan(code, ScanRejection.UNRECOGNISED, detail))
        return self._feed(ItemScan(code, self._session_outstanding(), item))

    def _is_staff(self, raw: str) -> bool:
        return self._is_staff_card is not None and self._is_staff_card(raw.strip())

    def _snapshot_down(self) -> list[Event]:
        problem = self._snapshots.problem or "no snapshot"
        return self._feed(ServiceDown(OutOfServiceReason.NO_SNAPSHOT, problem))

    def _session_outstanding(self) -> int:
        """The session patron's checkouts not yet handed over (0: no session)."""
        session = self.state.session
        if session is None:
            return 0
        if self._session_base is not None and self._session_base[0] == session.session_id:
            return self._session_base[1] + len(session.items)
        return self._outstanding(session.patron)

    def _outstanding(self, patron: str | None) -> int:
        if patron is None or self.rules.patron_policy.max_items_per_patron <= 0:
            return 0
        if self.spool is None:
            raise StorageError(self._storage_problem or "no spool")
        return self.spool.outstanding_for(patron)

    # Is the station in service? -------------------------------------------------------------

    def _assess(self) -> list[Event]:
        # A spool that can store again first, so that what staff set meanwhile (a pause, a
        # cleared session) is read at this very input, before anyone is let in.
        self._recover_storage()
        paused, events = self._staff_settings()
        availability = self._availability(paused)
        self._service_is(
            availability.reason.value if availability.reason else None, availability.detail
        )
        if availability.reason is None:
            self._logged_problem = None
            assert self._snapshots.reader is not None
            info = self._snapshots.reader.info
            deny = info.mode is SnapshotMode.DENY
            return events + self._feed(
                ServiceUp(info.rows, info.built_at, availability.stale, deny)
            )
        if availability.detail != self._logged_problem:
            if availability.reason is OutOfServiceReason.PAUSED:  # staff meant it: no alarm
                detail = f" ({availability.detail})" if availability.detail else ""
                log.info("out of service: paused by staff%s", detail)
            else:
                log.warning("out of service: %s", availability.detail)
            self._logged_problem = availability.detail
        return events + self._feed(ServiceDown(availability.reason, availability.detail))

    def _staff_settings(self) -> tuple[str | None, list[Event]]:
        """What staff set from outside (a `kiosk staff` command): the pause message, and a
        special due date, fed to the core when it changes."""
        if self.spool is None or self._storage_problem is not None:
            return None, []
        try:
            values = self.spool.settings(
                (PAUSED_SETTING, SPECIAL_DUE_SETTING, CLEAR_SESSION_SETTING)
            )
        except StorageError as exc:
            log.error("staff settings cannot be read: %s", exc)
            return None, []
        special_text = values.get(SPECIAL_DUE_SETTING)
        try:
            special = date.fromisoformat(special_text) if special_text else None
        except ValueError:
            log.error("ignoring a special due date that is not a date: %r", special_text)
            special = None
        events: list[Event] = []
        if special != self.state.special_due:
            log.info("special due date: %s", special or "none")
            events = self._feed(SpecialDueSet(special))
        request = values.get(CLEAR_SESSION_SETTING, "")
        if self._clear_request is None:
            self._clear_request = request  # a request from before this start is not replayed
        elif request != self._clear_request:
            self._clear_request = request
            log.info("staff cleared the session")
            events += self._feed(ClearSession())
        return values.get(PAUSED_SETTING), events

    def _service_is(self, reason: str | None, detail: str) -> None:
        """Tell the audit trail when the station goes out of service or comes back."""
        if reason != self._service_reason:
            self._service_reason = reason
            if self._on_service_change is not None:
                self._on_service_change(reason, detail)

    def _recover_storage(self) -> None:
        if self._storage_problem is not None and self.spool is not None:
            try:
                self.spool.probe()
            except StorageError as exc:
                self._storage_problem = str(exc)
            else:
                log.warning("the spool can be written again")
                self._storage_problem = None

    def _availability(self, paused: str | None = None) -> Availability:
        """After _recover_storage (in _assess): a broken spool is probed once per input."""
        self._snapshots.refresh()
        reader = self._snapshots.reader
        return assess(
            storage_problem=self._storage_problem,
            paused=paused,
            snapshot_built_at=reader.info.built_at if reader else None,
            snapshot_problem=self._snapshots.problem,
            now=self.clock.now(),
            limits=self.limits,
        )


def shown(text: str, limit: int = 64) -> str:
    """Garbage input as it may be shown and logged: no control characters, bounded length."""
    cleaned = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"
