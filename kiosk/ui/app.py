"""The Kivy application: a locked-down full-screen window around the KioskView.

Only this module and kiosk.ui.view touch Kivy; both only run on Kivy's main thread.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock as KivyClock
from kivy.core.window import Window

from kiosk.config import KioskConfig
from kiosk.presenter.presenter import Action
from kiosk.ui.controller import KioskController
from kiosk.ui.view import KioskView, Theme

log = logging.getLogger(__name__)

ENTER_KEYS = {13, 271}  # Return, keypad Enter
FRAME_SECONDS = 1 / 30


class KioskApp(App):
    title = "Library self-checkout"

    def __init__(
        self,
        controller: KioskController,
        config: KioskConfig,
        *,
        on_frame: Callable[[KioskApp], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.controller = controller
        self.kiosk_config = config
        self.on_frame = on_frame
        self.use_kivy_settings = False
        self.view: KioskView | None = None
        self._allow_close = False

    def build(self) -> KioskView:
        display = self.kiosk_config.display
        theme = Theme(display.theme.model_dump())
        Window.clearcolor = theme["background"]
        Window.show_cursor = display.show_cursor
        Window.bind(on_request_close=self._on_request_close)
        Window.bind(on_key_down=self._on_key_down, on_textinput=self._on_textinput)
        self.view = KioskView(theme, self.press, display.logo)
        self.view.render(self.controller.pump())
        KivyClock.schedule_interval(self._frame, FRAME_SECONDS)
        # systemd stops the kiosk with SIGTERM: close cleanly (the spool is durable anyway).
        signal.signal(
            signal.SIGTERM, lambda *_: KivyClock.schedule_once(lambda dt: self.shutdown())
        )
        return self.view

    def on_start(self) -> None:
        self.controller.worker.start()

    def open_settings(self, *args: Any) -> bool:
        return False  # Kivy opens its settings panel on F1: not on a kiosk

    def press(self, action: Action) -> None:
        self.controller.press(action)
        self._frame(0)

    def shutdown(self) -> None:
        """Close the kiosk (SIGTERM from systemd; staff mode later). Patrons cannot."""
        self._allow_close = True
        self.stop()

    def on_stop(self) -> None:
        self.controller.worker.stop()
        self.controller.receipts.close()

    def _frame(self, dt: float) -> None:
        assert self.view is not None
        self.view.render(self.controller.pump())
        if self.on_frame is not None:
            self.on_frame(self)

    def _on_request_close(self, *args: Any, **kwargs: Any) -> bool:
        if self._allow_close:
            return False
        log.info("a request to close the kiosk window was ignored")
        return True  # True: handled, the window stays open (Alt-F4, window manager close)

    def _on_key_down(
        self, window: Any, key: int, scancode: int, codepoint: str | None, modifiers: list[str]
    ) -> bool:
        if key in ENTER_KEYS:
            self.controller.enter(time.monotonic())
        # Every key is ours: Escape, Ctrl-C, Alt-F4, F1 ... do nothing on a kiosk.
        return True

    def _on_textinput(self, window: Any, text: str) -> bool:
        self.controller.key(text, time.monotonic())
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
