"""What each patron screen shows: a UiState drawn as a ScreenView, in the patron's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from kiosk.domain.events import OutOfServiceReason, SessionEnd
from kiosk.domain.patrons import PatronRefusal
from kiosk.presenter.i18n import NATIVE_NAMES, Language
from kiosk.presenter.patron_texts import (
    NOTICE_TEXT,
    OUT_OF_SERVICE_TEXT,
    RECEIPT_FAILED,
    REFUSAL_TEXT,
)
from kiosk.presenter.patron_types import (
    Action,
    ButtonView,
    FinishedSession,
    LineView,
    NoticeView,
    Receipt,
    Screen,
    ScreenView,
    Settings,
    UiState,
)


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
    lent = [loan.checkout for loan in reversed(state.loans)]  # the newest on top
    lines = tuple(
        LineView(
            # The title when the item snapshot has it: patrons know their items by title.
            shorten(c.title) if c.title else _("Item {barcode}").format(barcode=c.item),
            _("Due {date}").format(date=lang.day(c.due_date)),
        )
        for c in lent
    )
    n = len(state.loans)
    count = lang.n_("{n} item checked out", "{n} items checked out", n).format(n=n) if n else ""
    specials = {c.due_date for c in lent if c.special_due}
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
    dues = sorted({loan.checkout.due_date for loan in finished.loans})
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
