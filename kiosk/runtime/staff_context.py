"""What every staff action needs, and what each one answers.

`DeskContext` holds the config, who acts, the clock and the audit trail, and opens the spool
for one action; `StaffDesk` is one. The actions (kiosk.runtime.staff_*) take it as `desk`
and return an `Outcome` in words staff read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.config import KioskConfig
from kiosk.errors import KioskError
from kiosk.storage.audit import AuditLog
from kiosk.storage.spool import Spool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str  # one line for staff
    lines: tuple[str, ...] = ()  # details (files written, what to do next)


class DeskContext:
    def __init__(self, config: KioskConfig, *, actor: str, now: Callable[[], datetime]) -> None:
        self.config = config
        self.actor = actor
        self.clock = now  # as given: the upload and the snapshot fetch take it so
        self._audit = AuditLog(config.data_dir, anchored=config.kiosk.spool_id is not None)

    def now(self) -> datetime:
        return self.clock().astimezone(self.config.tz)

    def record(self, action: str, details: dict[str, Any]) -> None:
        """Audit one staff action. A trail that cannot be written is logged; the action
        itself is not undone."""
        try:
            self._audit.append(action, actor=self.actor, at=self.now(), details=details)
        except KioskError as exc:
            log.error("the audit trail could not be written: %s", exc)

    @contextmanager
    def spool(self, *, create: bool = False) -> Iterator[Spool]:
        spool = Spool.open(self.config.data_dir, create=create, anchor=self.config.kiosk.spool_id)
        try:
            yield spool
        finally:
            spool.close()
