"""A scanner that is not there: for tests, demos and a laptop (`type = "fake"` in the config).

It behaves like a serial scanner from the outside: bytes go through the same `ScanDecoder`
on a thread of its own, so garbage is rejected the same way, and it can be unplugged and
plugged back in. While unplugged, what is scanned is lost, as with a real device.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from enum import Enum

from hardware.scan_decoder import ScanDecoder
from hardware.scanner import JOIN_TIMEOUT, Post, StatusChanged, log_message

log = logging.getLogger(__name__)


class _Plug(Enum):
    UNPLUG = "unplug"
    REPLUG = "replug"
    STOP = "stop"


class FakeScanner:
    """Fault switches: `send(raw)` puts any bytes on the wire, `unplug()` and `replug()`.

    script: lines scanned one by one once started, `interval` seconds apart (the first one
        after `interval` too, so a kiosk has time to come up).
    """

    def __init__(
        self,
        name: str,
        *,
        script: Iterable[str] = (),
        interval: float = 0.0,
        max_length: int = 64,
    ) -> None:
        self.name = name
        self.script = tuple(script)
        self.interval = interval
        self._decoder = ScanDecoder(name, terminator="any", max_length=max_length)
        self._inbox: queue.Queue[bytes | _Plug] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, post: Post) -> None:
        if self._threads:
            raise RuntimeError(f"scanner {self.name} is already started")
        self._stopping.clear()
        self._inbox = queue.Queue()
        self._threads = [
            threading.Thread(
                target=self._run, args=(post,), name=f"scanner-{self.name}", daemon=True
            )
        ]
        if self.script:
            self._threads.append(
                threading.Thread(
                    target=self._play_script, name=f"scanner-{self.name}-script", daemon=True
                )
            )
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._inbox.put(_Plug.STOP)
        for thread in self._threads:
            thread.join(JOIN_TIMEOUT)
        self._threads = []

    # Fault switches -------------------------------------------------------------------------

    def scan(self, text: str) -> None:
        """A label is scanned (the scanner adds a CR, as most do)."""
        self.send(text.encode("utf-8") + b"\r")

    def send(self, raw: bytes) -> None:
        """These bytes arrive from the device, whatever they are."""
        self._inbox.put(bytes(raw))

    def unplug(self) -> None:
        self._inbox.put(_Plug.UNPLUG)

    def replug(self) -> None:
        self._inbox.put(_Plug.REPLUG)

    # The device's own threads ---------------------------------------------------------------

    def _run(self, post: Post) -> None:
        plugged = True
        post(StatusChanged(self.name, True, "connected"))
        while True:
            item = self._inbox.get()
            if item is _Plug.STOP:
                return
            if item is _Plug.UNPLUG:
                if plugged:
                    plugged = False
                    self._decoder.reset()
                    log.warning("scanner %s: unplugged (fake)", self.name)
                    post(StatusChanged(self.name, False, "unplugged (fake scanner)"))
            elif item is _Plug.REPLUG:
                if not plugged:
                    plugged = True
                    log.info("scanner %s: plugged back in (fake)", self.name)
                    post(StatusChanged(self.name, True, "connected"))
            elif isinstance(item, bytes):
                if not plugged:
                    log.debug("scanner %s: unplugged, %d bytes lost", self.name, len(item))
                    continue
                for message in self._decoder.feed(item, 0.0):
                    log_message(log, message)
                    post(message)

    def _play_script(self) -> None:
        for line in self.script:
            if self._stopping.wait(self.interval):
                return
            self.scan(line)
