"""Logging set-up. Patron barcodes are personal data: logs mask them."""

from __future__ import annotations

import logging
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


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
