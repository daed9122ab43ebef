"""The patron screens' types: the screens, presses, sounds and notices; the settings; the
state the presenter keeps; the effects it asks for; and the view model the Kivy views draw.

Every time here is a monotonic instant (runtime.clock), as in kiosk.presenter.presenter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from enum import Enum

from kiosk.domain.checkout import SpooledCheckout
from kiosk.domain.events import OutOfServiceReason, SessionEnd
from kiosk.domain.patrons import PatronRefusal


class Screen(Enum):
    STARTING = "starting"
    WELCOME = "welcome"
    CHECKOUT = "checkout"
    FINISH = "finish"
    GOODBYE = "goodbye"
    REFUSED = "refused"
    OUT_OF_SERVICE = "out_of_service"


class Action(Enum):
    DONE = "done"
    STILL_HERE = "still_here"
    PRINT_RECEIPT = "print_receipt"
    NO_RECEIPT = "no_receipt"
    LANGUAGE = "language"


class Sound(Enum):
    SUCCESS = "success"
    PROBLEM = "problem"


class Receipt(Enum):
    NONE = "none"
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"


class Notice(Enum):
    DUPLICATE = "duplicate"
    NO_PATRON = "no_patron"
    SESSION_LIMIT = "session_limit"
    PATRON_LIMIT = "patron_limit"
    MISREAD = "misread"
    NOT_AN_ITEM = "not_an_item"
    LIBRARY_CARD = "library_card"
    CARD_OR_ITEM = "card_or_item"
    HELD_FOR_ANOTHER = "held_for_another"
    NOT_LENT_HERE = "not_lent_here"


@dataclass(frozen=True)
class Settings:
    library: str
    branch: str = ""
    languages: tuple[str, ...] = ("en", "es")
    show_fine_amounts: bool = False
    fines_limit: Decimal | None = None
    currency: str = "USD"
    receipt_mode: str = "ask"  # ask | always | never
    printer: bool = False  # a receipt printer is configured
    countdown: timedelta = timedelta(seconds=10)
    notice: timedelta = timedelta(seconds=4)
    refused: timedelta = timedelta(seconds=10)
    finish: timedelta = timedelta(seconds=20)
    goodbye: timedelta = timedelta(seconds=8)

    @property
    def offers_receipts(self) -> bool:
        return self.printer and self.receipt_mode != "never"


@dataclass(frozen=True)
class FinishedSession:
    session_id: str
    patron: str
    loans: tuple[SpooledCheckout, ...]
    reason: SessionEnd


@dataclass(frozen=True)
class UiState:
    screen: Screen = Screen.STARTING
    language: str = "en"
    patron: str = ""
    first_name: str = ""
    session_id: str = ""
    loans: tuple[SpooledCheckout, ...] = ()
    notice: Notice | None = None
    notice_until: timedelta | None = None  # monotonic, as every time in this module
    refusal: PatronRefusal | None = None
    refused_fines: Decimal | None = None
    out_of_service: OutOfServiceReason | None = None
    out_of_service_detail: str = ""
    finished: FinishedSession | None = None
    receipt: Receipt = Receipt.NONE
    screen_until: timedelta | None = None  # Finish, Goodbye and Refused go on by themselves
    deadline: timedelta | None = None  # when the engine will end the session


# Effects: what the shell does for the presenter ------------------------------------------------


@dataclass(frozen=True)
class PlaySound:
    sound: Sound


@dataclass(frozen=True)
class SendToEngine:
    action: Action  # DONE or STILL_HERE


@dataclass(frozen=True)
class PrintReceipt:
    session: FinishedSession


Effect = PlaySound | SendToEngine | PrintReceipt


@dataclass(frozen=True)
class Update:
    state: UiState
    effects: tuple[Effect, ...] = field(default_factory=tuple)


# What each screen shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class ButtonView:
    action: Action
    label: str
    primary: bool = True


@dataclass(frozen=True)
class LineView:
    item: str
    due: str


@dataclass(frozen=True)
class NoticeView:
    text: str


@dataclass(frozen=True)
class ScreenView:
    screen: Screen
    heading: str
    message: str = ""
    lines: tuple[LineView, ...] = ()
    count: str = ""
    banner: str = ""  # a special due date in force
    buttons: tuple[ButtonView, ...] = ()
    notice: NoticeView | None = None
    countdown: str = ""
    fine_print: str = ""
    library: str = ""
    language_button: ButtonView | None = None
    problem: bool = False  # drawn in the problem colour

    def texts(self) -> list[str]:
        """Every string on the screen (for tests: nothing may be left untranslated)."""
        out = [self.heading, self.message, self.count, self.banner, self.countdown]
        out += [self.fine_print, self.library]
        out += [b.label for b in self.buttons]
        out += [t for line in self.lines for t in (line.item, line.due)]
        if self.notice:
            out.append(self.notice.text)
        if self.language_button:
            out.append(self.language_button.label)
        return [t for t in out if t]
