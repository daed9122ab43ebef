"""From a serial scanner's bytes to scans: pure, so every rule is tested without a device.

Bytes are framed into lines (or, for scanners that send no terminator, into bursts that end
when the line goes quiet), then each frame is cleaned of what the scanner was set up to add:
a configured prefix and suffix, an AIM symbology identifier (`]F0` ...) and Codabar start/stop
characters (`A`-`D`). What is left must be UTF-8 text without control characters and no longer
than `max_length`; anything else is a `Rejected` with a plain reason, never an exception.
"""

from __future__ import annotations

from typing import Literal

from hardware.framing import Frame, LineEnd, LineFramer
from hardware.scanner import Rejected, Scanned, check_scan, printable

Terminator = Literal["any", "cr", "lf", "crlf", "idle"]
TERMINATORS: tuple[Terminator, ...] = ("any", "cr", "lf", "crlf", "idle")

CODABAR_START_STOP = frozenset("ABCDabcd")  # some scanners send them in lower case
CODABAR_DATA = frozenset("0123456789-$:/.+")
# UTF-8 takes up to 4 bytes a character; a frame is cut off (and rejected) only when it could
# not possibly fit, so the exact limit is decided on the cleaned text by check_scan.
BYTES_PER_CHAR = 4
AIM_LENGTH = 3  # "]", the symbology code, the modifier


class ScanDecoder:
    """Bytes in (with the time they came), scans and rejected reads out."""

    def __init__(
        self,
        source: str,
        *,
        terminator: Terminator = "any",
        prefix: str = "",
        suffix: str = "",
        strip_aim: bool = True,
        strip_codabar: bool = True,
        max_length: int = 64,
        idle_gap: float = 0.05,
    ) -> None:
        if terminator not in TERMINATORS:
            raise ValueError(
                f"unknown terminator {terminator!r}; use one of {', '.join(TERMINATORS)}"
            )
        if max_length < 1:
            raise ValueError("max_length must be at least 1")
        self.source = source
        self.terminator = terminator
        self.prefix = prefix
        self.suffix = suffix
        self.strip_aim = strip_aim
        self.strip_codabar = strip_codabar
        self.max_length = max_length
        self.idle_gap = idle_gap
        extras = len(prefix.encode()) + len(suffix.encode()) + AIM_LENGTH + 2
        line_end: LineEnd = "none" if terminator == "idle" else terminator
        self._framer = LineFramer(max_length * BYTES_PER_CHAR + extras, line_end)
        self._last_byte_at: float | None = None  # "idle": when the current burst last grew

    def feed(self, data: bytes, now: float) -> list[Scanned | Rejected]:
        """Bytes that arrived at `now` (seconds, any monotonic clock)."""
        out: list[Scanned | Rejected] = []
        if self.terminator == "idle":
            # A gap before these bytes ends the burst before them, even if idle() was not
            # called in the gap.
            out += self.idle(now)
            if data:
                self._last_byte_at = now
        return out + self._decode_all(self._framer.feed(data))

    def idle(self, now: float, gap: float | None = None) -> list[Scanned | Rejected]:
        """No bytes came up to `now`: with terminator "idle", a burst that has been quiet for
        `gap` seconds (default: idle_gap) is a whole frame. Other terminators wait for theirs."""
        if self.terminator != "idle" or self._last_byte_at is None:
            return []
        if now - self._last_byte_at < (self.idle_gap if gap is None else gap):
            return []
        self._last_byte_at = None
        return self._decode_all(self._framer.finish())

    def reset(self) -> None:
        """Forget a partial frame: the device went away, and what it sent half is no scan."""
        self._framer.reset()
        self._last_byte_at = None

    def _decode_all(self, frames: list[Frame]) -> list[Scanned | Rejected]:
        out: list[Scanned | Rejected] = []
        for frame in frames:
            message = self._decode(frame)
            if message is not None:
                out.append(message)
        return out

    def _decode(self, frame: Frame) -> Scanned | Rejected | None:
        if frame.overlong:
            return self._reject(frame.data, f"longer than {self.max_length} characters")
        if not frame.data:
            return None
        try:
            text = frame.data.decode("utf-8")
        except UnicodeDecodeError:
            return self._reject(frame.data, "not UTF-8 text")
        text = self.clean(text)
        if not text:
            return None  # only the scanner's own additions: nothing was read
        reason = check_scan(text, self.max_length)
        if reason is not None:
            return self._reject(frame.data, reason)
        return Scanned(self.source, text)

    def clean(self, text: str) -> str:
        """Remove what the scanner adds around the data, in the order scanners send it:
        prefix, AIM identifier, (Codabar start, data, stop), suffix."""
        if self.prefix and text.startswith(self.prefix):
            text = text[len(self.prefix) :]
        if self.suffix and text.endswith(self.suffix):
            text = text[: -len(self.suffix)]
        symbology = None
        if self.strip_aim and is_aim_identifier(text[:AIM_LENGTH]):
            symbology = text[1]
            text = text[AIM_LENGTH:]
        # An AIM identifier that names another symbology says the A-D are data, not Codabar.
        if self.strip_codabar and symbology in (None, "F") and is_codabar_framed(text):
            text = text[1:-1]
        return text

    def _reject(self, data: bytes, reason: str) -> Rejected:
        shown = printable(data.decode("utf-8", errors="replace"), limit=self.max_length)
        return Rejected(self.source, shown, reason)


def is_aim_identifier(text: str) -> bool:
    """`]` + a symbology code letter + a modifier character (ISO/IEC 15424)."""
    return (
        len(text) == AIM_LENGTH
        and text[0] == "]"
        and text[1].isascii()
        and text[1].isalpha()
        and text[2].isascii()
        and text[2].isalnum()
    )


def is_codabar_framed(text: str) -> bool:
    """A-D at both ends around Codabar data (digits and -$:/.+)."""
    return (
        len(text) > 2
        and text[0] in CODABAR_START_STOP
        and text[-1] in CODABAR_START_STOP
        and all(ch in CODABAR_DATA for ch in text[1:-1])
    )
