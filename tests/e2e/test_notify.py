"""systemd's notify protocol from a real `kiosk run --headless`: READY=1 only once the engine
has answered, and WATCHDOG=1 again and again while the loop runs (also while it waits for
input that never comes: a frozen loop is what the watchdog is for)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import KioskHome, kiosk_env, patron

WATCHDOG_USEC = 400_000  # 0.4 s: pings are expected at least every 0.2 s
LIMIT = 20.0  # a guard against a hang, not a measure of speed


def receive(sock: socket.socket, until: float) -> list[str]:
    messages = []
    sock.settimeout(0.1)
    while time.monotonic() < until:
        try:
            messages.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
    return messages


def listen(folder: Path) -> tuple[str, socket.socket]:
    """A socket where systemd would listen ($NOTIFY_SOCKET): its address, and the socket."""
    address = str(folder / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    return address, sock


def until_ready(sock: socket.socket) -> list[str]:
    """The messages received up to READY=1 (or until LIMIT runs out without one)."""
    messages: list[str] = []
    deadline = time.monotonic() + LIMIT
    while not any(m.startswith("READY=1") for m in messages) and time.monotonic() < deadline:
        messages += receive(sock, time.monotonic() + 0.2)
    return messages


def test_ready_comes_after_the_engine_and_the_watchdog_is_fed(
    home: KioskHome, tmp_path: Path
) -> None:
    home.import_standard_snapshot()
    address, sock = listen(tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk",
            "--config",
            str(home.config_path),
            "run",
            "--headless",
            "--clock",
            "2026-11-23T10:00:00-05:00",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=kiosk_env({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": str(WATCHDOG_USEC)}),
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first_event = proc.stdout.readline().decode()
        messages = until_ready(sock)
        ready = [m for m in messages if m.startswith("READY=1")]
        assert ready, messages
        assert '"event": "ready"' in first_event  # the engine answered before READY went out
        # Nothing comes on stdin for a while: the loop still comes round and feeds the watchdog.
        pings = [m for m in receive(sock, time.monotonic() + 1.5) if m == "WATCHDOG=1"]
        assert len(pings) >= 3, pings
        proc.stdin.write(f"{patron(1)}\n".encode())
        proc.stdin.close()
        assert proc.wait(LIMIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


def test_without_notify_socket_nothing_is_sent_and_the_kiosk_runs(home: KioskHome) -> None:
    home.import_standard_snapshot()
    result = home.kiosk("run", "--headless", input=f"{patron(1)}\n")
    assert result.returncode == 0, result.stderr
    assert '"event": "patron_accepted"' in result.stdout
    assert "notify" not in result.stderr


def test_the_offscreen_app_is_ready_once_a_frame_of_its_first_screen_is_drawn(
    home: KioskHome, tmp_path: Path
) -> None:
    # READY=1 is what systemd (and `make bench`) take as the kiosk being up: it must not come
    # before the screen shows the station, and the log says which frame it was.
    home.import_standard_snapshot()
    address, sock = listen(tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk",
            "--config",
            str(home.config_path),
            "--log-level",
            "info",
            "run",
            "--offscreen",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=kiosk_env({"NOTIFY_SOCKET": address}),
    )
    try:
        messages = until_ready(sock)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=LIMIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
    log = err.decode("utf-8", "replace")
    assert [m for m in messages if m.startswith("READY=1")] == [
        "READY=1\nSTATUS=screen: welcome"
    ], (messages, log)
    assert "ready: the first frame of the welcome screen is drawn" in log, log
    assert proc.returncode == 0, log
