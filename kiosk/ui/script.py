"""A scripted session through every screen, run inside the real app, with a screenshot of
each: `kiosk demo screenshots`, `make demo` without a display, `make screenshots`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.presenter.presenter import Action, Receipt, Screen
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


def tour(clock: ManualClock, patrons: dict[str, str], items: list[str]) -> list[Step]:
    """Every screen once. patrons: ok, fines, plus the demo's second language patron."""
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
        Step(
            "old snapshot",
            advance(clock, 3 * 24 * 3600),
            until=screen_is(Screen.OUT_OF_SERVICE),
            shot="11-out-of-service",
        ),
    ]
