"""Staff actions, one place for both the staff screen and the `kiosk staff` commands.

Each action opens what it needs (the spool, the snapshot store), does one thing, records it
in the audit trail, and returns an outcome in words staff read. None of them deletes a
checkout: the only removal is the retention rule, for archived periods long handed over.

`StaffDesk` is the one object callers hold; it signs staff in and hands each action to the
module that carries it out:

- staff_context: `Outcome`, and what every action needs (config, actor, clock, audit, spool)
- staff_status: the status staff read (snapshot, period, devices, library system, PIN pads)
- staff_settings: special due date, pause and resume, reloading the snapshot
- staff_upload: an upload now, and staff's answer for a checkout sent with no answer
- staff_handover: USB export, a new offline period, the retention rule
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.exports.drives import Drive, find_drives
from kiosk.runtime import staff_handover, staff_settings, staff_upload
from kiosk.runtime.signin import Pad, PinCheck, PinLock, SignIn
from kiosk.runtime.staff_cards import StaffCards
from kiosk.runtime.staff_context import DeskContext, Outcome
from kiosk.runtime.staff_settings import MAX_SPECIAL_DUE_DAYS
from kiosk.runtime.staff_status import (
    DeviceLine,
    StaffStatus,
    age_words,
    human_age,
    plural,
    staff_status,
)
from kiosk.storage.spool import UploadState

__all__ = [
    "MAX_SPECIAL_DUE_DAYS",
    "DeviceLine",
    "Outcome",
    "StaffDesk",
    "StaffStatus",
    "age_words",
    "human_age",
    "plural",
]


class StaffDesk(DeskContext):
    def __init__(
        self,
        config: KioskConfig,
        *,
        actor: str,
        now: Callable[[], datetime],
        find: Callable[[list[Path]], list[Drive]] = find_drives,
    ) -> None:
        super().__init__(config, actor=actor, now=now)
        self._find = find
        self._signin = SignIn(config.staff, config.data_dir, now=self.now, record=self.record)
        self._cards: StaffCards | None = None  # read when first asked

    # Signing in -------------------------------------------------------------------------------

    def staff_cards(self) -> StaffCards:
        if self._cards is None:
            self._cards = StaffCards(self.config.data_dir, self.config.staff.card_hashes())
        return self._cards

    def is_staff_card(self, scan: str) -> bool:
        return self.staff_cards().is_staff_card(scan)

    def pin_lock(self, *, by_card: bool = False) -> PinCheck | None:
        """The PIN pad (the one a staff card opens, by_card) is locked: until when."""
        return self._signin.lock(Pad.CARD if by_card else Pad.CORNER)

    def check_pin(self, pin: str, *, by_card: bool = False) -> PinCheck:
        return self._signin.check_pin(pin, Pad.CARD if by_card else Pad.CORNER)

    def pin_locks(self) -> tuple[PinLock, ...]:
        return self._signin.locks()

    def unlock(self) -> Outcome:
        """Lift any PIN lockout now (`kiosk staff unlock`, the staff screen); audited."""
        lifted = self._signin.unlock()
        if not lifted:
            return Outcome(True, "No PIN pad is locked.")
        now = self.now()
        what = "; ".join(f"{lock.name} (locked {lock.reason(now)})" for lock in lifted)
        return Outcome(True, f"Unlocked {what}.", ("Wrong PINs are counted from zero again.",))

    # Status -----------------------------------------------------------------------------------

    def status(self) -> StaffStatus:
        return staff_status(self, self.pin_locks)

    # The library system ----------------------------------------------------------------------

    def upload(self) -> Outcome:
        """Send what the library system does not have yet (SIP2), and report."""
        return staff_upload.upload(self)

    def waiting_for_staff(self) -> list[UploadState]:
        """Checkouts sent with no answer that staff have not answered for, oldest first."""
        return staff_upload.waiting_for_staff(self)

    def resolve_unanswered(self, references: Sequence[str], answer: str) -> Outcome:
        """Staff's answer (CONFIRMED or RESEND) for checkouts sent with no answer; see
        staff_upload.resolve_unanswered."""
        return staff_upload.resolve_unanswered(self, references, answer)

    # Settings a running kiosk picks up, and the snapshot ---------------------------------------

    def set_special_due(self, due: date | None) -> Outcome:
        return staff_settings.set_special_due(self, due)

    def pause(self, message: str = "") -> Outcome:
        return staff_settings.pause(self, message)

    def resume(self) -> Outcome:
        return staff_settings.resume(self)

    def reload_snapshot(self, progress: Callable[[int, int], None] | None = None) -> Outcome:
        return staff_settings.reload_snapshot(self, progress)

    # Handing over -------------------------------------------------------------------------------

    def drives(self) -> list[Drive]:
        return [d for d in self._find(self.config.staff.export_roots) if not d.read_only]

    def export_to(self, drive: Drive) -> Outcome:
        """Every export format plus a summary into a new folder on the drive, read back."""
        return staff_handover.export_to(self, drive)

    def start_new_period(self, *, expected_checkouts: int) -> Outcome:
        return staff_handover.start_new_period(self, expected_checkouts=expected_checkouts)

    def apply_retention(self) -> Outcome | None:
        """Remove archived periods' checkouts handed over more than retention_days ago."""
        return staff_handover.apply_retention(self)
