"""The Kivy application: a locked-down full-screen window around the KioskView.

Only this module and kiosk.ui.view touch Kivy; both only run on Kivy's main thread.
"""

from __future__ import annotations

import gc
import logging
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock as KivyClock
from kivy.core.window import Window
from kivy.uix.boxlayout import BoxLayout

from kiosk.config import KioskConfig
from kiosk.presenter.presenter import Action, Screen, ScreenView
from kiosk.presenter.staff import StaffPress, StaffScreenView
from kiosk.runtime.devices import ScannerHub
from kiosk.runtime.lifecycle import Parts
from kiosk.runtime.notify import Notifier
from kiosk.ui.controller import KioskController
from kiosk.ui.staff_view import StaffView
from kiosk.ui.view import MIN_TARGET, KioskView, Theme

log = logging.getLogger(__name__)

ENTER_KEYS = {13, 271}  # Return, keypad Enter
# The kiosk draws when something changed, never on a steady beat: the engine, the printer
# and staff jobs wake it, and it sleeps until its screen's next timer (controller.next_change).
# Scripted runs (the tests' steps, the demo's tour) drive frames at this rate (`drive`).
DRIVE_SECONDS = 1 / 30
TIMER_EARLY_SECONDS = 1 / 60  # a Kivy loop turn at its default maxfps (see _sleep_until)
HOUSEKEEPING_SECONDS = 1.0  # systemd's watchdog, a garbage collection when quiet
GC_QUIET_SECONDS = 1.0  # no key for this long: no scan can be in the middle of its burst
GC_FORCE_SECONDS = 30.0  # collect anyway after this long (a long stream of scans)


