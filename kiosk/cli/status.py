"""`kiosk status`: how the station is, for staff with a shell (the staff screen's status)."""

from __future__ import annotations

import click

from kiosk.cli.common import State, utc_now
from kiosk.runtime.staff import StaffDesk


@click.command("status")
@click.pass_obj
def status(state: State) -> None:
    """The snapshot, the spool, the devices, disk space and the last error at a glance."""
    config = state.config
    s = StaffDesk(config, actor="cli", now=utc_now).status()
    click.echo(f"Snapshot: {s.snapshot}")
    if s.snapshot_warning:
        click.echo(f"  WARNING: {s.snapshot_warning}")
    if s.snapshot_source:
        click.echo(f"  reloads from: {s.snapshot_source}")
    if s.period is None:
        click.echo(f"Spool:    {s.spool_problem}")
    else:
        p = s.period
        started = p.started_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"Spool:    {p.checkouts} checkouts in this period (since {started}), "
            f"{p.handed_over} handed over, {p.pending} not handed over yet"
        )
    if s.paused is not None:
        message = s.paused or "(the standard message)"
        click.echo(f"PAUSED by staff: patrons read {message!r}. `kiosk staff resume` ends it.")
    for line in s.lock_lines():
        click.echo(f"LOCKED: {line}")
    if s.cards_without_fast_check:
        click.echo(f"Staff cards: {s.fast_check_line()}")
    if s.special_due is not None:
        click.echo(f"Special due date: {s.special_due.isoformat()} for every checkout.")
    if s.ils:
        click.echo(f"Library system: {s.ils}")
    if s.conflicts:
        click.echo(f"Conflicts: {s.conflicts}")
    click.echo(f"Disk:     {s.free_disk}")
    if not s.devices:
        click.echo("Devices:  no report yet (the kiosk writes one when it runs)")
    for d in s.devices:
        click.echo(f"  {d.name}: {d.state} - {d.detail} (since {d.since})")
    if s.last_error:
        click.echo(f"Last error: {s.last_error}")
