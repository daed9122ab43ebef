"""Turning a byte stream from a scanner (or standard input) into scans.

Pure: bytes in, framed lines out. Reader loops only move bytes into `LineFramer.feed`.
A line longer than the limit is never buffered whole: it is cut off, reported once as
over-long, and the rest of it is skipped up to the next line end.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    data: bytes
    overlong: bool = False  # data is only the start of a line that was too long


class LineFramer:
    """Splits on LF, CR or CRLF (a scanner may send any of them)."""

    def __init__(self, max_length: int = 4096) -> None:
        self.max_length = max_length
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line, waiting for its end
        self._after_cr = False

    def feed(self, chunk: bytes) -> list[Frame]:
        frames: list[Frame] = []
        for byte in chunk:
            if byte == 0x0A and self._after_cr:  # the LF of a CRLF
                self._after_cr = False
                continue
            self._after_cr = byte == 0x0D
            if byte in (0x0A, 0x0D):
                if not self._skipping:
                    frames.append(Frame(bytes(self._buffer)))
                self._buffer.clear()
                self._skipping = False
                continue
            if self._skipping:
                continue
            self._buffer.append(byte)
            if len(self._buffer) > self.max_length:
                frames.append(Frame(bytes(self._buffer[: self.max_length]), overlong=True))
                self._buffer.clear()
                self._skipping = True
        return frames

    def finish(self) -> list[Frame]:
        """End of stream: a last line without a line end still counts."""
        frames = [] if self._skipping or not self._buffer else [Frame(bytes(self._buffer))]
        self._buffer.clear()
        self._skipping = False
        self._after_cr = False
        return frames
