"""The real kiosk app offscreen on the real clock, nobody driving its frames: does it sleep
when nothing changes, and wake exactly for what does? Writes what it saw as JSON.

    python -m tests.ui.asleep CONFIG OUT_DIR

Unlike tests.ui.driver (a ManualClock and frames driven 30 times a second, as a script that
moves a manual clock needs), this runs the app as `kiosk run` does: the system clock, and
frames only when the app decides to draw one. Every frame is recorded (the monotonic time,
the screen, the countdown's words), so the test can count them and see when each came. The
timeline below only posts scans, as a serial scanner does; then it waits for the screens'
own timers. Nothing is asserted here: test_asleep.py reads OUT_DIR/result.json.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from kiosk.presenter.presenter import Screen
from kiosk.runtime.clock import SystemClock
from tests.conftest import item, patron

IDLE_SECONDS = 3.0  # left alone on the Welcome screen, this long
GIVE_UP_SECONDS = 40.0  # the whole timeline; a screen that never comes back ends it here
UNKNOWN_CARD = patron(999)  # not in the snapshot: refused
CARD = patron(1)  # may borrow


class Probe:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.frames: list[dict[str, Any]] = []
        self.marks: dict[str, float] = {}
        self.error: str | None = None
        self._phase = "start"
        self._started = time.monotonic()

    # Every frame the app draws, whoever asked for it.
    def on_frame(self, app: Any) -> None:
        shown = app.view.shown
        self.frames.append(
            {
                "at": time.monotonic(),
                "screen": app.controller.state.screen.value,
                "countdown": shown.countdown if shown is not None else "",
                "items": len(app.controller.state.loans),
                "phase": self._phase,
            }
        )
        try:
            self._next(app.controller.state.screen)
        except Exception:
            self._fail(traceback.format_exc())
        if time.monotonic() - self._started > GIVE_UP_SECONDS:
            self._fail(f"the timeline did not end within {GIVE_UP_SECONDS} s (at {self._phase})")

    def _next(self, screen: Screen) -> None:
        from kivy.clock import Clock

        phase = self._phase
        if phase == "start" and screen is Screen.WELCOME:
            self._enter("idle")
            Clock.schedule_once(lambda dt: self._idle_over(), IDLE_SECONDS)
        elif phase == "refused" and screen is Screen.REFUSED:
            self._enter("refused shown")
        elif phase == "refused shown" and screen is Screen.WELCOME:
            self._enter("back to welcome")
            self._scan(CARD, "session")
        elif phase == "session" and screen is Screen.CHECKOUT:
            self._enter("checkout")
            self._scan(item(1), "item")
        elif phase == "item" and self.app.controller.state.loans:
            self._enter("item shown")  # now the session's idle timer runs: nobody touches it
        elif phase == "item shown" and screen is not Screen.CHECKOUT:
            self._enter("session ended")
        elif phase == "session ended" and screen is Screen.WELCOME:
            self._enter("done")
            self.app.shutdown()

    def _idle_over(self) -> None:
        self._enter("idle over")
        self._scan(UNKNOWN_CARD, "refused")

    def _scan(self, code: str, phase: str) -> None:
        self._phase = phase
        self.marks[f"{phase}: scanned"] = time.monotonic()
        self.app.controller.worker.scan(code)  # the route a serial scanner's scan takes

    def _enter(self, phase: str) -> None:
        self._phase = phase
        self.marks[phase] = time.monotonic()

    def give_up(self) -> None:
        self._fail(f"the timeline did not end within {GIVE_UP_SECONDS} s (at {self._phase})")

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message
            self.app.shutdown()


def main(config_path: str, out: str) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = load_config(Path(config_path))

    from kiosk.cli.run import build_runtime
    from kiosk.ui.env import prepare

    prepare(out_dir / "kivy", offscreen=True)
    from kivy.clock import Clock

    from kiosk.ui.launch import build_app

    clock = SystemClock()
    app = build_app(config, build_runtime(config, clock), clock, silent=True)
    probe = Probe(app)
    app.on_frame = probe.on_frame  # told of every frame; never asks for one (no app.drive)
    Clock.schedule_once(lambda dt: probe.give_up(), GIVE_UP_SECONDS)
    data: dict[str, Any] = {}
    try:
        app.run()
    except BaseException:
        probe.error = probe.error or traceback.format_exc()
        raise
    finally:
        data = {
            "error": probe.error,
            "frames": probe.frames,
            "marks": probe.marks,
            "app_frames": app.frames,
            "session": {
                "idle_timeout": config.session.idle_timeout_seconds,
                "countdown": config.session.countdown_seconds,
                "refused": config.session.refused_seconds,
                "goodbye": config.session.goodbye_seconds,
                "finish": config.session.finish_seconds,
            },
        }
        (out_dir / "result.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