class KioskApp(App):
    title = "Library self-checkout"

    def __init__(
        self,
        controller: KioskController,
        config: KioskConfig,
        *,
        hub: ScannerHub | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.controller = controller
        self.kiosk_config = config
        self.on_frame: Callable[[KioskApp], None] | None = None  # see `drive`
        self._drive_every: float | None = None
        self.frames = 0  # how many times the screen was brought up to date
        self._next_change: Any = None  # the screen's next timer (a Kivy clock event)
        self.hub = hub  # serial, evdev and fake scanners (the keyboard wedge is the window)
        self.use_kivy_settings = False
        self.view: KioskView | None = None
        self.staff_view: StaffView | None = None
        self.root_box: BoxLayout | None = None
        self._corner_hold: Any = None
        self._allow_close = False
        self._last_key = 0.0
        self._read_input: Callable[[], None] = lambda: None  # Window.mainloop, once built
        self._last_collect = time.monotonic()
        self.notifier = Notifier()  # systemd: READY once lending, WATCHDOG from the loop
        self._ready = False  # the engine has answered: READY=1 goes out with the next frame
        self._wake_pending = False  # a frame is scheduled for the latest news from a thread
        self.parts = Parts()  # the controller, then (on_start) the engine and the scanners
        self.parts.on_stop("the controller", controller.close)  # on_stop: in reverse

    def build(self) -> BoxLayout:
        display = self.kiosk_config.display
        theme = Theme(display.theme.model_dump())
        Window.clearcolor = theme["background"]
        Window.show_cursor = display.show_cursor
        Window.bind(on_request_close=self._on_request_close)
        Window.bind(on_key_down=self._on_key_down, on_textinput=self._on_textinput)
        # Kivy's loop draws a frame, then Window.mainloop reads every input event queued
        # meanwhile. Keys a scanner typed during a slow frame (150 ms to lay out and draw a
        # long item list) are handled together after it: the wedge decoder hears when the
        # queue was last read empty, so their gap is not taken for a pause in the burst.
        self._read_input = Window.mainloop
        Window.mainloop = self._read_input_then_mark
        self.view = KioskView(theme, self.press, display.logo)
        self.staff_view = StaffView(theme, self.staff_press)
        self.root_box = BoxLayout()
        self.root_box.add_widget(self.view)
        # The hidden corner: held for a few seconds (top left), it opens the staff PIN pad.
        self.root_box.bind(on_touch_down=self._touch_down, on_touch_up=self._touch_up)
        # The engine, the printer and staff jobs wake this thread as soon as they have news,
        # so a scan is drawn in the next loop turn; between news the screen's own timers
        # (controller.next_change) are the only wake-ups.
        controller = self.controller
        controller.worker.on_events = self._wake_soon
        controller.receipts.on_done = self._wake_soon
        if controller.staff is not None:
            controller.staff.on_answer = self._wake_soon
        self._frame(0)
        if self._drive_every is not None:
            KivyClock.schedule_interval(self._frame, self._drive_every)
        # A full garbage collection can stall this thread for 50-190 ms: a scan shown that much
        # later. Objects made at start-up are frozen out of collection, and collections run
        # only while no key has come for a while.
        gc.collect()
        gc.freeze()
        gc.disable()
        every = HOUSEKEEPING_SECONDS
        if self.notifier.watchdog_interval is not None:  # it sends twice an interval
            every = min(every, self.notifier.watchdog_interval / 4)
        KivyClock.schedule_interval(self._housekeeping, every)
        # systemd stops the kiosk with SIGTERM: close cleanly (the spool is durable anyway).
        signal.signal(
            signal.SIGTERM, lambda *_: KivyClock.schedule_once(lambda dt: self.shutdown())
        )
        return self.root_box

    def on_start(self) -> None:
        # In dependency order: the engine, then what posts into its inbox (on_stop reverses).
        worker = self.controller.worker
        self.parts.start("the engine", worker.start, worker.stop)
        if self.hub is not None:
            hub = self.hub
            self.parts.start("the scanners", lambda: hub.start(worker.inbox), hub.stop)

    def drive(self, on_frame: Callable[[KioskApp], None], every: float = DRIVE_SECONDS) -> None:
        """For scripted runs (tests, the demo's tour): call `on_frame` after every frame and
        draw a frame every `every` seconds, as a script moving a manual clock needs (the app
        cannot know when a manual clock moves). Call before `run`. The kiosk never does."""
        self.on_frame = on_frame
        self._drive_every = every

    def open_settings(self, *args: Any) -> bool:
        return False  # Kivy opens its settings panel on F1: not on a kiosk

    def press(self, action: Action) -> None:
        self.controller.press(action)
        self._frame(0)

    def staff_press(self, press: StaffPress, arg: str) -> None:
        self.controller.staff_press(press, arg)
        self._frame(0)

    def _in_corner(self, touch: Any) -> bool:
        size = MIN_TARGET * 1.5
        return bool(touch.x <= size and touch.y >= Window.height - size)

    def _touch_down(self, widget: Any, touch: Any) -> bool:
        if self.controller.in_staff_mode or not self._in_corner(touch):
            return False
        self._cancel_hold()
        seconds = self.kiosk_config.staff.long_press_seconds
        self._corner_hold = KivyClock.schedule_once(lambda dt: self._corner_held(), seconds)
        return False  # the touch still reaches whatever is under it

    def _touch_up(self, widget: Any, touch: Any) -> bool:
        self._cancel_hold()
        return False

    def _cancel_hold(self) -> None:
        if self._corner_hold is not None:
            self._corner_hold.cancel()
            self._corner_hold = None

    def _corner_held(self) -> None:
        self._corner_hold = None
        self.controller.open_staff()
        self._frame(0)

    def _render(self, shown: ScreenView | StaffScreenView) -> None:
        """Draw the patron screens or the staff screens, whichever the controller shows."""
        assert self.root_box is not None and self.view is not None
        assert self.staff_view is not None
        widget: KioskView | StaffView
        if isinstance(shown, StaffScreenView):
            widget = self.staff_view
            self.staff_view.render(shown)
        else:
            widget = self.view
            self.view.render(shown)
        if widget.parent is not self.root_box:
            self.root_box.clear_widgets()
            self.root_box.add_widget(widget)

    def shutdown(self) -> None:
        """Close the kiosk (SIGTERM from systemd; staff mode later). Patrons cannot."""
        self.notifier.stopping()
        self._allow_close = True
        self.stop()

    def _read_input_then_mark(self) -> None:
        self._read_input()
        self.controller.input_read(time.monotonic())

    def on_stop(self) -> None:
        if Window.mainloop == self._read_input_then_mark:
            Window.mainloop = self._read_input
        self.parts.stop()

    def _wake_soon(self) -> None:
        """On the engine's, the printer's or the staff thread: bring the screen up to date in
        this thread's next loop turn (Kivy's scheduling is thread-safe; the interrupt clock,
        kiosk.ui.env, ends its wait)."""
        if not self._wake_pending:
            self._wake_pending = True
            KivyClock.schedule_once(self._woken, 0)

    def _woken(self, dt: float) -> None:
        self._wake_pending = False  # first: events that come during this frame wake another
        self._frame(dt)

    def _frame(self, dt: float) -> None:
        """Bring the screen up to date, then sleep until its next timer."""
        assert self.view is not None
        self.frames += 1
        self._render(self.controller.pump())
        self._sleep_until(self.controller.next_change())
        if not self._ready and self.controller.state.screen is not Screen.STARTING:
            self._ready = True  # the engine has answered: the station is up ...
            Window.bind(on_flip=self._first_frame_drawn)  # ... once the screen shows it
        if self.on_frame is not None:
            self.on_frame(self)

    def _first_frame_drawn(self, window: Any) -> None:
        """READY=1 (systemd, and anything timing the start) once the first frame of the
        station's first real screen is on the display, with a log line saying so."""
        Window.unbind(on_flip=self._first_frame_drawn)
        screen = self.controller.state.screen.value
        log.info("ready: the first frame of the %s screen is drawn", screen)
        self.notifier.ready(f"screen: {screen}")

    def _sleep_until(self, instant: timedelta | None) -> None:
        if self._next_change is not None:
            self._next_change.cancel()
            self._next_change = None
        if instant is None:
            return
        seconds = (instant - self.controller.clock.monotonic()).total_seconds()
        # Kivy runs a timer a little early (measured: 2 ms, and then at once again for the
        # rest, hundreds of frames in a row, each finding the instant not yet come). A
        # loop turn later it surely has; no one sees a screen timer 17 ms late.
        seconds += TIMER_EARLY_SECONDS
        self._next_change = KivyClock.schedule_once(self._frame, max(0.0, seconds))

    def _housekeeping(self, dt: float) -> None:
        self.notifier.watchdog()  # a frozen main loop stops this, and systemd restarts us
        now = time.monotonic()
        quiet = now - self._last_key > GC_QUIET_SECONDS
        if quiet or now - self._last_collect > GC_FORCE_SECONDS:
            gc.collect()
            self._last_collect = now

    def _on_request_close(self, *args: Any, **kwargs: Any) -> bool:
        if self._allow_close:
            return False
        log.info("a request to close the kiosk window was ignored")
        return True  # True: handled, the window stays open (Alt-F4, window manager close)

    def _on_key_down(
        self, window: Any, key: int, scancode: int, codepoint: str | None, modifiers: list[str]
    ) -> bool:
        self._last_key = time.monotonic()
        if key in ENTER_KEYS:
            self.controller.enter(self._last_key)
        # Every key is ours: Escape, Ctrl-C, Alt-F4, F1 ... do nothing on a kiosk.
        return True

    def _on_textinput(self, window: Any, text: str) -> bool:
        self._last_key = time.monotonic()
        self.controller.key(text, self._last_key)
        return True


def run_app(app: KioskApp) -> None:
    app.run()


def screenshot(path: Path) -> Path:
    """Save the window as a PNG at exactly `path` (Kivy adds a counter to the name)."""
    saved = Window.screenshot(name=str(path.with_name(path.stem + "%(counter)s" + path.suffix)))
    if not saved:
        raise RuntimeError("the window could not be captured")
    produced = Path(saved)
    produced.replace(path)
    return path
