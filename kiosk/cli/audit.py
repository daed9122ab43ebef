"""`kiosk audit ...`: the hash-chained trail of what happened at the station."""

from __future__ import annotations

import os

import click

from kiosk.cli.common import State
from kiosk.errors import KioskError
from kiosk.storage.audit import AuditLog


class AuditBroken(KioskError):
    exit_code = os.EX_DATAERR  # 65


@click.group("audit")
def group() -> None:
    """The audit trail: staff actions, snapshot loads, exports, out-of-service changes."""


@group.command("show")
@click.option("--limit", type=int, default=50, show_default=True, help="The newest N entries.")
@click.pass_obj
def show(state: State, limit: int) -> None:
    """Print the newest entries of the audit trail."""
    entries = list(AuditLog(state.config.data_dir).entries())
    if not entries:
        click.echo("The audit trail is empty.")
        return
    for entry in entries[-limit:]:
        details = ", ".join(f"{k}={v}" for k, v in entry.details.items())
        click.echo(f"#{entry.seq:<5} {entry.at}  {entry.actor:<8} {entry.action:<18} {details}")


@group.command("verify")
@click.pass_obj
def verify(state: State) -> None:
    """Check the hash chain; exit 65 and name the first broken entry if it does not hold."""
    trail = AuditLog(state.config.data_dir)
    good, broken = trail.verify()
    if broken is not None:
        where = f"entry #{broken.seq}" if broken.seq is not None else "an entry"
        raise AuditBroken(
            f"the audit trail {trail.path} is broken at line {broken.line} ({where}): "
            f"{broken.problem}. The {good} entries before it check out."
        )
    click.echo(f"The audit trail checks out: {good} entries, each following the one before.")
    for entry in trail.entries():
        if entry.action == "audit.repaired":  # a torn line (a power cut), kept aside
            click.echo(
                f"  Entry #{entry.seq} ({entry.at}): a damaged last line of "
                f"{entry.details.get('damaged_bytes')} bytes was moved to "
                f"{entry.details.get('kept_in')} and the trail went on."
            )
