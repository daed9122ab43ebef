"""The one dispatch from inputs to the station: the one loop (kiosk.runtime.worker, the engine's
thread of the Kivy app and of headless mode alike) steps the StationRuntime through
`Engine.step`.

The `match` ends in `assert_never`: an input type nobody handles is a type error (mypy).
"""

from __future__ import annotations

from typing import assert_never

from kiosk.domain.events import Event
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.inbox import (
    Advance,
    ClearSession,
    Done,
    EndOfInput,
    Input,
    Rejected,
    Scan,
    Shutdown,
    StillHere,
    Tick,
)
from kiosk.runtime.station import StationRuntime


class Engine:
    def __init__(self, runtime: StationRuntime) -> None:
        self.runtime = runtime

    def step(self, message: Input) -> list[Event]:
        runtime = self.runtime
        match message:
            case Scan(text=text):
                return runtime.scan(text)
            case Rejected(shown=shown, reason=reason):
                return runtime.reject(shown, reason)
            case Done():
                return runtime.done()
            case StillHere():
                return runtime.still_here()
            case ClearSession():
                return runtime.clear_session()
            case Tick():
                return runtime.tick()
            case Advance(seconds=seconds, refused=refused):
                if not isinstance(runtime.clock, ManualClock):
                    raise TypeError("Advance needs a manual clock (--clock)")
                try:
                    runtime.clock.advance(seconds)
                except (ValueError, OverflowError):
                    if refused is None:
                        raise
                    return runtime.reject(refused.shown, refused.reason)
                return runtime.tick()
            case EndOfInput():
                return runtime.end_of_input()
            case Shutdown():
                return runtime.shutdown()
            case _:
                assert_never(message)
