"""`kiosk status`: how the station is, for staff with a shell."""

from __future__ import annotations

import click

from kiosk.cli.common import State, human_age, utc_now
from kiosk.errors import KioskError
from kiosk.runtime.devices import read_status
from kiosk.runtime.station import PAUSED_SETTING, SPECIAL_DUE_SETTING
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.spool import Spool


@click.command("status")
@click.pass_obj
def status(state: State) -> None:
    """The snapshot, the spool and the devices (scanners, printer) at a glance."""
    config = state.config
    try:
        current = SnapshotStore(config.data_dir).current()
    except KioskError as exc:
        click.echo(f"Snapshot: DAMAGED: {exc}")
    else:
        if current is None:
            click.echo("Snapshot: none: the station is out of service (kiosk snapshot import)")
        else:
            age = current.age_hours(utc_now())
            warn = config.snapshot.warn_age_hours
            note = "  (old: import a new one)" if warn and age > warn else ""
            click.echo(f"Snapshot: {current.rows:,} patrons, built {human_age(age)} ago{note}")
    try:
        spool = Spool.open(config.data_dir)
    except KioskError as exc:
        click.echo(f"Spool:    {exc}")
    else:
        try:
            summary = spool.summary()
            staff = spool.settings((PAUSED_SETTING, SPECIAL_DUE_SETTING))
        finally:
            spool.close()
        click.echo(f"Spool:    {summary.total} checkouts, {summary.pending} not handed over yet")
        if PAUSED_SETTING in staff:
            message = staff[PAUSED_SETTING] or "(the standard message)"
            click.echo(f"PAUSED by staff: patrons read {message!r}. `kiosk staff resume` ends it.")
        if SPECIAL_DUE_SETTING in staff:
            click.echo(f"Special due date: {staff[SPECIAL_DUE_SETTING]} for every checkout.")
    devices = read_status(config.data_dir)
    if devices is None:
        click.echo("Devices:  no report yet (the kiosk writes one when it runs)")
        return
    click.echo(f"Devices (as of {devices.get('updated_at', '?')}):")
    for name, scanner in sorted(devices.get("scanners", {}).items()):
        state_word = "connected" if scanner["connected"] else "NOT CONNECTED"
        click.echo(
            f"  scanner {name}: {state_word} - {scanner['detail']} (since {scanner['since']})"
        )
    printer = devices.get("printer")
    if printer:
        click.echo(
            f"  printer {printer['name']}: {printer['state']} - {printer['detail']} "
            f"(since {printer['since']})"
        )
    else:
        click.echo("  printer: none configured")
