"""Logging: masked barcodes, and under systemd a priority on every line the journal reads, so
`journalctl -u kiosk -p warning` finds the kiosk's own warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kiosk.logs import mask_text

SCRIPT = """
import logging
from kiosk.logs import setup_logging
setup_logging("INFO")
log = logging.getLogger("kiosk.test")
log.info("card %s scanned", "21234000000018")
log.warning("printer: out of paper")
try:
    raise ValueError("boom")
except ValueError:
    log.error("it failed", exc_info=True)
"""


def run_logging(stderr: Path, journal: bool) -> list[str]:
    with stderr.open("wb") as sink:
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        if journal:
            st = os.fstat(sink.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        subprocess.run([sys.executable, "-c", SCRIPT], stderr=sink, env=env, check=True)
    return stderr.read_text(encoding="utf-8").splitlines()


def test_under_the_journal_every_line_carries_its_priority(tmp_path: Path) -> None:
    lines = run_logging(tmp_path / "stderr", journal=True)
    assert lines[0] == "<6>kiosk.test: card **********0018 scanned"
    assert lines[1] == "<4>kiosk.test: printer: out of paper"
    assert lines[2] == "<3>kiosk.test: it failed"
    assert lines[3] == "<3>Traceback (most recent call last):"
    assert all(line.startswith("<3>") for line in lines[2:])
    assert lines[-1] == "<3>ValueError: boom"


def test_a_journal_stream_that_is_not_stderr_is_ignored(tmp_path: Path) -> None:
    """JOURNAL_STREAM inherited by a child whose stderr goes elsewhere: plain lines."""
    stderr = tmp_path / "stderr"
    with stderr.open("wb") as sink:
        env = dict(os.environ, JOURNAL_STREAM="1:2")
        subprocess.run([sys.executable, "-c", SCRIPT], stderr=sink, env=env, check=True)
    first = stderr.read_text(encoding="utf-8").splitlines()[0]
    assert first.endswith(" INFO kiosk.test: card **********0018 scanned")
    assert not first.startswith("<")


def test_long_digit_runs_are_masked() -> None:
    assert mask_text("patron 21234000000018, item 31234000000016") == (
        "patron **********0018, item **********0016"
    )
