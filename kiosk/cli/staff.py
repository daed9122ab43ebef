"""`kiosk staff ...`: what the staff screen does, for a person with a shell. A running kiosk
picks each change up at its next scan (or within a second on the screens)."""

from __future__ import annotations

from datetime import date, timedelta

import click

from kiosk.cli.common import State, audit, utc_now
from kiosk.domain.loans import WEEKDAYS, next_open_day
from kiosk.runtime.station import PAUSED_SETTING, SPECIAL_DUE_SETTING
from kiosk.storage.spool import Spool


@click.group("staff")
def group() -> None:
    """Staff actions: a special due date, pausing the station."""


def _set(state: State, key: str, value: str | None, action: str, details: dict[str, str]) -> None:
    """Store a staff setting (a running kiosk reads it at its next scan) and audit it."""
    spool = Spool.open(state.config.data_dir, create=True)
    try:
        spool.set_setting(key, value)
    finally:
        spool.close()
    audit(state, action, details)


@group.group("special-due")
def special_due() -> None:
    """A due date for every checkout from now on (when the library will be closed past the
    normal loan period), or back to the normal loan period."""


@special_due.command("set")
@click.argument("when", required=False)
@click.option("--days", type=click.IntRange(1, 365), help="Instead of a date: this many days.")
@click.pass_obj
def special_due_set(state: State, when: str | None, days: int | None) -> None:
    """Set the special due date: a DATE (YYYY-MM-DD) or --days N from today."""
    config = state.config
    today = utc_now().astimezone(config.tz).date()
    if (when is None) == (days is None):
        raise click.UsageError("give a date or --days, not both and not neither")
    if days is not None:
        due = today + timedelta(days=days)
    else:
        try:
            due = date.fromisoformat(when or "")
        except ValueError as exc:
            raise click.BadParameter(f"{when!r} is not a date (YYYY-MM-DD)") from exc
    if due < today:
        raise click.BadParameter(f"{due} is in the past")
    rules = config.station_rules().loan_rules
    _set(
        state,
        SPECIAL_DUE_SETTING,
        due.isoformat(),
        "staff.special_due",
        {"due_date": due.isoformat()},
    )
    click.echo(f"Every checkout from now on is due {due:%A} {due.isoformat()}.")
    if not rules.is_open(due):
        weekday = WEEKDAYS[due.weekday()]
        click.echo(
            f"Note: the library is closed then ({weekday}); the next open day is "
            f"{next_open_day(due, rules).isoformat()}.",
            err=True,
        )


@special_due.command("clear")
@click.pass_obj
def special_due_clear(state: State) -> None:
    """Back to the normal loan period."""
    _set(state, SPECIAL_DUE_SETTING, None, "staff.special_due", {"due_date": "cleared"})
    click.echo(f"Checkouts are due after the normal {state.config.loans.loan_days} days again.")


@group.command("pause")
@click.option("--message", default="", help="What patrons read on the screen meanwhile.")
@click.pass_obj
def pause(state: State, message: str) -> None:
    """Put the station out of service (patrons finish the session they are in)."""
    _set(state, PAUSED_SETTING, message.strip(), "staff.pause", {"message": message.strip()})
    click.echo("The station is paused. `kiosk staff resume` puts it back in service.")


@group.command("resume")
@click.pass_obj
def resume(state: State) -> None:
    """Put a paused station back in service."""
    _set(state, PAUSED_SETTING, None, "staff.resume", {})
    click.echo("The station is back in service.")
