"""The screens as lines of text: what `kiosk run --headless --show text` prints (and so what
`make demo` shows). The words come from the same presenter and catalogues as the screens."""

from __future__ import annotations

from datetime import timedelta

from kiosk.domain.events import (
    Event,
    ItemCheckedOut,
    ItemRefused,
    ReceiptFailed,
    ReceiptPrinted,
    ScanRejected,
    SessionEnded,
)
from kiosk.presenter import presenter as p
from kiosk.presenter.i18n import Language


class TextScreen:
    def __init__(self, settings: p.Settings, language: Language) -> None:
        self.settings = settings
        self.language = language
        self.state = p.initial_state(settings)

    def show(self, event: Event, at: timedelta) -> list[str]:
        """`at`: a monotonic instant (the presenter's timers)."""
        self.state = p.on_event(self.state, event, at, self.settings).state
        view = p.view(self.state, at, self.language, self.settings)
        if isinstance(event, ReceiptPrinted):
            return ["    " + self.language._("Please take your receipt.")]
        if isinstance(event, ReceiptFailed):
            return ["    ! " + event.message]
        if isinstance(event, ItemCheckedOut):
            newest = view.lines[0]
            return [f"    + {newest.item}   {newest.due}"]
        if isinstance(event, ItemRefused | ScanRejected):
            return [f"    ! {view.notice.text}"] if view.notice else []
        if isinstance(event, SessionEnded) and view.screen not in (
            p.Screen.GOODBYE,
            p.Screen.FINISH,
        ):
            return []  # another card, or out of service: the next event says what is shown
        words = [view.heading, view.message, view.count, view.fine_print]
        return [f"[{view.screen.value}] " + "  ".join(w for w in words if w)]
