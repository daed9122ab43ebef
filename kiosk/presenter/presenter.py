"""The screens as a state machine: engine events, button presses and time in; what each
screen shows (a ScreenView) and what the shell must do (effects) out.

Pure: the time is an argument, strings come from the Language passed in. Every time here
(`at`, the screen timers, the session deadline) is a monotonic instant (runtime.clock): the
screens keep their schedule when NTP moves the wall clock. The Kivy views only
draw a ScreenView and report presses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum

from kiosk.domain.events import (
    Event,
    ItemCheckedOut,
    ItemRefusal,
    ItemRefused,
    OutOfService,
    OutOfServiceReason,
    PatronAccepted,
    PatronRefused,
    Ready,
    ScanRejected,
    ScanRejection,
    SessionEnd,
    SessionEnded,
)
from kiosk.domain.patrons import PatronRefusal
from kiosk.presenter.i18n import N_, NATIVE_NAMES, Language


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
class Loan:
    item: str
    due_date: date
    txn_id: str
    seq: int
    special_due: bool
    title: str = ""  # from the item snapshot; "" when the kiosk does not know the item

    @classmethod
    def of(cls, event: ItemCheckedOut) -> Loan:
        return cls(
            event.item,
            event.due_date,
            event.txn_id,
            event.seq,
            event.special_due,
            event.title or "",
        )


@dataclass(frozen=True)
class FinishedSession:
    session_id: str
    patron: str
    loans: tuple[Loan, ...]
    reason: SessionEnd


@dataclass(frozen=True)
class UiState:
    screen: Screen = Screen.STARTING
    language: str = "en"
    patron: str = ""
    first_name: str = ""
    session_id: str = ""
    loans: tuple[Loan, ...] = ()
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


def initial_state(settings: Settings) -> UiState:
    return UiState(language=settings.languages[0])


# Engine events --------------------------------------------------------------------------------


def on_event(state: UiState, event: Event, at: timedelta, settings: Settings) -> Update:
    if isinstance(event, Ready):
        return Update(_welcome(state, settings))
    if isinstance(event, OutOfService):
        down = replace(
            _welcome(state, settings),
            screen=Screen.OUT_OF_SERVICE,
            out_of_service=event.reason,
            out_of_service_detail=event.detail,
        )
        return Update(down)
    if isinstance(event, PatronAccepted):
        started = replace(
            state,
            screen=Screen.CHECKOUT,
            patron=event.patron,
            first_name=event.first_name,
            session_id=event.session_id,
            loans=(),
            notice=None,
            finished=None,
            receipt=Receipt.NONE,
            screen_until=None,
        )
        return Update(started, (PlaySound(Sound.SUCCESS),))
    if isinstance(event, PatronRefused):
        refused = replace(
            state,
            screen=Screen.REFUSED,
            refusal=event.reason,
            refused_fines=event.fines,
            notice=None,
            finished=None,
            screen_until=at + settings.refused,
        )
        return Update(refused, (PlaySound(Sound.PROBLEM),))
    if isinstance(event, ItemCheckedOut):
        added = replace(state, loans=(*state.loans, Loan.of(event)), notice=None)
        return Update(added, (PlaySound(Sound.SUCCESS),))
    if isinstance(event, ItemRefused):
        return _notice(state, ITEM_NOTICE[event.reason], at, settings)
    if isinstance(event, ScanRejected):
        return _notice(state, SCAN_NOTICE[event.reason], at, settings)
    if isinstance(event, SessionEnded):
        return _session_ended(state, event, at, settings)
    return Update(state)


def _notice(state: UiState, kind: Notice, at: timedelta, settings: Settings) -> Update:
    if state.screen in (Screen.OUT_OF_SERVICE, Screen.STARTING):
        return Update(state)
    shown = replace(state, notice=kind, notice_until=at + settings.notice)
    return Update(shown, (PlaySound(Sound.PROBLEM),))


def _session_ended(
    state: UiState, event: SessionEnded, at: timedelta, settings: Settings
) -> Update:
    finished = FinishedSession(event.session_id, event.patron, state.loans, event.reason)
    cleared = replace(state, patron="", first_name="", loans=(), notice=None, deadline=None)
    if event.reason is SessionEnd.CLEARED:
        return Update(_welcome(state, settings))
    if event.reason in (SessionEnd.NEW_PATRON, SessionEnd.OUT_OF_SERVICE, SessionEnd.END_OF_INPUT):
        return Update(cleared)  # the next event says what the screen shows
    if not finished.loans or not settings.offers_receipts:
        return Update(_goodbye(cleared, finished, Receipt.NONE, at, settings))
    if settings.receipt_mode == "always":
        printing = _goodbye(cleared, finished, Receipt.PRINTING, at, settings)
        return Update(printing, (PrintReceipt(finished),))
    if event.reason is SessionEnd.TIMEOUT:
        return Update(_goodbye(cleared, finished, Receipt.NONE, at, settings))  # walked away
    asking = replace(
        cleared, screen=Screen.FINISH, finished=finished, screen_until=at + settings.finish
    )
    return Update(asking)


def _goodbye(
    state: UiState, finished: FinishedSession, receipt: Receipt, at: timedelta, settings: Settings
) -> UiState:
    return replace(
        state,
        screen=Screen.GOODBYE,
        finished=finished,
        receipt=receipt,
        screen_until=at + settings.goodbye,
    )


def _welcome(state: UiState, settings: Settings) -> UiState:
    """Back to the start, in the first language, for the next patron."""
    return UiState(screen=Screen.WELCOME, language=settings.languages[0])


def clear(state: UiState, settings: Settings) -> UiState:
    """Staff cleared a stuck screen (a receipt that never came back, a session left open):
    back to Welcome, unless the station is out of service or starting."""
    if state.screen in (Screen.OUT_OF_SERVICE, Screen.STARTING, Screen.WELCOME):
        return state
    return _welcome(state, settings)


def on_deadline(state: UiState, deadline: timedelta | None) -> UiState:
    return state if state.deadline == deadline else replace(state, deadline=deadline)


# Presses, time and the printer ----------------------------------------------------------------


def on_press(state: UiState, action: Action, at: timedelta, settings: Settings) -> Update:
    if action is Action.LANGUAGE:
        languages = settings.languages
        following = languages[(languages.index(state.language) + 1) % len(languages)]
        return Update(replace(state, language=following))
    if action in (Action.DONE, Action.STILL_HERE) and state.screen is Screen.CHECKOUT:
        return Update(state, (SendToEngine(action),))
    if state.screen is Screen.FINISH and state.finished is not None:
        if action is Action.PRINT_RECEIPT:
            printing = _goodbye(state, state.finished, Receipt.PRINTING, at, settings)
            return Update(printing, (PrintReceipt(state.finished),))
        if action is Action.NO_RECEIPT:
            return Update(_goodbye(state, state.finished, Receipt.NONE, at, settings))
    return Update(state)


def on_tick(state: UiState, at: timedelta, settings: Settings) -> UiState:
    if state.notice_until is not None and at >= state.notice_until:
        state = replace(state, notice=None, notice_until=None)
    if state.screen_until is None or at < state.screen_until:
        return state
    if state.screen is Screen.FINISH and state.finished is not None:
        return _goodbye(state, state.finished, Receipt.NONE, at, settings)
    if state.screen is Screen.GOODBYE and state.receipt is Receipt.PRINTING:
        return state  # wait for the printer's answer (it always comes: see ReceiptDesk)
    if state.screen in (Screen.GOODBYE, Screen.REFUSED):
        return _welcome(state, settings)
    return state


def on_receipt(state: UiState, printed: bool, at: timedelta, settings: Settings) -> UiState:
    if state.screen is not Screen.GOODBYE or state.receipt is not Receipt.PRINTING:
        return state
    outcome = Receipt.PRINTED if printed else Receipt.FAILED
    return replace(state, receipt=outcome, screen_until=at + settings.goodbye)


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


def view(state: UiState, at: timedelta, lang: Language, settings: Settings) -> ScreenView:
    _ = lang._
    library = settings.library + (f" - {settings.branch}" if settings.branch else "")
    language_button = _language_button(state, lang, settings)
    notice = NoticeView(_(NOTICE_TEXT[state.notice])) if state.notice else None
    base = ScreenView(
        screen=state.screen,
        heading="",
        library=library,
        notice=notice,
        language_button=language_button,
    )
    if state.screen is Screen.STARTING:
        return replace(base, heading=_("Starting…"), language_button=None)
    if state.screen is Screen.WELCOME:
        return replace(
            base,
            heading=_("Scan your library card"),
            message=_("Then scan each item you want to borrow."),
        )
    if state.screen is Screen.CHECKOUT:
        return _checkout(base, state, at, lang, settings)
    if state.screen is Screen.FINISH:
        return replace(
            base,
            heading=_("Would you like a receipt?"),
            message=_summary(state.finished, lang),
            buttons=(
                ButtonView(Action.PRINT_RECEIPT, _("Print a receipt")),
                ButtonView(Action.NO_RECEIPT, _("No receipt"), primary=False),
            ),
        )
    if state.screen is Screen.GOODBYE:
        return _goodbye_view(base, state, lang)
    if state.screen is Screen.REFUSED:
        return replace(
            base,
            heading=_("Sorry, you cannot borrow with this card today"),
            message=_refusal_text(state, lang, settings),
            fine_print=_("Please see staff at the desk."),
            problem=True,
        )
    reason = state.out_of_service
    staff = _(OUT_OF_SERVICE_TEXT[reason]) if reason else ""
    message = _("Please see staff at the desk. We are sorry for the trouble.")
    if reason is OutOfServiceReason.PAUSED:
        # Staff wrote this message for patrons; the small print says who paused it.
        message = state.out_of_service_detail or message
        detail = staff
    elif state.out_of_service_detail:
        detail = f"{staff} {state.out_of_service_detail}"
    else:
        detail = staff
    return replace(
        base,
        heading=_("This station is not available right now"),
        message=message,
        fine_print=detail,
        notice=None,
        language_button=language_button,
    )


def _language_button(state: UiState, lang: Language, settings: Settings) -> ButtonView | None:
    if len(settings.languages) < 2:
        return None
    languages = settings.languages
    following = languages[(languages.index(state.language) + 1) % len(languages)]
    return ButtonView(Action.LANGUAGE, NATIVE_NAMES.get(following, following), primary=False)


def _checkout(
    base: ScreenView, state: UiState, at: timedelta, lang: Language, settings: Settings
) -> ScreenView:
    _ = lang._
    if state.first_name:
        heading = _("Hello, {name}!").format(name=state.first_name)
    else:
        heading = _("Hello! (card ending {digits})").format(digits=state.patron[-4:])
    lines = tuple(
        LineView(
            # The title when the item snapshot has it: patrons know their items by title.
            shorten(loan.title) if loan.title else _("Item {barcode}").format(barcode=loan.item),
            _("Due {date}").format(date=lang.day(loan.due_date)),
        )
        for loan in reversed(state.loans)  # the newest on top, where the eye is
    )
    n = len(state.loans)
    count = lang.n_("{n} item checked out", "{n} items checked out", n).format(n=n) if n else ""
    specials = {loan.due_date for loan in state.loans if loan.special_due}
    banner = ""
    if specials:
        banner = _("Special due date: everything is due {date}.").format(
            date=lang.day(max(specials))
        )
    countdown = ""
    buttons = [ButtonView(Action.DONE, _("Done"))]
    if state.deadline is not None and settings.countdown.total_seconds() > 0:
        left = (state.deadline - at).total_seconds()
        if 0 < left <= settings.countdown.total_seconds():
            seconds = max(1, int(left + 0.999))
            countdown = lang.n_(
                "Are you still there? This session ends in {n} second.",
                "Are you still there? This session ends in {n} seconds.",
                seconds,
            ).format(n=seconds)
            buttons.insert(0, ButtonView(Action.STILL_HERE, _("I'm still here"), primary=False))
    return replace(
        base,
        heading=heading,
        message=_("Scan your items one at a time."),
        lines=lines,
        count=count,
        banner=banner,
        buttons=tuple(buttons),
        countdown=countdown,
    )


TITLE_LIMIT = 60  # characters: a row of the item list has room for about one line


def shorten(title: str, limit: int = TITLE_LIMIT) -> str:
    """A title that fits a row of the list: cut at a word boundary, with an ellipsis."""
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" /:;,.-") + "…"


def _summary(finished: FinishedSession | None, lang: Language) -> str:
    if finished is None or not finished.loans:
        return lang._("No items were checked out.")
    n = len(finished.loans)
    dues = sorted({loan.due_date for loan in finished.loans})
    if len(dues) == 1:
        text = lang.n_("{n} item, due {date}", "{n} items, due {date}", n)
    else:
        text = lang.n_("{n} item, first due {date}", "{n} items, first due {date}", n)
    return text.format(n=n, date=lang.short_day(dues[0]))


def _goodbye_view(base: ScreenView, state: UiState, lang: Language) -> ScreenView:
    _ = lang._
    finished = state.finished
    timed_out = finished is not None and finished.reason is SessionEnd.TIMEOUT
    heading = _("Your session has ended.") if timed_out else _("Thank you!")
    receipt = {
        Receipt.NONE: "",
        Receipt.PRINTING: _("Your receipt is printing."),
        Receipt.PRINTED: _("Please take your receipt."),
        Receipt.FAILED: _(RECEIPT_FAILED),
    }[state.receipt]
    return replace(
        base,
        heading=heading,
        message=_summary(finished, lang),
        fine_print=receipt,
        problem=state.receipt is Receipt.FAILED,
        language_button=None,
    )


def _refusal_text(state: UiState, lang: Language, settings: Settings) -> str:
    if state.refusal is None:
        return ""
    if (
        state.refusal is PatronRefusal.FINES_OVER_LIMIT
        and settings.show_fine_amounts
        and state.refused_fines is not None
        and settings.fines_limit is not None
    ):
        return lang._("This card has {amount} in fines, over the limit of {limit}.").format(
            amount=lang.money(state.refused_fines, settings.currency),
            limit=lang.money(settings.fines_limit, settings.currency),
        )
    return lang._(REFUSAL_TEXT[state.refusal])
