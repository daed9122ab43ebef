"""Stepping the real kiosk app frame by frame, and recording what its screen shows.

Used by driver.py, in the process that runs the app. A Step does something (a scan, a touch
on a button, key events on the Window, a clock advance); the next frames wait, boundedly, for
its effect; a capture then records the presenter's ScreenView for the state on screen, the
real widgets (texts, sizes, positions) and a screenshot. Kivy is imported only inside
functions: importing this module must not create the window.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from kiosk.presenter import presenter as p
from kiosk.presenter.presenter import Action, Screen
from kiosk.presenter.staff import Page, StaffPress
from kiosk.runtime.clock import ManualClock
from tests.ui.harness import START

MAX_FRAMES_PER_STEP = 300  # about 10 s at 30 frames a second: a step that never happens fails
SETTLE_FRAMES = 4  # frames drawn before a capture, so layout and canvas are complete
ALIVE_FRAMES = 10  # frames the app must go on drawing after a close attempt
LABELS = ("library", "notice", "heading", "message", "banner", "count", "countdown", "fine_print")

ENTER, KEYPAD_ENTER, ESCAPE, F1, F4 = 13, 271, 27, 282, 285


class Ctx:
    def __init__(self, app: Any, clock: ManualClock, out_dir: Path) -> None:
        self.app = app
        self.clock = clock
        self.out_dir = out_dir
        self.frames = 0
        self.marks: dict[str, Any] = {}

    @property
    def state(self) -> p.UiState:
        return self.app.controller.state


Do = Callable[[Ctx], Any]
Check = Callable[[Ctx], bool]


@dataclasses.dataclass(frozen=True)
class Step:
    name: str
    do: Do | None = None  # what it returns is recorded under steps[name]["did"]
    until: Check | None = None
    capture: str | None = None
    after: Callable[[Ctx], dict[str, Any]] | None = None  # facts recorded once the step is done
    shows: Callable[[Ctx, str], dict[str, Any]] | None = None  # the capture (None: `capture`)


# Plain JSON values ---------------------------------------------------------------------------


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):  # a monotonic instant: seconds since the clock's origin
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


# Input, as the window delivers it -----------------------------------------------------------


def key_down(key: int, codepoint: str | None = None, modifiers: tuple[str, ...] = ()) -> bool:
    """A key press as Kivy's SDL2 window delivers it (window_sdl2.py, 'keydown'):
    on_key_down, then on_keyboard only if nobody handled it, then on_key_up."""
    from kivy.core.window import Window

    handled = bool(Window.dispatch("on_key_down", key, 0, codepoint, list(modifiers)))
    if not handled:
        Window.dispatch("on_keyboard", key, 0, codepoint, list(modifiers))
    Window.dispatch("on_key_up", key, 0)
    return handled


def type_char(ch: str) -> None:
    from kivy.core.window import Window

    key_down(ord(ch.lower()) if len(ch) == 1 else 0, ch)
    Window.dispatch("on_textinput", ch)


def wedge(text: str, enter: int = ENTER) -> Do:
    """A keyboard-wedge scanner: the whole code in one burst, then Enter."""

    def do(ctx: Ctx) -> dict[str, Any]:
        for ch in text:
            type_char(ch)
        return {"enter_handled": key_down(enter)}

    return do


def typed_chunk(chunk: str) -> Do:
    """Keys typed together, as fast as the window takes them ("\n": Enter); the step then
    waits for the key gap to pass before the next chunk, as a person's typing would."""

    def do(ctx: Ctx) -> dict[str, Any]:
        start = time.monotonic()
        last = ctx.marks.get("last_key")
        for ch in chunk:
            if ch == "\n":
                key_down(ENTER)
            else:
                type_char(ch)
        ctx.marks["last_key"] = time.monotonic()
        return {"gap_s": None if last is None else start - last}

    return do


def gap_passed(seconds: float) -> Check:
    # Waiting for time to pass here is the point: the app reads time.monotonic for key gaps.
    return lambda ctx: time.monotonic() - ctx.marks["last_key"] > seconds


def slow_typing(name: str, chunks: list[str], gap_s: float) -> list[Step]:
    return [
        Step(f"{name} {i}", typed_chunk(chunk), until=gap_passed(gap_s))
        for i, chunk in enumerate(chunks)
    ]


