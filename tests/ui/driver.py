"""Run the real kiosk app offscreen through one scenario; write what it showed as JSON.

    python -m tests.ui.driver CONFIG SCENARIO OUT_DIR

Why a process per scenario, and not the app inside the pytest process: Kivy has one Window
per process and reads the window settings (size, cursor, what Escape does) once, when
`kivy.core.window` is first imported; the tests need several configs (cursor shown or not, a
5 ms key gap), and a Kivy App is not meant to run twice in one process. A fresh process per
scenario also means no test can leave the window, the clock or Kivy's event loop in a state
that breaks the next one, and a test that closes the app (the lockdown tests try to) only ends
its own scenario.

The app is built exactly as `kiosk run --offscreen` builds it (build_runtime + build_app) with
a ManualClock, and driven frame by frame like kiosk/ui/script.py: a step does something (a
scan, a touch on a button, key events on the Window, a clock advance), then the next frames
wait, boundedly, for its effect. A capture records the presenter's ScreenView for the current
state, the real widgets (texts, sizes, positions) and a screenshot. Nothing is asserted here:
the tests read OUT_DIR/result.json.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from kiosk.presenter.presenter import Action, Notice, Receipt, Screen
from kiosk.presenter.staff import Page, Press
from kiosk.runtime.clock import ManualClock
from tests.conftest import item, patron
from tests.ui.harness import STAFF_IDLE_SECONDS, STAFF_PIN, START
from tests.ui.stepper import (
    ALIVE_FRAMES,
    ENTER,
    ESCAPE,
    F1,
    F4,
    KEYPAD_ENTER,
    Ctx,
    Do,
    Runner,
    Step,
    advance,
    advance_to,
    advance_until_left,
    alive,
    finger_down,
    finger_up,
    frames_passed,
    has_loan,
    held_for,
    hold_facts,
    idle_with_deadline,
    in_staff_mode,
    key_down,
    language_is,
    loans_are,
    out_of_staff_mode,
    pin_typed,
    scan,
    screen_is,
    shown_root,
    slow_typing,
    staff_capture,
    staff_page,
    tap,
    touch,
    touch_staff,
    type_char,
    wedge,
    window_info,
)

# Scenarios -----------------------------------------------------------------------------------


def tour(ctx: Ctx) -> list[Step]:
    """Every screen, in English and in Spanish."""

    def receipt_printed(c: Ctx) -> bool:
        return c.state.screen is Screen.GOODBYE and c.state.receipt is Receipt.PRINTED

    def deadline_moved(c: Ctx) -> bool:
        before = c.marks["deadline"]
        return c.state.deadline is not None and c.state.deadline > before

    steps = [
        Step("start", until=screen_is(Screen.WELCOME), capture="welcome"),
        Step("spanish", touch(Action.LANGUAGE), until=language_is("es"), capture="welcome-es"),
        Step("english", touch(Action.LANGUAGE), until=language_is("en")),
        Step("card", scan(patron(1)), until=screen_is(Screen.CHECKOUT), capture="checkout-empty"),
        Step("item 1", scan(item(1)), until=loans_are(1)),
        Step("item 2", scan(item(2)), until=loans_are(2)),
        Step("item 3", scan(item(3)), until=loans_are(3), capture="checkout"),
        Step(
            "again",
            scan(item(1)),
            until=lambda c: c.state.notice is Notice.DUPLICATE,
            capture="item-problem",
        ),
        # Everything above happened at START: the session times out at START + 60 s.
        Step("idle 45 s", advance_to(45), until=idle_with_deadline, capture="idle-45s"),
        Step("idle 52 s", advance_to(52), until=idle_with_deadline, capture="countdown"),
        Step("idle 61 s", advance_to(61), until=screen_is(Screen.GOODBYE), capture="timed-out"),
        Step("next patron", advance(10), until=screen_is(Screen.WELCOME)),
        Step("card again", scan(patron(1)), until=screen_is(Screen.CHECKOUT)),
        Step("item 10", scan(item(10)), until=loans_are(1)),
        Step("done", touch(Action.DONE), until=screen_is(Screen.FINISH), capture="finish"),
        Step("receipt", touch(Action.PRINT_RECEIPT), until=receipt_printed, capture="goodbye"),
        Step("after goodbye", advance(10), until=screen_is(Screen.WELCOME)),
        Step("fines", scan(patron(3)), until=screen_is(Screen.REFUSED), capture="refused"),
        Step("after refused", advance(11), until=screen_is(Screen.WELCOME)),
        # Spanish
        Step("es", touch(Action.LANGUAGE), until=language_is("es")),
        Step("es card", scan(patron(8)), until=screen_is(Screen.CHECKOUT)),
    ]
    for n in range(11, 17):  # six items: one more than the screen lists
        steps.append(Step(f"es item {n}", scan(item(n)), until=loans_are(n - 10)))
    steps[-1] = dataclasses.replace(steps[-1], capture="checkout-es")
    steps += [
        Step(
            "es not an item",
            scan("HELLO-123"),
            until=lambda c: c.state.notice is Notice.NOT_AN_ITEM,
            capture="item-problem-es",
        ),
        Step("es idle", advance_until_left(8), until=idle_with_deadline, capture="countdown-es"),
        Step("es still here", touch(Action.STILL_HERE), until=deadline_moved, capture="still-es"),
        Step("es done", touch(Action.DONE), until=screen_is(Screen.FINISH), capture="finish-es"),
        Step(
            "es no receipt",
            touch(Action.NO_RECEIPT),
            until=screen_is(Screen.GOODBYE),
            capture="goodbye-es",
        ),
        Step("es after goodbye", advance(10), until=screen_is(Screen.WELCOME)),
        Step("es again", touch(Action.LANGUAGE), until=language_is("es")),
        Step("es blocked", scan(patron(4)), until=screen_is(Screen.REFUSED), capture="refused-es"),
        Step("es after refused", advance(11), until=screen_is(Screen.WELCOME)),
        Step(
            "old snapshot",
            advance(3 * 24 * 3600),
            until=screen_is(Screen.OUT_OF_SERVICE),
            capture="out-of-service",
        ),
        Step(
            "es out of service",
            touch(Action.LANGUAGE),
            until=language_is("es"),
            capture="out-of-service-es",
        ),
    ]
    return steps


GARBAGE_SEED = 20260302


def garbage(ctx: Ctx) -> dict[str, Any]:
    """Random typing: printable and non-ASCII text, control keys, Enter now and then."""
    rng = random.Random(GARBAGE_SEED)
    alphabet = "abcXYZ019 -_/\\.,;:'\"!?@#$%^&*()[]{}<>|~`+=ñéüß€中文🙂\t"
    specials = [8, 9, 27, 127, 273, 274, 275, 276, 278, 279, 280, 281, 282, 283, 290, 293, 300]
    enters = 0
    for _ in range(60):
        for _ in range(rng.randint(0, 40)):
            type_char(rng.choice(alphabet))
        for _ in range(rng.randint(0, 3)):
            key_down(rng.choice(specials), None, tuple(rng.sample(["shift", "ctrl", "alt"], 1)))
        if rng.random() < 0.5:
            key_down(rng.choice([ENTER, KEYPAD_ENTER]))
            enters += 1
    from kivy.core.window import Window

    Window.dispatch("on_textinput", "x" * 5000)  # one huge paste
    key_down(ENTER)
    return {"enters": enters + 1}


def wedge_typing(ctx: Ctx) -> list[Step]:
    """A keyboard-wedge scanner's key events on the Window, and garbage typing."""

    def after_garbage(c: Ctx) -> dict[str, Any]:
        return {
            "engine_failed": repr(c.app.controller.worker.failed),
            "sounds": [s.value for s in c.app.controller.sounds.played],
            **alive(c),
        }

    return [
        Step("start", until=screen_is(Screen.WELCOME)),
        Step("card", wedge(patron(1)), until=screen_is(Screen.CHECKOUT), capture="typed-card"),
        Step("item 1", wedge(item(1)), until=loans_are(1)),
        Step("item 2", wedge(item(2), KEYPAD_ENTER), until=loans_are(2), capture="typed-items"),
        Step("garbage", garbage, until=frames_passed(5)),
        Step(
            "item 3",
            wedge(item(3)),
            until=loans_are(3),
            capture="after-garbage",
            after=after_garbage,
        ),
    ]


