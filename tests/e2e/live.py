"""A running `kiosk run --headless` for the end-to-end tests that talk to it while it runs:
scans and commands in on standard input, its JSON events read back as they come, its log
kept in a file."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from typing import Any

from tests.conftest import KioskHome, kiosk_env

EVENT_WAIT_SECONDS = 30  # a guard against a hung kiosk, not a timing assumption


def parse_events(stdout: str) -> list[dict[str, Any]]:
    """One JSON object a line; every line must be one, with an `event` field."""
    lines = stdout.split("\n")  # not splitlines(): it also splits on U+2028 and friends
    assert lines[-1] == "", f"the last line has no line end: {lines[-1]!r}"
    events = []
    for line in lines[:-1]:
        event = json.loads(line)
        assert isinstance(event, dict), line
        assert "event" in event, line
        events.append(event)
    return events


class LiveKiosk:
    """`kiosk run --headless` kept running, for what one stdin written up front cannot do:
    act on the kiosk's folder between two scans. Events are read as they come."""

    def __init__(
        self,
        home: KioskHome,
        *args: str,
        env: dict[str, str] | None = None,
        log_level: str | None = None,
    ) -> None:
        self._stderr_path = home.root / f"stderr-{id(self)}.log"
        self._stderr = self._stderr_path.open("wb")
        command = [sys.executable, "-m", "kiosk", "--config", str(home.config_path)]
        if log_level is not None:
            command += ["--log-level", log_level]
        self.proc = subprocess.Popen(
            [*command, "run", "--headless", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=kiosk_env(env),
        )
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._lines.put(raw)
        self._lines.put(None)

    def send(self, *lines: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(f"{line}\n" for line in lines).encode())
        self.proc.stdin.flush()

    def next_event(self) -> dict[str, Any]:
        try:
            raw = self._lines.get(timeout=EVENT_WAIT_SECONDS)
        except queue.Empty:
            raise AssertionError(f"no event within {EVENT_WAIT_SECONDS} s") from None
        if raw is None:
            raise AssertionError(f"the kiosk ended early: {self.stderr()}")
        return parse_events(raw.decode())[0]

    def next(self, name: str) -> dict[str, Any]:
        """The next event, which must be `name`."""
        event = self.next_event()
        assert event["event"] == name, (event, self.stderr())
        return event

    def events_until(self, name: str) -> list[dict[str, Any]]:
        """Events up to and including the next one called `name`."""
        seen = [self.next_event()]
        while seen[-1]["event"] != name:
            seen.append(self.next_event())
        return seen

    def finish(self) -> tuple[int, list[dict[str, Any]]]:
        """Close stdin (end of input); the exit code and the events still to come."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self._ended()

    def _ended(self) -> tuple[int, list[dict[str, Any]]]:
        code = self.proc.wait(timeout=EVENT_WAIT_SECONDS)
        self._reader.join(timeout=EVENT_WAIT_SECONDS)
        rest = []
        while (raw := self._lines.get_nowait()) is not None:
            rest.append(parse_events(raw.decode())[0])
        return code, rest

    def terminate(self) -> tuple[int, list[dict[str, Any]]]:
        """SIGTERM, as systemd stops the kiosk: the exit code and the events still to come."""
        self.proc.send_signal(signal.SIGTERM)
        return self._ended()

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=EVENT_WAIT_SECONDS)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()
        self._stderr.close()
