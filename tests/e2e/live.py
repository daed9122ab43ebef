"""A running `kiosk run --headless` for the end-to-end tests that talk to it while it runs:
scans and commands in on standard input, its JSON events read back one by one, its log kept."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Any

from tests.conftest import KioskHome, kiosk_env

CLOCK = "2026-11-23T10:00:00-05:00"  # Monday; due normally 2026-12-14
WAIT = 20.0  # seconds: a bound on waiting for the kiosk, never an expected duration


class LiveKiosk:
    def __init__(self, home: KioskHome, *, log_level: str = "WARNING") -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk",
                "--config",
                str(home.config_path),
                "--log-level",
                log_level,
                "run",
                "--headless",
                "--clock",
                CLOCK,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=kiosk_env(),
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    def send(self, *lines: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(f"{line}\n" for line in lines).encode())
        self.proc.stdin.flush()

    def next(self, name: str) -> dict[str, Any]:
        """The next event, which must be `name`."""
        try:
            event = self.events.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no {name} event; stderr:\n{self.stderr()}") from None
        assert event["event"] == name, (event, self.stderr())
        return event

    def finish(self) -> int:
        """End of input: the kiosk ends the session and exits; its exit status."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=WAIT)
