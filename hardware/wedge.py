"""Keyboard-wedge scanners: a scanner that types.

A scanner types a whole barcode as a burst of keys a few milliseconds apart and ends it with
Enter; a person types far slower. Pure: keys and their times in, scans out. A key that comes
longer than `max_gap` after the previous one starts a new burst, so stray typing on a
keyboard never forms a barcode, and Enter after a pause sends nothing.

Keys reach the decoder through an event loop (a window's), which hands a key in when it gets
round to reading its input queue, not when the key came: keys typed while a frame takes
150 ms to draw wait in the queue and are handled together after it, 150 ms after the key
handled before that frame. So the gap is measured up to the earliest the key can have come:
the moment the loop last found its queue empty (`caught_up`). For a caller that never says
when that was, a key's handling time is taken as the time it came.
"""

from __future__ import annotations


class WedgeDecoder:
    def __init__(self, max_gap: float = 0.1, min_length: int = 4, max_length: int = 256) -> None:
        self.max_gap = max_gap
        self.min_length = min_length
        self.max_length = max_length
        self._chars: list[str] = []
        self._last: float | None = None  # when the last key was handled: it came by then
        self._caught_up: float | None = None

    def caught_up(self, at: float) -> None:
        """The event loop read its input queue empty at `at`: every key it hands in from now
        on came after `at`, however much later it is handled. Call it after every read."""
        self._caught_up = at

    def key(self, text: str, at: float) -> None:
        """Characters handled at time `at` (seconds, any monotonic clock)."""
        if self._last is None or self._gap(at) > self.max_gap:
            self._chars = []
        self._last = at
        # Past the cap the rest of the burst is dropped: what is kept is always the start of
        # what was typed, never a splice of its pieces.
        room = self.max_length - len(self._chars)
        self._chars.extend(text[: max(room, 0)])

    def enter(self, at: float) -> str | None:
        """Enter handled at `at`: the burst so far, if it was a scanner's, else None."""
        burst = "".join(self._chars)
        in_time = self._last is not None and self._gap(at) <= self.max_gap
        self._chars = []
        self._last = None
        if in_time and len(burst) >= self.min_length:
            return burst
        return None

    def _gap(self, at: float) -> float:
        """The shortest the time can have been from the last key to one handled at `at`: a
        key handled late (the loop was busy) may have come right after the last read."""
        assert self._last is not None
        came = at if self._caught_up is None else min(at, self._caught_up)
        return came - self._last
