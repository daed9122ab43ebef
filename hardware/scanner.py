"""What every scanner adapter posts, and the one interface they share.

An adapter owns a thread that moves bytes (or key events) from its device into a pure
decoder and posts plain messages: a scan, a rejected read, or a change of its connection
state. It knows nothing about libraries: the kiosk decides what a scan means.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Scanned:
    source: str  # the scanner's name, for logs and the staff status
    text: str


@dataclass(frozen=True)
class Rejected:
    source: str
    shown: str  # what was read, made printable and cut short
    reason: str  # plain words: "not UTF-8 text", "longer than 64 characters", ...


@dataclass(frozen=True)
class StatusChanged:
    source: str
    connected: bool
    detail: str  # plain words: "connected", "unplugged; retrying in 4 s", ...


ScannerMessage = Scanned | Rejected | StatusChanged
Post = Callable[[ScannerMessage], None]


class Scanner(Protocol):
    name: str

    def start(self, post: Post) -> None:
        """Start reading on a thread of the adapter's own; messages go to `post`."""

    def stop(self) -> None:
        """Stop reading and release the device (returns within a second or so)."""


def printable(text: str, limit: int = 64) -> str:
    """Data as it may be shown and logged: no control characters, bounded length."""
    cleaned = "".join(
        ch if unicodedata.category(ch)[0] != "C" else "\N{REPLACEMENT CHARACTER}" for ch in text
    )
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


def check_scan(text: str, max_length: int) -> str | None:
    """Why a decoded scan cannot be passed on, in plain words, or None if it can."""
    if not text:
        return "empty"
    if len(text) > max_length:
        return f"longer than {max_length} characters"
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        return "contains control characters"
    return None
