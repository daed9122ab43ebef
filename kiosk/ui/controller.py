"""The glue between the presenter and the shell: engine batches in, effects carried out, a
ScreenView out. No Kivy here; the Kivy app calls `pump` when woken and draws the result,
then sleeps until `next_change` (or until the engine, the printer or a staff job wakes it).
"""

from __future__ import annotations

import logging
from datetime import timedelta, tzinfo

from hardware.wedge import WedgeDecoder
from kiosk.domain.events import OutOfService, OutOfServiceReason, StaffCardScanned
from kiosk.domain.loans import LoanRules
from kiosk.presenter import presenter as p
from kiosk.presenter import staff as s
from kiosk.presenter.i18n import Language
from kiosk.presenter.receipt import receipt_document, sample_receipt
from kiosk.presenter.timers import earliest, patron_next_change, staff_next_change
from kiosk.runtime.clock import Clock
from kiosk.runtime.receipts import ReceiptDesk
from kiosk.runtime.staff_jobs import DrivesAnswer, FactsAnswer, JobAnswer, PinAnswer, StaffJobs
from kiosk.runtime.worker import EngineWorker
from kiosk.ui.sounds import SoundPlayer

log = logging.getLogger(__name__)


class KioskController:
    def __init__(
        self,
        *,
        worker: EngineWorker,
        settings: p.Settings,
        languages: dict[str, Language],
        clock: Clock,
        sounds: SoundPlayer,
        receipts: ReceiptDesk,
        kiosk_id: str,
        timezone: tzinfo,
        wedge: WedgeDecoder | None = None,
        staff: StaffJobs | None = None,
        staff_idle: timedelta = timedelta(seconds=60),
        loan_rules: LoanRules | None = None,
    ) -> None:
        self.worker = worker
        self.settings = settings
        self.languages = languages
        self.clock = clock
        self.sounds = sounds
        self.receipts = receipts
        self.kiosk_id = kiosk_id
        self.timezone = timezone  # receipts show the library's local time
        self.wedge = wedge or WedgeDecoder()
        self.state = p.initial_state(settings)
        self._engine_lost = False
        self.staff = staff  # None: staff mode is not set up (no PIN configured)
        self.staff_idle = staff_idle
        self.loan_rules = loan_rules
        self.staff_state = s.StaffState()
        self._test_print = False
        # Behind the staff screen nobody may start a session: the inbox drops every
        # scanner's scans and rejected reads while it is up.
        worker.inbox.takes_scans = lambda: not self.in_staff_mode

    @property
    def in_staff_mode(self) -> bool:
        return self.staff_state.active

    @property
    def language(self) -> Language:
        return self.languages[self.state.language]

    # Input from the window ----------------------------------------------------------------

    def key(self, text: str, at: float) -> None:
        self.wedge.key(text, at)

    def enter(self, at: float) -> None:
        scan = self.wedge.enter(at)
        if scan is not None:
            self.scan(scan)

    def input_read(self, at: float) -> None:
        """The window read its input queue empty at `at` (see WedgeDecoder.caught_up)."""
        self.wedge.caught_up(at)

    def scan(self, text: str) -> None:
        """A scan from the keyboard wedge (the engine drops it during staff mode)."""
        self.worker.scan(text)

    def open_staff(self, *, by_card: bool = False) -> None:
        """The hidden corner was held, or a staff card was scanned (by_card): the PIN pad.
        Each counts its own wrong PINs, so the corner's lock never keeps a card out."""
        if self.staff is None:
            log.info("staff mode was asked for, but no staff PIN is configured")
            return
        lock = self.staff.pin_lock(by_card=by_card)
        locked_until = lock.locked_until if lock else None
        self.staff_state = s.open_pad(
            self.staff_state,
            self.clock.now(),
            self.clock.monotonic(),
            locked_until,
            by_card=by_card,
            cards=self.staff.cards,
        )

    def staff_press(self, press: s.StaffPress, arg: str = "") -> None:
        self._staff(s.on_press(self.staff_state, press, arg, self.clock.monotonic()))

    def press(self, action: p.Action) -> None:
        update = p.on_press(self.state, action, self.clock.monotonic(), self.settings)
        self._apply(update)

    # When woken ---------------------------------------------------------------------------

    def pump(self) -> p.ScreenView | s.StaffScreenView:
        # Screen timers and the print timeout run on the monotonic clock; `now`, the wall
        # clock, is for what staff mode shows (today, a PIN lock's end).
        now, at = self.clock.now(), self.clock.monotonic()
        for batch in self.worker.drain():
            for event in batch.events:
                if isinstance(event, StaffCardScanned):
                    self.open_staff(by_card=True)
                self._apply(p.on_event(self.state, event, at, self.settings))
            self.state = p.on_deadline(self.state, batch.deadline)
        if self.worker.failed is not None and not self._engine_lost:
            self._engine_lost = True  # the engine thread died: never pretend to lend
            lost = OutOfService(OutOfServiceReason.STORAGE_ERROR, "the engine stopped")
            self._apply(p.on_event(self.state, lost, at, self.settings))
        printed = self.receipts.result(at)
        if printed is not None and self._test_print:
            self._test_print = False
            if self.staff is not None:
                self.staff.desk.record("staff.test_receipt", {"printed": printed})
            self._staff(
                s.on_result(
                    self.staff_state, s.Job.TEST_RECEIPT, _printed(printed, self.receipts), at
                )
            )
        elif printed is not None:
            self.state = p.on_receipt(self.state, printed, at, self.settings)
        self.state = p.on_tick(self.state, at, self.settings)
        if self.staff is not None:
            self._staff_answers(at)
            self._staff(s.on_tick(self.staff_state, now, at, self.staff_idle))
        if self.in_staff_mode:
            today = now.astimezone(self.timezone).date()
            return s.view(self.staff_state, at, today, self.staff_idle, self.loan_rules)
        return p.view(self.state, at, self.language, self.settings)

    def next_change(self) -> timedelta | None:
        """When the screen next changes by itself (monotonic), None if only an input or an
        answer changes it: the screen timers, the countdown's figures, staff mode's idle
        close and PIN lock, a print's timeout."""
        now, at = self.clock.now(), self.clock.monotonic()
        if self.in_staff_mode:
            shown = staff_next_change(self.staff_state, now, at, self.staff_idle)
        else:
            shown = patron_next_change(self.state, at, self.settings)
        # The patron screens' timers run on behind the staff screen, as `pump` ticks them.
        behind = patron_next_change(self.state, at, self.settings) if self.in_staff_mode else None
        return earliest(shown, behind, self.receipts.deadline())

    def close(self) -> None:
        self.receipts.close()
        if self.staff is not None:
            self.staff.close()

    # Staff mode -----------------------------------------------------------------------------

    def _staff_answers(self, at: timedelta) -> None:
        assert self.staff is not None
        for answer in self.staff.drain():
            if isinstance(answer, PinAnswer):
                check = answer.check
                update = s.on_pin_result(
                    self.staff_state, check.result, check.tries_left, check.locked_until, at
                )
                self._staff(update)
            elif isinstance(answer, FactsAnswer):
                self.staff_state = s.on_facts(self.staff_state, answer.facts)
            elif isinstance(answer, DrivesAnswer):
                self.staff_state = s.on_drives(self.staff_state, answer.names)
            elif isinstance(answer, JobAnswer):
                self._staff(s.on_result(self.staff_state, answer.job, answer.result, at))

    def _staff(self, update: s.Update) -> None:
        self.staff_state = update.state
        for effect in update.effects:
            if self.staff is None:
                break
            if isinstance(effect, s.CheckPin):
                self.staff.check_pin(effect.pin, by_card=effect.by_card)
            elif isinstance(effect, s.Run) and effect.job is s.Job.TEST_RECEIPT:
                self._print_test()
            elif isinstance(effect, s.Run):
                if effect.job is s.Job.CLEAR_SESSION:
                    self.state = p.clear(self.state, self.settings)  # a stuck screen, too
                    self._test_print = False
                self.staff.run(effect.job, effect.arg)

    def _print_test(self) -> None:
        now, at = self.clock.now(), self.clock.monotonic()
        if self.receipts.printer is None:
            result = s.Result(False, "No receipt printer is configured.")
            self._staff(s.on_result(self.staff_state, s.Job.TEST_RECEIPT, result, at))
            return
        if self.receipts.printing:
            result = s.Result(False, "A patron's receipt is printing: try again in a moment.")
            self._staff(s.on_result(self.staff_state, s.Job.TEST_RECEIPT, result, at))
            return
        document = sample_receipt(
            self.settings.library, self.kiosk_id, now.astimezone(self.timezone), qr=False
        )
        self._test_print = True
        self.receipts.start(document, at)

    def _apply(self, update: p.Update) -> None:
        self.state = update.state
        for effect in update.effects:
            if isinstance(effect, p.PlaySound):
                self.sounds.play(effect.sound)
            elif isinstance(effect, p.SendToEngine):
                if effect.action is p.Action.DONE:
                    self.worker.done()
                else:
                    self.worker.still_here()
            elif isinstance(effect, p.PrintReceipt):
                document = receipt_document(
                    effect.session,
                    library=self.settings.library,
                    branch=self.settings.branch,
                    kiosk_id=self.kiosk_id,
                    printed_at=self.clock.now().astimezone(self.timezone),
                    lang=self.language,
                )
                self.receipts.start(document, self.clock.monotonic())


def _printed(printed: bool, receipts: ReceiptDesk) -> s.Result:
    if printed:
        return s.Result(True, "The test receipt was printed.")
    error = receipts.last_error
    return s.Result(False, f"The test receipt was NOT printed: {error or 'the printer failed'}.")