def touch(action: Action) -> Do:
    """A finger on the middle of the button for `action`: down and up through the event loop."""

    def do(ctx: Ctx) -> dict[str, Any]:
        from kivy.tests.common import UnitTestTouch

        button = ctx.app.view.button_for(action)
        if button is None:
            raise LookupError(f"no button for {action} on {ctx.state.screen}")
        x, y = button.to_window(*button.center)
        finger = UnitTestTouch(x, y)
        finger.touch_down()
        finger.touch_up()
        return {"label": button.text}

    return do


def scan(code: str) -> Do:
    """A scan straight to the engine (the route a serial scanner takes)."""
    return lambda ctx: ctx.app.controller.worker.scan(code)


def advance_to(seconds: float) -> Do:
    """Set the ManualClock to START + seconds."""

    def do(ctx: Ctx) -> None:
        ctx.clock.advance((START + timedelta(seconds=seconds) - ctx.clock.now()).total_seconds())

    return do


def advance(seconds: float) -> Do:
    return lambda ctx: ctx.clock.advance(seconds)


def advance_until_left(seconds: float) -> Do:
    """Move the clock to `seconds` before the session's deadline."""

    def do(ctx: Ctx) -> None:
        deadline = ctx.state.deadline
        assert deadline is not None, "no session deadline"
        ctx.marks["deadline"] = deadline
        ctx.clock.advance((deadline - ctx.clock.monotonic()).total_seconds() - seconds)

    return do


def screen_is(screen: Screen) -> Check:
    return lambda ctx: ctx.state.screen is screen


def loans_are(n: int) -> Check:
    return lambda ctx: len(ctx.state.loans) == n


def has_loan(ctx: Ctx, code: str) -> bool:
    return any(loan.checkout.item == code for loan in ctx.state.loans)


def language_is(code: str) -> Check:
    return lambda ctx: ctx.state.language == code


def frames_passed(n: int) -> Check:
    def check(ctx: Ctx) -> bool:
        start = ctx.marks.setdefault("frames_from", ctx.frames)
        if ctx.frames - start >= n:
            del ctx.marks["frames_from"]
            return True
        return False

    return check


def idle_with_deadline(ctx: Ctx) -> bool:
    return ctx.state.notice is None and ctx.state.deadline is not None


# What is on the screen -----------------------------------------------------------------------


def box(widget: Any) -> dict[str, float]:
    x, y = widget.to_window(widget.x, widget.y)
    return {"x": x, "y": y, "width": widget.width, "height": widget.height}


def shown(widget: Any) -> bool:
    """Drawn and not hidden by opacity (its own or a parent's)."""
    from kivy.uix.widget import Widget

    node = widget
    while isinstance(node, Widget):
        if node.opacity <= 0:
            return False
        node = node.parent
    return widget.width > 0 and widget.height > 0


def needed_size(widget: Any) -> list[float]:
    """The size its text needs when wrapped at the label's text width."""
    from kivy.uix.label import Label

    width = widget.text_size[0] if widget.text_size and widget.text_size[0] else None
    probe = Label(
        text=widget.text,
        font_size=widget.font_size,
        font_name=widget.font_name,
        bold=widget.bold,
        halign=widget.halign,
        text_size=(width, None),
    )
    probe.texture_update()
    return list(probe.texture_size)


def label_info(widget: Any) -> dict[str, Any]:
    return {
        "text": widget.text,
        "shown": shown(widget),
        "needed": needed_size(widget) if widget.text else [0, 0],
        **box(widget),
    }


def button_info(widget: Any, view: Any) -> dict[str, Any]:
    where = "other"
    if widget.parent is view.buttons:
        where = "buttons"
    elif widget.parent is view.language_slot:
        where = "language"
    action = getattr(widget, "action", None)
    return {
        "text": widget.text,
        "action": action.value if action is not None else None,
        "where": where,
        "needed": needed_size(widget),
        "shown": shown(widget),
        "disabled": bool(widget.disabled),
        "parent": box(widget.parent),
        **box(widget),
    }


def window_info(ctx: Ctx) -> dict[str, Any]:
    from kivy.core.window import Window
    from kivy.metrics import Metrics

    from kiosk.ui.view import MIN_TARGET

    return {
        "size": list(Window.size),
        "show_cursor": bool(Window.show_cursor),
        "dpi": Metrics.dpi,
        "density": Metrics.density,
        "min_target": MIN_TARGET,
        "mm": Metrics.mm,
        "children": len(Window.children),
    }


