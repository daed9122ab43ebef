"""Keyboard-wedge scanners: a scanner that types.

A scanner types a whole barcode as a burst of keys a few milliseconds apart and ends it with
Enter; a person types far slower. Pure: keys and their times in, scans out. A key that comes
longer than `max_gap` after the previous one starts a new burst, so stray typing on a
keyboard never forms a barcode, and Enter after a pause sends nothing.
"""

from __future__ import annotations


class WedgeDecoder:
    def __init__(self, max_gap: float = 0.1, min_length: int = 4, max_length: int = 256) -> None:
        self.max_gap = max_gap
        self.min_length = min_length
        self.max_length = max_length
        self._chars: list[str] = []
        self._last: float | None = None

    def key(self, text: str, at: float) -> None:
        """Characters typed at time `at` (seconds, any monotonic clock)."""
        if self._last is None or at - self._last > self.max_gap:
            self._chars = []
        self._last = at
        # Past the cap the rest of the burst is dropped: what is kept is always the start of
        # what was typed, never a splice of its pieces.
        room = self.max_length - len(self._chars)
        self._chars.extend(text[: max(room, 0)])

    def enter(self, at: float) -> str | None:
        """Enter pressed: the burst so far, if it was a scanner's, else None."""
        burst = "".join(self._chars)
        in_time = self._last is not None and at - self._last <= self.max_gap
        self._chars = []
        self._last = None
        if in_time and len(burst) >= self.min_length:
            return burst
        return None
