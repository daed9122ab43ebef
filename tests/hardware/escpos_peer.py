"""The printer end of an ESC/POS line, for tests: it records what it is sent and answers the
DLE EOT real-time status queries the way an Epson TM printer does.

Answer bits (ESC/POS DLE EOT n; python-escpos constants RT_MASK_*):
  n=1 printer status: bits 1 and 4 always set (0x12); bit 3 (0x08) = offline.
  n=4 roll paper sensor: 0x12 fixed; bits 2-3 (0x0C) = near end; bits 5-6 (0x60) = paper out.

`TcpPrinter` listens on 127.0.0.1 (a network printer's port 9100, on a free port);
`PtyPrinter` sits on the master side of a pty pair (a serial printer).
"""

from __future__ import annotations

import os
import select
import socket
import threading
from dataclasses import dataclass, field

DLE_EOT = b"\x10\x04"
FIXED = 0x12
OFFLINE_BIT = 0x08
NEAR_END_BITS = 0x0C
PAPER_END_BITS = 0x60


@dataclass
class PrinterPanel:
    """What the emulated printer reports; tests flip these like a technician would."""

    online: bool = True
    paper: str = "ok"  # "ok", "low", "out"
    answers: bool = True  # False: a printer that hangs and never answers

    def answer(self, n: int) -> bytes:
        if not self.answers:
            return b""
        if n == 1:
            return bytes([FIXED | (0 if self.online else OFFLINE_BIT)])
        if n == 4:
            bits = {"ok": 0, "low": NEAR_END_BITS, "out": NEAR_END_BITS | PAPER_END_BITS}
            return bytes([FIXED | bits[self.paper]])
        return bytes([FIXED])


@dataclass
class Conversation:
    """One connection: the status queries (the n of each DLE EOT n) and every other byte."""

    queries: list[int] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    _pending: bytes = b""

    def feed(self, chunk: bytes, panel: PrinterPanel) -> bytes:
        """Take received bytes; return the answers to send back."""
        buf = self._pending + chunk
        answers = b""
        while True:
            at = buf.find(DLE_EOT)
            if at == -1:
                keep = 1 if buf.endswith(DLE_EOT[:1]) else 0
                self.data += buf[: len(buf) - keep]
                self._pending = buf[len(buf) - keep :]
                return answers
            if at + 2 >= len(buf):  # DLE EOT without its n yet
                self.data += buf[:at]
                self._pending = buf[at:]
                return answers
            self.data += buf[:at]
            n = buf[at + 2]
            self.queries.append(n)
            answers += panel.answer(n)
            buf = buf[at + 3 :]


class TcpPrinter:
    """A network receipt printer on 127.0.0.1. Each accepted connection is a Conversation."""

    def __init__(self, port: int = 0) -> None:
        self.panel = PrinterPanel()
        self.conversations: list[Conversation] = []
        self._finished = threading.Condition()
        self._done = 0
        self._accepted = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen()
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()

    @property
    def received(self) -> bytes:
        """Every non-query byte of every finished conversation."""
        with self._finished:
            return b"".join(bytes(c.data) for c in self.conversations)

    def wait_finished(self, count: int, timeout: float = 5.0) -> None:
        with self._finished:
            if not self._finished.wait_for(lambda: self._done >= count, timeout):
                raise AssertionError(f"{self._done} of {count} conversations finished")

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until every accepted connection has been closed and recorded."""
        with self._finished:
            if not self._finished.wait_for(lambda: self._done >= self._accepted, timeout):
                raise AssertionError("a connection to the printer is still open")

    def stop(self) -> None:
        self._stop.set()
        self._accepter.join(2)
        self._sock.close()
        for thread in self._threads:
            thread.join(2)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._finished:
                self._accepted += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        talk = Conversation()
        conn.settimeout(0.05)
        with conn:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                answer = talk.feed(chunk, self.panel)
                if answer:
                    conn.sendall(answer)
        with self._finished:
            self.conversations.append(talk)
            self._done += 1
            self._finished.notify_all()


class PtyPrinter:
    """A serial receipt printer on the master side of a pty; the app opens `device`."""

    def __init__(self) -> None:
        import pty
        import tty

        self.panel = PrinterPanel()
        self.talk = Conversation()
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        self.device = os.ttyname(self._slave)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def received_when(self, ends_with: bytes, timeout: float = 5.0) -> bytes:
        """The non-query bytes, once they end with `ends_with` (or whatever came by then)."""
        done = threading.Event()
        for _ in range(int(timeout / 0.02)):
            with self._lock:
                if bytes(self.talk.data).endswith(ends_with):
                    break
            done.wait(0.02)
        with self._lock:
            return bytes(self.talk.data)

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until every accepted connection has been closed and recorded."""
        with self._finished:
            if not self._finished.wait_for(lambda: self._done >= self._accepted, timeout):
                raise AssertionError("a connection to the printer is still open")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self._master)
        os.close(self._slave)

    def _loop(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            with self._lock:
                answer = self.talk.feed(chunk, self.panel)
            if answer:
                os.write(self._master, answer)