def capture(ctx: Ctx, name: str) -> dict[str, Any]:
    from kivy.core.window import Window
    from kivy.uix.button import Button

    from kiosk.ui.app import screenshot

    app = ctx.app
    view = app.view
    controller = app.controller
    expected = p.view(
        controller.state, ctx.clock.monotonic(), controller.language, controller.settings
    )
    rows = []
    for row in reversed(view.lines.children):  # Kivy keeps children newest first
        parts = list(reversed(row.children)) if row.children else [row]
        if not all(hasattr(w, "text") for w in parts):
            continue  # the spacer that keeps the rows at the top
        rows.append({"texts": [w.text for w in parts], "labels": [label_info(w) for w in parts]})
        rows[-1].update(box(row))
    buttons = [
        button_info(w, view)
        for root in Window.children
        for w in root.walk(restrict=True)
        if isinstance(w, Button)
    ]
    shot = screenshot(ctx.out_dir / f"{name}.png")
    return {
        "screen": controller.state.screen.value,
        "language": controller.state.language,
        "loans": [loan.checkout.item for loan in controller.state.loans],
        "now": ctx.clock.now().isoformat(),
        "deadline": plain(controller.state.deadline),
        "expected": plain(expected),
        "labels": {n: label_info(getattr(view, n)) for n in LABELS},
        "lines_box": box(view.lines),
        "lines": rows,
        "buttons": buttons,
        "screenshot": str(shot),
        "window": window_info(ctx),
    }


def alive(ctx: Ctx) -> dict[str, Any]:
    """Facts that say the app is still up and drawing."""
    from kivy.app import App
    from kivy.base import EventLoop
    from kivy.core.window import Window

    return {
        "frames": ctx.frames,
        "running_app": App.get_running_app() is ctx.app,
        "view_in_window": ctx.app.view.get_root_window() is Window,
        "event_loop": EventLoop.status,
        "screen": ctx.state.screen.value,
        "session": ctx.state.patron,
    }


# Staff mode: the hidden corner, the staff screens' buttons ------------------------------------


def window_point(where: str) -> tuple[float, float]:
    """A point on the window, in pixels from the bottom left (Kivy's coordinates)."""
    from kivy.core.window import Window

    from kiosk.ui.view import MIN_TARGET

    width, height = Window.width, Window.height
    corner = MIN_TARGET * 1.5  # the hidden corner's size (kiosk/ui/app.py)
    points = {
        "top left": (4.0, height - 4.0),
        "beside the corner": (corner + 16, height - 4.0),
        "below the corner": (4.0, height - corner - 16),
        "middle": (width / 2, height / 2),
    }
    return points[where]


def hold_facts(ctx: Ctx) -> dict[str, Any]:
    """Whether a long press is under way (and how long it must last), and staff mode."""
    hold = ctx.app._corner_hold
    return {
        "hold_scheduled": hold is not None,
        "hold_seconds": hold.timeout if hold is not None else None,
        "staff_mode": ctx.app.controller.in_staff_mode,
    }


def finger_down(where: str) -> Do:
    """A finger put on the window and left there (finger_up lifts it)."""

    def do(ctx: Ctx) -> dict[str, Any]:
        from kivy.tests.common import UnitTestTouch

        x, y = window_point(where)
        finger = UnitTestTouch(x, y)
        finger.touch_down()
        ctx.marks["finger"] = finger
        ctx.marks["finger_at"] = time.monotonic()
        return {"at": [x, y], **hold_facts(ctx)}

    return do


def finger_up(ctx: Ctx) -> dict[str, Any]:
    ctx.marks.pop("finger").touch_up()
    return hold_facts(ctx)


def tap(where: str) -> Do:
    """A finger down and straight up again."""

    def do(ctx: Ctx) -> dict[str, Any]:
        down = finger_down(where)(ctx)
        ctx.marks["finger_at"] = time.monotonic()
        return {"down": down, "up": finger_up(ctx)}

    return do


def held_for(seconds: float) -> Check:
    # The hidden corner is timed by Kivy's own clock (real time): waiting for it is the point.
    return lambda ctx: time.monotonic() - ctx.marks["finger_at"] > seconds


def touch_staff(press: StaffPress, arg: str = "") -> Do:
    """A finger on the middle of the staff screen's button for `press`, through the event loop."""

    def do(ctx: Ctx) -> dict[str, Any]:
        from kivy.tests.common import UnitTestTouch

        button = ctx.app.staff_view.button_for(press, arg)
        if button is None:
            raise LookupError(f"no button for {press} {arg!r} on {ctx.app.controller.staff_state}")
        x, y = button.to_window(*button.center)
        finger = UnitTestTouch(x, y)
        finger.touch_down()
        finger.touch_up()
        return {"label": button.text}

    return do


