"""A scripted session through every screen, run inside the real app, with a screenshot of
each: `kiosk demo screenshots`, `make demo` without a display, `make screenshots`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.presenter.presenter import Action, Notice, Receipt, Screen
from kiosk.presenter.staff import Job, Page, Press, StaffPress
from kiosk.runtime.clock import ManualClock

if TYPE_CHECKING:  # importing kiosk.ui.app creates the window: only once it is configured
    from kiosk.ui.app import KioskApp

log = logging.getLogger(__name__)

MAX_FRAMES_PER_STEP = 600  # 20 s at 30 frames a second: a step that never happens fails
SETTLE_FRAMES = 4  # frames drawn before a screenshot, so the screen is complete

Check = Callable[["KioskApp"], bool]


@dataclass(frozen=True)
class Step:
    name: str
    do: Callable[[KioskApp], None] | None = None
    until: Check | None = None
    shot: str | None = None


def screen_is(screen: Screen) -> Check:
    return lambda app: app.controller.state.screen is screen


def loans_are(n: int) -> Check:
    return lambda app: len(app.controller.state.loans) == n


def scan(code: str) -> Callable[[KioskApp], None]:
    return lambda app: app.controller.worker.scan(code)


def press(action: Action) -> Callable[[KioskApp], None]:
    return lambda app: app.press(action)


def staff(press: StaffPress, arg: str = "") -> Callable[[KioskApp], None]:
    return lambda app: app.staff_press(press, arg)


def typed(pin: str) -> Callable[[KioskApp], None]:
    def do(app: KioskApp) -> None:
        for digit in pin:
            app.staff_press(Press.DIGIT, digit)

    return do


def staff_page(page: Page, *, facts: bool = False) -> Check:
    def check(app: KioskApp) -> bool:
        state = app.controller.staff_state
        ready = state.busy is None and (state.facts is not None or not facts)
        return state.active and state.page is page and ready

    return check


def staff_tour(card: str, pin: str) -> list[Step]:
    """Staff mode: the card opens the PIN pad, then the staff screen and its pages."""
    return [
        Step("staff card", scan(card), until=staff_page(Page.PIN)),
        Step(
            "pin",
            typed(pin),
            until=lambda a: len(a.controller.staff_state.entry) == len(pin),
            shot="12-staff-pin",
        ),
        Step("ok", staff(Press.OK), until=staff_page(Page.HOME, facts=True), shot="13-staff"),
        Step("special", staff(Press.SPECIAL_DUE), until=staff_page(Page.SPECIAL_DUE)),
        Step(
            "days",
            typed("28"),
            until=lambda a: a.controller.staff_state.entry == "28",
            shot="14-staff-special-due",
        ),
        Step("back", staff(Press.BACK), until=staff_page(Page.HOME)),
        Step(
            "new period",
            staff(Press.NEW_PERIOD),
            until=staff_page(Page.CONFIRM_PERIOD, facts=True),
            shot="15-staff-new-period",
        ),
        Step(
            "export",
            staff(Press.EXPORT),
            until=lambda a: (
                staff_page(Page.EXPORT)(a) and a.controller.staff_state.drives is not None
            ),
            shot="16-staff-export",
        ),
        Step("exit", staff(Press.EXIT), until=lambda a: not a.controller.in_staff_mode),
        *locked_tour(card, pin),
    ]


def corner_pad() -> Callable[[KioskApp], None]:
    """The hidden corner held: the PIN pad anyone can open (no staff card)."""
    return lambda app: app.controller.open_staff()


def pin_answered(app: KioskApp) -> bool:
    state = app.controller.staff_state
    return state.busy is None and state.entry == ""


def locked_tour(card: str, pin: str) -> list[Step]:
    """Wrong PINs at the corner's pad lock it; a staff card still signs in, and the staff
    screen says so and can lift the lock."""
    wrong = "9146" if pin != "9146" else "9147"
    tries: list[Step] = [Step("corner", corner_pad(), until=staff_page(Page.PIN))]
    for n in range(5):  # the default wrong_pin_limit
        tries.append(
            Step(
                f"wrong {n}", typed(wrong), until=lambda a: len(a.controller.staff_state.entry) == 4
            )
        )
        tries.append(Step(f"ok {n}", staff(Press.OK), until=pin_answered))
    return [
        *tries[:-1],
        Step("locked", staff(Press.OK), until=staff_page(Page.LOCKED), shot="17-staff-locked"),
        Step("leave", staff(Press.CANCEL), until=lambda a: not a.controller.in_staff_mode),
        Step("card still signs in", scan(card), until=staff_page(Page.PIN)),
        Step("pin", typed(pin), until=lambda a: len(a.controller.staff_state.entry) == len(pin)),
        Step(
            "staff, pad locked",
            staff(Press.OK),
            until=staff_page(Page.HOME, facts=True),
            shot="18-staff-pad-locked",
        ),
        Step(
            "unlock",
            staff(Job.UNLOCK_PIN_PAD),
            until=lambda a: a.controller.staff_state.busy is None,
        ),
        Step("exit again", staff(Press.EXIT), until=lambda a: not a.controller.in_staff_mode),
    ]


def advance(clock: ManualClock, seconds: float) -> Callable[[KioskApp], None]:
    return lambda app: clock.advance(seconds)


class ScriptRunner:
    """Called once a frame by the app: runs one step at a time, then stops the app."""

    def __init__(self, steps: list[Step], out_dir: Path) -> None:
        self.steps = steps
        self.out_dir = out_dir
        self.shots: list[Path] = []
        self.error: str | None = None
        self._index = 0
        self._frames = 0
        self._settled = 0
        self._started = False

    def __call__(self, app: KioskApp) -> None:
        if self._index >= len(self.steps):
            return
        step = self.steps[self._index]
        if not self._started:
            self._started = True
            if step.do is not None:
                step.do(app)
            return
        self._frames += 1
        if step.until is not None and not step.until(app):
            if self._frames > MAX_FRAMES_PER_STEP:
                self.error = f"step '{step.name}' never happened"
                app.shutdown()
            return
        if step.shot is not None:
            if self._settled < SETTLE_FRAMES:
                self._settled += 1
                return
            from kiosk.ui.app import screenshot

            self.shots.append(screenshot(self.out_dir / f"{step.shot}.png"))
        self._index += 1
        self._frames = self._settled = 0
        self._started = False
        if self._index >= len(self.steps):
            app.shutdown()


def notice_is(notice: Notice) -> Check:
    return lambda app: app.controller.state.notice is notice


def tour(
    clock: ManualClock,
    patrons: dict[str, str],
    items: list[str],
    staff_login: tuple[str, str] | None = None,
    refused_items: tuple[str, str] | None = None,
) -> list[Step]:
    """Every screen once. patrons: ok, fines, plus the demo's second language patron;
    staff_login: (staff card, PIN) to visit the staff screens too; refused_items: an item on
    hold for another patron and one not for loan (the item snapshot says so), for the
    notices they bring."""
    staff_steps = staff_tour(*staff_login) if staff_login else []
    notices: list[Step] = []
    if refused_items:
        held, not_here = refused_items
        notices = [
            Step(
                "held",
                scan(held),
                until=notice_is(Notice.HELD_FOR_ANOTHER),
                shot="19-notice-held-for-another",
            ),
            Step(
                "not lent here",
                scan(not_here),
                until=notice_is(Notice.NOT_LENT_HERE),
                shot="20-notice-not-lent-here",
            ),
        ]
    return [
        Step("start", until=screen_is(Screen.WELCOME), shot="01-welcome"),
        Step(
            "spanish",
            press(Action.LANGUAGE),
            until=lambda a: a.controller.state.language == "es",
            shot="02-welcome-es",
        ),
        Step(
            "english", press(Action.LANGUAGE), until=lambda a: a.controller.state.language == "en"
        ),
        Step("card", scan(patrons["ok"]), until=screen_is(Screen.CHECKOUT)),
        Step("item 1", scan(items[0]), until=loans_are(1)),
        Step("item 2", scan(items[1]), until=loans_are(2)),
        Step("item 3", scan(items[2]), until=loans_are(3), shot="03-checkout"),
        Step(
            "again",
            scan(items[0]),
            until=lambda a: a.controller.state.notice is not None,
            shot="04-item-problem",
        ),
        *notices,
        Step(
            "idle",
            advance(clock, 52),
            until=lambda a: (
                a.controller.state.notice is None and a.controller.state.deadline is not None
            ),
            shot="05-countdown",
        ),
        Step("still here", press(Action.STILL_HERE), until=screen_is(Screen.CHECKOUT)),
        Step("done", press(Action.DONE), until=screen_is(Screen.FINISH), shot="06-finish"),
        Step(
            "receipt",
            press(Action.PRINT_RECEIPT),
            until=lambda a: a.controller.state.receipt is Receipt.PRINTED,
            shot="07-goodbye",
        ),
        Step("back", advance(clock, 30), until=screen_is(Screen.WELCOME)),
        Step("fines", scan(patrons["fines"]), until=screen_is(Screen.REFUSED), shot="08-refused"),
        Step("back again", advance(clock, 30), until=screen_is(Screen.WELCOME)),
        Step("es", press(Action.LANGUAGE), until=lambda a: a.controller.state.language == "es"),
        Step("es card", scan(patrons["es"]), until=screen_is(Screen.CHECKOUT)),
        Step("es item", scan(items[3]), until=loans_are(1), shot="09-checkout-es"),
        Step("es done", press(Action.DONE), until=screen_is(Screen.FINISH)),
        Step(
            "es no receipt",
            press(Action.NO_RECEIPT),
            until=screen_is(Screen.GOODBYE),
            shot="10-goodbye-es",
        ),
        Step("welcome", advance(clock, 30), until=screen_is(Screen.WELCOME)),
        *staff_steps,
        Step(
            "old snapshot",
            advance(clock, 3 * 24 * 3600),
            until=screen_is(Screen.OUT_OF_SERVICE),
            shot="11-out-of-service",
        ),
    ]
