"""The glue between the presenter and the shell: engine batches in, effects carried out, a
ScreenView out. No Kivy here; the Kivy app calls `pump` once a frame and draws the result.
"""

from __future__ import annotations

import logging
from datetime import tzinfo

from hardware.wedge import WedgeDecoder
from kiosk.domain.events import OutOfService, OutOfServiceReason
from kiosk.presenter import presenter as p
from kiosk.presenter.i18n import Language
from kiosk.presenter.receipt import receipt_document
from kiosk.runtime.clock import Clock
from kiosk.runtime.receipts import ReceiptDesk
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

    @property
    def language(self) -> Language:
        return self.languages[self.state.language]

    # Input from the window ----------------------------------------------------------------

    def key(self, text: str, at: float) -> None:
        self.wedge.key(text, at)

    def enter(self, at: float) -> None:
        scan = self.wedge.enter(at)
        if scan is not None:
            self.worker.scan(scan)

    def press(self, action: p.Action) -> None:
        update = p.on_press(self.state, action, self.clock.now(), self.settings)
        self._apply(update)

    # Once a frame --------------------------------------------------------------------------

    def pump(self) -> p.ScreenView:
        now = self.clock.now()
        for batch in self.worker.drain():
            for event in batch.events:
                self._apply(p.on_event(self.state, event, now, self.settings))
            self.state = p.on_deadline(self.state, batch.deadline)
        if self.worker.failed is not None and not self._engine_lost:
            self._engine_lost = True  # the engine thread died: never pretend to lend
            lost = OutOfService(OutOfServiceReason.STORAGE_ERROR, "the engine stopped")
            self._apply(p.on_event(self.state, lost, now, self.settings))
        printed = self.receipts.result(now)
        if printed is not None:
            self.state = p.on_receipt(self.state, printed, now, self.settings)
        self.state = p.on_tick(self.state, now, self.settings)
        return p.view(self.state, now, self.language, self.settings)

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
                self.receipts.start(document, self.clock.now())