def staff_page(page: Page, *, facts: bool = False) -> Check:
    """Staff mode on `page`, no action running (and the status read back)."""

    def check(ctx: Ctx) -> bool:
        state = ctx.app.controller.staff_state
        ready = state.busy is None and (state.facts is not None or not facts)
        return state.active and state.page is page and ready

    return check


def pin_typed(n: int) -> Check:
    return lambda ctx: len(ctx.app.controller.staff_state.entry) == n


def in_staff_mode(ctx: Ctx) -> bool:
    return bool(ctx.app.controller.in_staff_mode)


def out_of_staff_mode(ctx: Ctx) -> bool:
    return not ctx.app.controller.in_staff_mode


def shown_root(ctx: Ctx) -> dict[str, Any]:
    """Which of the two screens is in the window."""
    from kivy.core.window import Window

    app = ctx.app
    return {
        "root": [type(w).__name__ for w in app.root_box.children],
        "kiosk_view_in_window": app.view.get_root_window() is Window,
        "staff_view_in_window": app.staff_view.get_root_window() is Window,
        "staff_mode": app.controller.in_staff_mode,
        "screen": ctx.state.screen.value,
    }


def staff_capture(ctx: Ctx, name: str) -> dict[str, Any]:
    """The staff screen: its view model, its real buttons (sizes, positions) and a screenshot."""
    from kivy.uix.button import Button

    from kiosk.presenter.staff import view as staff_view
    from kiosk.ui.app import screenshot

    app = ctx.app
    controller = app.controller
    now = ctx.clock.now()
    expected = staff_view(
        controller.staff_state,
        ctx.clock.monotonic(),
        now.astimezone(controller.timezone).date(),
        controller.staff_idle,
        controller.loan_rules,
    )
    widget = app.staff_view
    buttons = [
        {
            "text": w.text,
            "press": w.spec.press.value,
            "arg": w.spec.arg,
            "keypad": w.parent is widget.keypad,
            "shown": shown(w),
            "disabled": bool(w.disabled),
            **box(w),
        }
        for w in widget.walk(restrict=True)
        if isinstance(w, Button) and hasattr(w, "spec")
    ]
    shot = screenshot(ctx.out_dir / f"{name}.png")
    return {
        "expected": plain(expected),
        "heading": widget.heading.text,
        "entry": widget.entry.text,
        "message": widget.message.text,
        "buttons": buttons,
        "screenshot": str(shot),
        "window": window_info(ctx),
        **shown_root(ctx),
    }


# The runner ----------------------------------------------------------------------------------


class Runner:
    """Called once a frame by the app (app.on_frame): runs one step at a time."""

    def __init__(self, ctx: Ctx, steps: list[Step]) -> None:
        self.ctx = ctx
        self.steps = steps
        self.data: dict[str, Any] = {
            "finished": False,
            "error": None,
            "steps": {},
            "captures": {},
            "history": [],
        }
        self._index = 0
        self._started = False
        self._frames = 0
        self._settled = 0
        self._busy = False

    def __call__(self, app: Any) -> None:
        if self._busy:  # a press draws a frame of its own, from inside a step
            return
        self._busy = True
        try:
            self._frame(app)
        except Exception:
            self.data["error"] = traceback.format_exc()
            app.shutdown()
        finally:
            self._busy = False

    def _frame(self, app: Any) -> None:
        ctx = self.ctx
        ctx.frames += 1
        screen = ctx.state.screen.value
        if not self.data["history"] or self.data["history"][-1] != screen:
            self.data["history"].append(screen)
        if self._index >= len(self.steps):
            return
        step = self.steps[self._index]
        record = self.data["steps"].setdefault(step.name, {})
        if not self._started:
            self._started = True
            self._frames = self._settled = 0
            record["frame"] = ctx.frames
            if step.do is not None:
                did = step.do(ctx)
                if did is not None:
                    record["did"] = plain(did)
            return
        self._frames += 1
        if step.until is not None and not step.until(ctx):
            if self._frames > MAX_FRAMES_PER_STEP:
                self.data["error"] = f"step '{step.name}' never happened"
                app.shutdown()
            return
        if step.capture is not None:
            if self._settled < SETTLE_FRAMES:
                self._settled += 1
                return
            self.data["captures"][step.capture] = (step.shows or capture)(ctx, step.capture)
        if step.after is not None:
            record.update(plain(step.after(ctx)))
        record["done_frame"] = ctx.frames
        self._index += 1
        self._started = False
        if self._index >= len(self.steps):
            self.data["finished"] = True
            app.shutdown()
