"""Logging set-up. Patron barcodes are personal data: logs mask them."""

from __future__ import annotations

import logging
import os
import re
import sys

_DIGITS = re.compile(r"\d{6,}")


def mask_text(text: str) -> str:
    """Mask every long digit run in a log line, as a safety net behind masking at call sites."""
    return _DIGITS.sub(lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True


# sd-daemon(3) priority prefixes: the journal files each line at its level, so
# `journalctl -u kiosk -p warning` shows the kiosk's own warnings and errors.
_PRIORITIES = {"CRITICAL": 2, "ERROR": 3, "WARNING": 4, "INFO": 6, "DEBUG": 7}


class JournalFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")  # the journal stamps the time itself

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITIES.get(record.levelname, 6)
        # One journal entry per line: a traceback's lines keep the record's priority.
        return "\n".join(f"<{priority}>{line}" for line in super().format(record).split("\n"))


def stderr_is_journal(environ: dict[str, str] | None = None) -> bool:
    """systemd sets JOURNAL_STREAM to the device and inode of the stream it connected."""
    stream = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if stderr_is_journal():
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
