"""`kiosk snapshot ...`: import, inspect and roll back the patron snapshot and the optional
item snapshot.

The commands live in kiosk.cli.snapshot_import (import, import-items) and
kiosk.cli.snapshot_info (info, rollback, rollback-items); they are registered here, on the
one group, and re-exported.
"""

from __future__ import annotations

import click

from kiosk.cli.snapshot_import import UNSIGNED, ProgressFn, import_, import_items
from kiosk.cli.snapshot_info import info, print_info, rollback, rollback_items

__all__ = [
    "UNSIGNED",
    "ProgressFn",
    "group",
    "import_",
    "import_items",
    "info",
    "print_info",
    "rollback",
    "rollback_items",
]


@click.group("snapshot")
def group() -> None:
    """The patron snapshot (who may borrow while the library system is down) and the
    optional item snapshot (titles, loan periods per material type)."""


group.add_command(import_)
group.add_command(info)
group.add_command(rollback)
group.add_command(import_items)
group.add_command(rollback_items)