SLOW_GAP_S = 0.02  # well past the test config's 5 ms key gap


def slow(ctx: Ctx) -> list[Step]:
    """Typing with a 5 ms key gap configured: nothing a person types is a scan.

    On the Welcome screen: a card number in one burst but Enter after a pause, then a card
    number a key at a time. In a session: an item a key at a time, with Enter right after the
    last key. After each, a sentinel scan goes straight to the engine; the engine takes inputs
    in order, so once the sentinel's effect shows, a scan from the typing would have shown too.
    """

    def facts(c: Ctx) -> dict[str, Any]:
        return {
            "screen": c.state.screen.value,
            "notice": c.state.notice.value if c.state.notice else None,
            "loans": [loan.checkout.item for loan in c.state.loans],
            "sounds": [s.value for s in c.app.controller.sounds.played],
        }

    card, code = patron(1), item(2)
    return [
        Step("start", until=screen_is(Screen.WELCOME), after=facts),
        *slow_typing("late enter", [card, "\n"], SLOW_GAP_S),
        *slow_typing("slow card", [*card, "\n"], SLOW_GAP_S),
        Step(
            "card sentinel",
            scan(item(1)),
            until=lambda c: c.state.notice is Notice.NO_PATRON or has_loan(c, item(1)),
            after=facts,
        ),
        Step("card", scan(patron(1)), until=screen_is(Screen.CHECKOUT)),
        *slow_typing("slow item", [*code[:-1], code[-1] + "\n"], SLOW_GAP_S),
        Step("item sentinel", scan(item(3)), until=lambda c: has_loan(c, item(3)), after=facts),
        Step("more frames", until=frames_passed(5), capture="slow-typed", after=facts),
    ]


