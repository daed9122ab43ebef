"""Lines of a command's findings for a terminal: a titled list, cut at a limit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

SEE_THE_REPORT = " (see the report)"


def listed(
    title: str,
    rows: Sequence[T],
    line: Callable[[T], str],
    limit: int,
    more: str = SEE_THE_REPORT,
) -> list[str]:
    """`title`, then a line per row (indented) up to `limit`, then how many more there are
    (`more` says where they are); nothing at all when there are no rows."""
    if not rows:
        return []
    out = [title, *(f"  {line(row)}" for row in rows[:limit])]
    if len(rows) > limit:
        out.append(f"  ... and {len(rows) - limit} more{more}")
    return out
