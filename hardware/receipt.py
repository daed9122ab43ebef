"""A receipt as a device-neutral document: what to print, not how.

The kiosk builds one (in the patron's language); each printer adapter renders it for its
own paper width. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Align(Enum):
    LEFT = "left"
    CENTER = "center"


@dataclass(frozen=True)
class Text:
    text: str
    bold: bool = False
    large: bool = False  # double height and width
    align: Align = Align.LEFT


@dataclass(frozen=True)
class Columns:
    """Two texts on one line: the left one left-aligned, the right one right-aligned
    (wrapped to two lines when the paper is too narrow)."""

    left: str
    right: str


@dataclass(frozen=True)
class Rule:
    pass


@dataclass(frozen=True)
class QRCode:
    data: str


Block = Text | Columns | Rule | QRCode


@dataclass(frozen=True)
class Document:
    blocks: tuple[Block, ...]

    def plain_lines(self, width: int = 42) -> list[str]:
        """The document as plain text lines (for logs, tests and text-only printers)."""
        lines: list[str] = []
        for block in self.blocks:
            if isinstance(block, Text):
                lines.append(block.text)  # alignment is the printer's business
            elif isinstance(block, Columns):
                gap = width - len(block.left) - len(block.right)
                if gap >= 1:
                    lines.append(block.left + " " * gap + block.right)
                else:
                    lines += [block.left, block.right.rjust(width)]
            elif isinstance(block, Rule):
                lines.append("-" * width)
            elif isinstance(block, QRCode):
                lines.append(f"[QR: {block.data}]")
        return lines