STALL_S = 1.0  # a frame this long: twice the key gap the stalled scenario configures


def stalled(ctx: Ctx) -> list[Step]:
    """A scanner's burst with a slow frame in the middle (issue 15): the first keys are
    handled, then a frame takes STALL_S (as laying out a long item list can) while the rest
    of the keys wait in the window's queue, and they are handled in one go after it."""
    code = item(4)

    def first_keys(c: Ctx) -> None:
        for ch in code[:4]:
            type_char(ch)

    def slow_frame_then_the_rest(c: Ctx) -> dict[str, Any]:
        start = time.monotonic()
        # Real time passing on the UI thread is the point: the app times keys on
        # time.monotonic, and the keys handled next wait out this frame in the queue.
        time.sleep(STALL_S)
        wedge(code[4:])(c)
        return {"frame_s": time.monotonic() - start}

    def facts(c: Ctx) -> dict[str, Any]:
        return {
            "loans": [loan.checkout.item for loan in c.state.loans],
            "notice": c.state.notice.value if c.state.notice else None,
            "sounds": [s.value for s in c.app.controller.sounds.played],
        }

    return [
        Step("start", until=screen_is(Screen.WELCOME)),
        Step("card", scan(patron(1)), until=screen_is(Screen.CHECKOUT)),
        Step("first keys", first_keys),
        Step(
            "the rest after a slow frame",
            slow_frame_then_the_rest,
            # The engine answers every scan with a sound: the card's, then this one's.
            until=lambda c: len(c.app.controller.sounds.played) >= 2,
            after=facts,
        ),
    ]


