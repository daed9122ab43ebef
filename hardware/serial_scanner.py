"""Serial barcode scanners (RS-232, USB CDC-ACM, anything pyserial opens by URL).

A thread of the adapter's own opens the port, moves bytes into a `ScanDecoder` and posts what
comes out. When the port cannot be opened or stops working (the scanner was unplugged) it says
so, waits with an exponential back-off that `stop()` interrupts, and opens the port again
(`ReconnectingReader`, the loop every scanner shares).
Only this thread moves bytes; every rule about what the bytes mean lives in the decoder.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import serial  # type: ignore[import-untyped]

from hardware.scan_decoder import TERMINATORS, ScanDecoder, Terminator
from hardware.scanner import Clock, Post, ReconnectingReader, log_message

log = logging.getLogger(__name__)

READ_TIMEOUT = 0.05  # how long one read waits, so stop() and idle frames are noticed quickly


@dataclass(frozen=True)
class SerialSettings:
    url: str  # a device path (/dev/ttyACM0) or any pyserial URL: loop://, spy://, socket://
    baudrate: int = 9600
    terminator: Terminator = "any"
    idle_gap: float = 0.05  # terminator "idle": seconds of quiet that end a scan
    prefix: str = ""
    suffix: str = ""
    strip_aim: bool = True
    strip_codabar: bool = True
    max_length: int = 64
    retry_min: float = 0.5  # seconds before the first reopen; doubles up to retry_max
    retry_max: float = 30.0

    def __post_init__(self) -> None:
        if not self.url:
            raise ValueError("url is empty")
        if self.terminator not in TERMINATORS:
            raise ValueError(f"terminator must be one of {', '.join(TERMINATORS)}")
        if self.baudrate <= 0 or self.idle_gap <= 0 or self.max_length < 1:
            raise ValueError("baudrate, idle_gap and max_length must be positive")
        if not 0 < self.retry_min <= self.retry_max:
            raise ValueError("retry_min must be positive and not above retry_max")

    def decoder(self, source: str) -> ScanDecoder:
        return ScanDecoder(
            source,
            terminator=self.terminator,
            prefix=self.prefix,
            suffix=self.suffix,
            strip_aim=self.strip_aim,
            strip_codabar=self.strip_codabar,
            max_length=self.max_length,
            idle_gap=self.idle_gap,
        )


class SerialScanner(ReconnectingReader):
    def __init__(
        self, name: str, settings: SerialSettings, *, clock: Clock = time.monotonic
    ) -> None:
        super().__init__(
            name, retry_min=settings.retry_min, retry_max=settings.retry_max, clock=clock
        )
        self.settings = settings
        self._decoder = settings.decoder(name)

    def _session(self, post: Post) -> str | None:
        try:
            port = serial.serial_for_url(
                self.settings.url, baudrate=self.settings.baudrate, timeout=READ_TIMEOUT
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            return f"cannot open {self.settings.url} ({reason(exc)})"
        log.info("scanner %s: connected on %s", self.name, self.settings.url)
        self._connected(post)
        try:
            return self._read(port, post)
        finally:
            self._decoder.reset()  # half a scan from before the problem is no scan

    def _read(self, port: Any, post: Post) -> str | None:
        """Move bytes until stopped (None) or the port fails (what went wrong)."""
        try:
            while not self._stopping.is_set():
                try:
                    data = port.read(port.in_waiting or 1)
                except (serial.SerialException, OSError) as exc:
                    return f"disconnected ({reason(exc)})"
                except Exception as exc:  # a driver's surprise must not end the thread
                    log.error("scanner %s: unexpected error", self.name, exc_info=exc)
                    return f"unexpected error ({type(exc).__name__}: {exc})"
                now = time.monotonic()
                decoded = self._decoder.feed(data, now) if data else self._decoder.idle(now)
                for message in decoded:
                    log_message(log, message)
                    post(message)
            return None
        finally:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("scanner %s: closing the port failed: %s", self.name, exc)


def reason(exc: BaseException) -> str:
    """An exception as a few plain words, without pyserial's repeated prefixes."""
    return str(exc).strip() or type(exc).__name__
