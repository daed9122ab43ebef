"""Serial barcode scanners (RS-232, USB CDC-ACM, anything pyserial opens by URL).

A thread of the adapter's own opens the port, moves bytes into a `ScanDecoder` and posts what
comes out. When the port cannot be opened or stops working (the scanner was unplugged) it says
so, waits with an exponential back-off that `stop()` interrupts, and opens the port again.
Only this thread moves bytes; every rule about what the bytes mean lives in the decoder.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import serial  # type: ignore[import-untyped]

from hardware.scan_decoder import TERMINATORS, ScanDecoder, Terminator
from hardware.scanner import Post, ReaderThread, StatusChanged, log_message

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


class SerialScanner(ReaderThread):
    def __init__(self, name: str, settings: SerialSettings) -> None:
        super().__init__(name)
        self.settings = settings

    def _run(self, post: Post) -> None:
        delay = self.settings.retry_min
        decoder = self.settings.decoder(self.name)
        while not self._stopping.is_set():
            problem: str | None
            try:
                port = serial.serial_for_url(
                    self.settings.url, baudrate=self.settings.baudrate, timeout=READ_TIMEOUT
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                problem = f"cannot open {self.settings.url} ({reason(exc)})"
            except Exception as exc:  # a reader thread must never die silently
                log.error("scanner %s: unexpected error", self.name, exc_info=exc)
                problem = f"unexpected error ({type(exc).__name__}: {exc})"
            else:
                log.info("scanner %s: connected on %s", self.name, self.settings.url)
                post(StatusChanged(self.name, True, "connected"))
                problem, lasted = self._read(port, decoder, post)
                decoder.reset()  # half a scan from before the problem is no scan
                if lasted >= self.settings.retry_max:
                    delay = self.settings.retry_min  # it worked for a while: start over
            if problem is None or self._stopping.is_set():
                break
            detail = f"{problem}; retrying in {delay:g} s"
            log.warning("scanner %s: %s", self.name, detail)
            post(StatusChanged(self.name, False, detail))
            if self._stopping.wait(delay):
                break
            delay = min(delay * 2, self.settings.retry_max)

    def _read(self, port: Any, decoder: ScanDecoder, post: Post) -> tuple[str | None, float]:
        """Move bytes until stopped (None) or the port fails (what went wrong), and how long
        the connection lasted."""
        opened = time.monotonic()
        try:
            while not self._stopping.is_set():
                try:
                    data = port.read(port.in_waiting or 1)
                except (serial.SerialException, OSError) as exc:
                    return f"disconnected ({reason(exc)})", time.monotonic() - opened
                except Exception as exc:  # a driver's surprise must not end the thread
                    log.error("scanner %s: unexpected error", self.name, exc_info=exc)
                    problem = f"unexpected error ({type(exc).__name__}: {exc})"
                    return problem, time.monotonic() - opened
                now = time.monotonic()
                for message in decoder.feed(data, now) if data else decoder.idle(now):
                    log_message(log, message)
                    post(message)
            return None, time.monotonic() - opened
        finally:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("scanner %s: closing the port failed: %s", self.name, exc)


def reason(exc: BaseException) -> str:
    """An exception as a few plain words, without pyserial's repeated prefixes."""
    return str(exc).strip() or type(exc).__name__