def lockdown(ctx: Ctx) -> list[Step]:
    """Attempts to close the kiosk or open Kivy's settings, in the middle of a session."""

    def request_close(c: Ctx) -> dict[str, Any]:
        from kivy.core.window import Window

        return {"handled": bool(Window.dispatch("on_request_close"))}

    def keys(*presses: tuple[int, str | None, tuple[str, ...]]) -> Do:
        return lambda c: {"handled": [key_down(*press) for press in presses]}

    def on_keyboard(key: int) -> Do:
        """The key as if it reached Kivy's own handlers (Escape-to-exit, F1 settings)."""

        def do(c: Ctx) -> None:
            from kivy.core.window import Window

            Window.dispatch("on_keyboard", key, 0, None, [])

        return do

    def settings_facts(c: Ctx) -> dict[str, Any]:
        from kivy.core.window import Window
        from kivy.uix.settings import Settings

        panels = [
            type(w).__name__
            for root in Window.children
            for w in root.walk(restrict=True)
            if isinstance(w, Settings)
        ]
        return {"settings_widgets": panels, "open_settings": c.app.open_settings(), **alive(c)}

    def still_up(name: str, do: Do, after: Callable[[Ctx], dict[str, Any]] = alive) -> Step:
        return Step(name, do, until=frames_passed(ALIVE_FRAMES), after=after)

    return [
        Step("start", until=screen_is(Screen.WELCOME), after=window_info),
        Step("card", scan(patron(1)), until=screen_is(Screen.CHECKOUT)),
        still_up("request close", request_close),
        still_up("escape", keys((ESCAPE, None, ()))),
        still_up("alt-f4", keys((F4, None, ("alt",)))),
        still_up("ctrl-c", keys((99, "c", ("ctrl",)), (113, "q", ("ctrl",)))),
        still_up("f1", keys((F1, None, ())), after=settings_facts),
        still_up("escape to kivy", on_keyboard(ESCAPE)),
        still_up("f1 to kivy", on_keyboard(F1), after=settings_facts),
        Step("item", scan(item(1)), until=loans_are(1), capture="after-lockdown", after=alive),
    ]


def staff(ctx: Ctx) -> list[Step]:
    """Staff mode in the real window: a tap and holds that must not open it, the hidden corner
    held, the PIN typed on the on-screen keypad, the staff screen, Exit, and the pad left alone."""
    wait = ctx.app.kiosk_config.staff.long_press_seconds + 0.5
    holds_elsewhere = []
    for where in ("beside the corner", "below the corner", "middle"):
        holds_elsewhere += [
            Step(f"hold {where}", finger_down(where), until=held_for(wait), after=hold_facts),
            Step(f"lift {where}", finger_up, until=frames_passed(1)),
        ]
    return [
        Step("start", until=screen_is(Screen.WELCOME), after=shown_root),
        Step("tap corner", tap("top left"), until=held_for(wait), after=hold_facts),
        *holds_elsewhere,
        Step(
            "hold corner",
            finger_down("top left"),
            until=staff_page(Page.PIN),
            capture="staff-pin",
            shows=staff_capture,
        ),
        Step("lift corner", finger_up, until=frames_passed(2), after=shown_root),
        *[
            Step(f"pin {n}", touch_staff(Press.DIGIT, digit), until=pin_typed(n))
            for n, digit in enumerate(STAFF_PIN, 1)
        ],
        Step(
            "ok",
            touch_staff(Press.OK),
            until=staff_page(Page.HOME, facts=True),
            capture="staff-home",
            shows=staff_capture,
        ),
        Step("exit", touch_staff(Press.EXIT), until=out_of_staff_mode, after=shown_root),
        Step("hold again", finger_down("top left"), until=in_staff_mode),
        Step("lift again", finger_up, until=frames_passed(1)),
        Step("left alone", advance(STAFF_IDLE_SECONDS), until=out_of_staff_mode, after=shown_root),
    ]


def start(ctx: Ctx) -> list[Step]:
    """Only the first screen, for settings read when the window is made."""
    return [Step("start", until=screen_is(Screen.WELCOME), after=window_info)]


SCENARIOS = {
    "tour": tour,
    "typing": wedge_typing,
    "slow": slow,
    "stalled": stalled,
    "lockdown": lockdown,
    "start": start,
    "staff": staff,
}


def main(config_path: str, scenario: str, out: str) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = load_config(Path(config_path))

    from kiosk.cli.run import build_runtime
    from kiosk.ui.env import prepare

    prepare(out_dir / "kivy", offscreen=True)
    from kiosk.ui.launch import build_app
    from kiosk.ui.sounds import RecordingPlayer

    clock = ManualClock(START)
    app = build_app(config, build_runtime(config, clock), clock, silent=True)
    app.controller.sounds = RecordingPlayer()  # every engine event plays a sound: a log of them
    ctx = Ctx(app, clock, out_dir)
    runner = Runner(ctx, SCENARIOS[scenario](ctx))
    app.drive(runner)
    try:
        app.run()
    except BaseException:
        runner.data["error"] = traceback.format_exc()
        raise
    finally:
        runner.data["frames"] = ctx.frames
        (out_dir / "result.json").write_text(json.dumps(runner.data, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
