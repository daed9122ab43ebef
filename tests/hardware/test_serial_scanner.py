"""One contract for every serial-style scanner adapter, run against the fake and the real
SerialScanner (over a TCP socket:// connection and over a pseudo-terminal), then what only
the real adapter or only the fake does.

The real adapter is driven through real transports, never a patched pyserial: a local TCP
server stands for a network serial device (closing the listener is an unplug), and a pty pair
stands for a USB serial scanner (the scanner opens a symlink, like a udev name; unplugging
closes the pty and removes the link, replugging points the link at a new pty).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pty
import queue
import socket
import threading
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hardware.fake_scanner import FakeScanner
from hardware.scanner import Rejected, Scanned, Scanner, ScannerMessage, StatusChanged
from hardware.serial_scanner import SerialScanner, SerialSettings

ITEM = "31234000000016"
PATRON = "23023400051786"
WAIT = 5.0  # upper bound for anything to arrive; tests never take it unless they fail


def fast_settings(url: str, **options: object) -> SerialSettings:
    return SerialSettings(url, retry_min=0.05, retry_max=0.2, **options)  # type: ignore[arg-type]


def scanner_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"scanner-{name}")]


# Stand-ins for the device at the other end ----------------------------------------------------


class TcpDevice:
    """A network serial device: the scanner connects to socket://127.0.0.1:port."""

    def __init__(self) -> None:
        self.port = 0
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._accepted = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def plug(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conn = conn
            self._accepted.set()

    def write(self, raw: bytes) -> None:
        assert self._accepted.wait(WAIT), "the scanner never connected"
        assert self._conn is not None
        with contextlib.suppress(OSError):  # the scanner may have gone (after stop)
            self._conn.sendall(raw)

    def unplug(self) -> None:
        listener, self._listener = self._listener, None
        if self._thread is not None:
            self._thread.join(WAIT)
        if listener is not None:
            listener.close()
        self._accepted.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PtyDevice:
    """A USB serial scanner: a pty whose slave the scanner opens through a symlink."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master: int | None = None
        self.slave: int | None = None

    @property
    def url(self) -> str:
        return str(self.link)

    def plug(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        new = self.link.with_name(self.link.name + ".new")
        os.symlink(os.ttyname(self.slave), new)
        os.replace(new, self.link)

    def write(self, raw: bytes) -> None:
        assert self.master is not None
        os.write(self.master, raw)

    def unplug(self) -> None:
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None
        self.link.unlink(missing_ok=True)


# The contract ---------------------------------------------------------------------------------


@dataclass
class Rig:
    scanner: Scanner
    write: Callable[[bytes], None]
    unplug: Callable[[], None]
    replug: Callable[[], None]
    messages: queue.Queue[ScannerMessage] = field(default_factory=queue.Queue)

    def next(self) -> ScannerMessage:
        return self.messages.get(timeout=WAIT)

    def until_connected(self, connected: bool) -> StatusChanged:
        """Statuses until the first with this connection state (retries may repeat one)."""
        while True:
            message = self.next()
            assert isinstance(message, StatusChanged), message
            if message.connected is connected:
                return message


@pytest.fixture(params=["fake", "serial-socket", "serial-pty"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    if request.param == "fake":
        fake = FakeScanner("s1")
        built = Rig(fake, fake.send, fake.unplug, fake.replug)
        teardown: Callable[[], None] = lambda: None  # noqa: E731
    else:
        device = TcpDevice() if request.param == "serial-socket" else PtyDevice(tmp_path / "tty")
        device.plug()
        built = Rig(
            SerialScanner("s1", fast_settings(device.url)),
            device.write,
            device.unplug,
            device.plug,
        )
        teardown = device.unplug
    built.scanner.start(built.messages.put)
    try:
        assert built.next() == StatusChanged("s1", True, "connected")
        yield built
    finally:
        built.scanner.stop()
        teardown()


@pytest.mark.parametrize(
    "stream",
    [
        ITEM.encode() + b"\r\n",
        ITEM.encode() + b"\r",
        ITEM.encode() + b"\n",
        b"]F0A" + ITEM.encode() + b"B\r\n",  # AIM identifier and Codabar start/stop
    ],
    ids=["crlf", "cr", "lf", "aim-codabar"],
)
def test_bytes_in_scans_out(rig: Rig, stream: bytes) -> None:
    rig.write(stream)
    assert rig.next() == Scanned("s1", ITEM)


def test_scans_split_across_writes_and_several_in_one(rig: Rig) -> None:
    rig.write(PATRON[:5].encode())
    rig.write(PATRON[5:].encode() + b"\r")
    rig.write(b"\n" + ITEM.encode() + b"\r\n" + PATRON.encode() + b"\r\n")
    assert [rig.next(), rig.next(), rig.next()] == [
        Scanned("s1", PATRON),
        Scanned("s1", ITEM),
        Scanned("s1", PATRON),
    ]


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        (b"\xff\xfe\x80\r\n", "not UTF-8 text"),
        (b"312\x07340\r\n", "contains control characters"),
        (b"9" * 500 + b"\r\n", "longer than 64 characters"),
    ],
    ids=["not-utf8", "control", "overlong"],
)
def test_garbage_is_rejected_and_scanning_goes_on(rig: Rig, garbage: bytes, reason: str) -> None:
    rig.write(garbage + ITEM.encode() + b"\r\n")
    rejected = rig.next()
    assert isinstance(rejected, Rejected)
    assert (rejected.source, rejected.reason) == ("s1", reason)
    assert rig.next() == Scanned("s1", ITEM)


def test_unplug_and_replug(rig: Rig) -> None:
    rig.write(b"999")  # half a scan when the cable is pulled: it must not join the next
    rig.unplug()
    lost = rig.until_connected(False)
    assert lost.source == "s1"
    assert lost.detail
    rig.replug()
    assert rig.until_connected(True).detail == "connected"
    rig.write(ITEM.encode() + b"\r")
    assert rig.next() == Scanned("s1", ITEM)


def test_stop_ends_reading(rig: Rig) -> None:
    rig.scanner.stop()
    assert scanner_threads("s1") == []
    rig.write(ITEM.encode() + b"\r")
    with pytest.raises(queue.Empty):
        rig.messages.get(timeout=0.3)
    rig.scanner.stop()  # twice is harmless


# The real adapter only ------------------------------------------------------------------------


def test_a_missing_device_is_retried_with_backoff_until_it_appears(tmp_path: Path) -> None:
    device = PtyDevice(tmp_path / "ttyACM0")
    scanner = SerialScanner("s2", fast_settings(device.url))
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    scanner.start(messages.put)
    try:
        details = []
        for _ in range(5):
            status = messages.get(timeout=WAIT)
            assert isinstance(status, StatusChanged) and not status.connected
            details.append(status.detail)
        assert all(d.startswith(f"cannot open {device.url}") for d in details)
        assert [d.rsplit(";", 1)[1] for d in details] == [
            " retrying in 0.05 s",
            " retrying in 0.1 s",
            " retrying in 0.2 s",
            " retrying in 0.2 s",
            " retrying in 0.2 s",
        ]
        device.plug()
        while (status := messages.get(timeout=WAIT)) != StatusChanged("s2", True, "connected"):
            assert isinstance(status, StatusChanged) and not status.connected
        device.write(b"]F0" + ITEM.encode() + b"\r")
        assert messages.get(timeout=WAIT) == Scanned("s2", ITEM)
    finally:
        scanner.stop()
        device.unplug()


def test_stop_interrupts_the_wait_before_a_retry(tmp_path: Path) -> None:
    scanner = SerialScanner("s3", SerialSettings(str(tmp_path / "none"), retry_min=30))
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    scanner.start(messages.put)
    status = messages.get(timeout=WAIT)
    assert isinstance(status, StatusChanged) and status.detail.endswith("retrying in 30 s")
    scanner.stop()  # waits for the thread at most a couple of seconds, not 30
    assert scanner_threads("s3") == []


@pytest.mark.parametrize(
    ("terminator", "stream", "expected"),
    [
        ("crlf", b"1\r2\r\n" + ITEM.encode() + b"\r\n", [Rejected, ITEM]),
        ("cr", ITEM.encode() + b"\r", [ITEM]),
        ("lf", b"]F0" + ITEM.encode() + b"\n", [ITEM]),
    ],
)
def test_one_line_end_only(
    tmp_path: Path, terminator: str, stream: bytes, expected: list[object]
) -> None:
    device = PtyDevice(tmp_path / "tty")
    device.plug()
    scanner = SerialScanner("s4", fast_settings(device.url, terminator=terminator))
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    scanner.start(messages.put)
    try:
        assert messages.get(timeout=WAIT) == StatusChanged("s4", True, "connected")
        device.write(stream)
        for want in expected:
            got = messages.get(timeout=WAIT)
            if want is Rejected:
                assert isinstance(got, Rejected)
            else:
                assert got == Scanned("s4", str(want))
    finally:
        scanner.stop()
        device.unplug()


def test_a_scanner_without_terminator_ends_a_scan_when_the_line_goes_quiet(
    tmp_path: Path,
) -> None:
    device = PtyDevice(tmp_path / "tty")
    device.plug()
    settings = fast_settings(device.url, terminator="idle", idle_gap=0.05, prefix="#")
    scanner = SerialScanner("s5", settings)
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    scanner.start(messages.put)
    try:
        assert messages.get(timeout=WAIT) == StatusChanged("s5", True, "connected")
        device.write(b"#" + ITEM.encode())
        assert messages.get(timeout=WAIT) == Scanned("s5", ITEM)
        device.write(PATRON.encode())
        assert messages.get(timeout=WAIT) == Scanned("s5", PATRON)
    finally:
        scanner.stop()
        device.unplug()


@pytest.mark.parametrize("kind", ["loop", "spy"])
def test_any_pyserial_url_opens(kind: str, tmp_path: Path) -> None:
    device = PtyDevice(tmp_path / "tty")
    device.plug()
    assert device.slave is not None
    # spy:// logs the traffic of the port it wraps (pyserial's field-debugging tool).
    url = "loop://" if kind == "loop" else f"spy://{os.ttyname(device.slave)}?file=/dev/null"
    scanner = SerialScanner("s6", SerialSettings(url))
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    scanner.start(messages.put)
    try:
        assert messages.get(timeout=WAIT) == StatusChanged("s6", True, "connected")
        if kind == "spy":
            device.write(ITEM.encode() + b"\r")
            assert messages.get(timeout=WAIT) == Scanned("s6", ITEM)
    finally:
        scanner.stop()
        device.unplug()


def test_scans_are_never_logged_in_full(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hardware")
    device = PtyDevice(tmp_path / "tty")
    device.plug()
    scanner = SerialScanner("s7", fast_settings(device.url))
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    scanner.start(messages.put)
    try:
        assert messages.get(timeout=WAIT) == StatusChanged("s7", True, "connected")
        device.write(PATRON.encode() + b"\r" + PATRON.encode() + b"\x07\r")
        assert messages.get(timeout=WAIT) == Scanned("s7", PATRON)
        assert isinstance(messages.get(timeout=WAIT), Rejected)
    finally:
        scanner.stop()
        device.unplug()
    assert "*1786" in caplog.text  # the scan
    assert "contains control characters" in caplog.text  # the reject, with its reason
    assert PATRON not in caplog.text
    assert PATRON[:10] not in caplog.text


@pytest.mark.parametrize(
    "options",
    [
        {"url": ""},
        {"url": "loop://", "terminator": "tab"},
        {"url": "loop://", "retry_min": 0},
        {"url": "loop://", "retry_min": 5, "retry_max": 1},
        {"url": "loop://", "max_length": 0},
    ],
)
def test_settings_are_checked(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SerialSettings(**options)  # type: ignore[arg-type]


# The fake only --------------------------------------------------------------------------------


def test_fake_plays_its_script() -> None:
    fake = FakeScanner("f1", script=[PATRON, "]F0A" + ITEM + "B", ITEM], interval=0.01)
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    fake.start(messages.put)
    try:
        got = [messages.get(timeout=WAIT) for _ in range(4)]
    finally:
        fake.stop()
    assert got == [
        StatusChanged("f1", True, "connected"),
        Scanned("f1", PATRON),
        Scanned("f1", ITEM),
        Scanned("f1", ITEM),
    ]


def test_fake_loses_scans_while_unplugged() -> None:
    fake = FakeScanner("f2")
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    fake.start(messages.put)
    try:
        fake.unplug()
        fake.scan(PATRON)
        fake.unplug()  # already out: said once
        fake.replug()
        fake.scan(ITEM)
        got = [messages.get(timeout=WAIT) for _ in range(4)]
    finally:
        fake.stop()
    assert got == [
        StatusChanged("f2", True, "connected"),
        StatusChanged("f2", False, "unplugged (fake scanner)"),
        StatusChanged("f2", True, "connected"),
        Scanned("f2", ITEM),
    ]
    assert messages.empty()
