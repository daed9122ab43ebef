"""Starting the kiosk's parts in dependency order and stopping them in reverse, from one place.

`kiosk run --headless` and the Kivy app both hold their parts (the station lock, the upload
watcher, the station, the engine's thread, the scanners) in one `Parts`: each is started after
what it needs, and when the kiosk stops (the end of input, SIGTERM, the window closing, an
error half-way through starting) whatever was started is stopped, last started first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Parts:
    def __init__(self) -> None:
        self._stack = ExitStack()

    def start(self, name: str, start: Callable[[], T], stop: Callable[[], object]) -> T:
        """Start one part (`start()`), and have it stopped (`stop()`) at the end."""
        log.debug("starting %s", name)
        started = start()
        self._stack.callback(self._stopping, name, stop)
        return started

    def enter(self, part: AbstractContextManager[T]) -> T:
        """A part that is a context manager: entered now, exited at the end."""
        return self._stack.enter_context(part)

    def on_stop(self, name: str, stop: Callable[[], object]) -> None:
        """Something started elsewhere, to be stopped at this point of the reverse order."""
        self._stack.callback(self._stopping, name, stop)

    def stop(self) -> None:
        """Stop every part started, in reverse order (once: a second call does nothing)."""
        self._stack.close()

    def __enter__(self) -> Parts:
        return self

    def __exit__(self, *exc: object) -> bool | None:
        return self._stack.__exit__(*exc)  # type: ignore[arg-type]

    @staticmethod
    def _stopping(name: str, stop: Callable[[], object]) -> None:
        log.debug("stopping %s", name)
        stop()
