"""Turning a byte stream from a scanner (or standard input) into scans.

Pure: bytes in, framed lines out. Reader loops only move bytes into `LineFramer.feed`.
A line longer than the limit is never buffered whole: it is cut off, reported once as
over-long, and the rest of it is skipped up to the next line end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CR = 0x0D
LF = 0x0A

# Which bytes end a line: "any" takes LF, CR or CRLF (a scanner may send any of them);
# "cr", "lf" and "crlf" take only that one (the other bytes are then data); "none" never
# ends a line, so only finish() does (scanners that send no terminator).
LineEnd = Literal["any", "cr", "lf", "crlf", "none"]
LINE_ENDS: tuple[LineEnd, ...] = ("any", "cr", "lf", "crlf", "none")


@dataclass(frozen=True)
class Frame:
    data: bytes
    overlong: bool = False  # data is only the start of a line that was too long


class LineFramer:
    """Splits on LF, CR or CRLF (a scanner may send any of them), or on one chosen line end."""

    def __init__(self, max_length: int = 4096, line_end: LineEnd = "any") -> None:
        if line_end not in LINE_ENDS:
            raise ValueError(f"unknown line end {line_end!r}; use one of {', '.join(LINE_ENDS)}")
        self.max_length = max_length
        self.line_end = line_end
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line, waiting for its end
        self._after_cr = False  # "any": the last byte was a CR; "crlf": a CR is held back

    def feed(self, chunk: bytes) -> list[Frame]:
        frames: list[Frame] = []
        for byte in chunk:
            if self.line_end == "any":
                if byte == LF and self._after_cr:  # the LF of a CRLF
                    self._after_cr = False
                    continue
                self._after_cr = byte == CR
                if byte in (LF, CR):
                    self._end_line(frames)
                    continue
            elif self.line_end == "crlf":
                if self._after_cr:
                    self._after_cr = False
                    if byte == LF:
                        self._end_line(frames)
                        continue
                    self._append(CR, frames)  # a lone CR is data
                if byte == CR:  # held back until the next byte says what it is
                    self._after_cr = True
                    continue
            elif (self.line_end == "lf" and byte == LF) or (self.line_end == "cr" and byte == CR):
                self._end_line(frames)
                continue
            self._append(byte, frames)
        return frames

    def finish(self) -> list[Frame]:
        """End of stream: a last line without a line end still counts."""
        frames: list[Frame] = []
        if self.line_end == "crlf" and self._after_cr:
            self._append(CR, frames)
        if not self._skipping and self._buffer:
            frames.append(Frame(bytes(self._buffer)))
        self._buffer.clear()
        self._skipping = False
        self._after_cr = False
        return frames

    def reset(self) -> None:
        """Forget a partial line (the device went away mid-line)."""
        self._buffer.clear()
        self._skipping = False
        self._after_cr = False

    def _end_line(self, frames: list[Frame]) -> None:
        if not self._skipping:
            frames.append(Frame(bytes(self._buffer)))
        self._buffer.clear()
        self._skipping = False

    def _append(self, byte: int, frames: list[Frame]) -> None:
        if self._skipping:
            return
        self._buffer.append(byte)
        if len(self._buffer) > self.max_length:
            frames.append(Frame(bytes(self._buffer[: self.max_length]), overlong=True))
            self._buffer.clear()
            self._skipping = True
