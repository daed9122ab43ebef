"""`kiosk snapshot info`, `rollback` and `rollback-items`: what is active, and going back to
the previous snapshot."""

from __future__ import annotations

from datetime import tzinfo

import click

from kiosk.cli.common import State, audit, utc_now
from kiosk.domain.patrons import SnapshotMode
from kiosk.errors import NoSnapshotError, StorageError
from kiosk.runtime.staff import age_words, plural
from kiosk.storage.items import ItemStore
from kiosk.storage.snapshot import SnapshotInfo, SnapshotStore

__all__ = ["info", "print_info", "rollback", "rollback_items"]


def print_info(info: SnapshotInfo, tz: tzinfo) -> None:
    """A snapshot's source, checksum, age and contents, indented under a heading."""
    built = info.built_at.astimezone(tz).isoformat(timespec="seconds")
    click.echo(f"  source:   {info.source}")
    click.echo(f"  sha256:   {info.sha256}")
    click.echo(f"  built at: {built} ({age_words(info, utc_now())})")
    click.echo(f"  imported: {info.imported_at.astimezone(tz).isoformat(timespec='seconds')}")
    if info.kind == "items":
        click.echo(f"  items:    {info.rows:,}")
    elif info.mode is SnapshotMode.DENY:
        click.echo(f"  {info.contents} (every other card that fits the patron rule may borrow)")
    else:
        click.echo(f"  patrons:  {info.rows:,}")
    if info.noted and info.kind == "items":
        click.echo(f"  {plural(info.noted, 'item')} had a status the kiosk does not know: refused")
    elif info.noted:
        click.echo(
            f"  {plural(info.noted, 'listed card')} had a flag the kiosk does not know: "
            "refused as blocked"
        )
    if info.conflicts:
        click.echo(
            f"  {plural(info.conflicts, 'card')} listed more than once with different values: "
            "the most restrictive kept"
        )


@click.command("info")
@click.pass_obj
def info(state: State) -> None:
    """Show the active snapshot: source, sha256, built-at, age and row count."""
    config = state.config
    store = SnapshotStore(config.data_dir)
    current = store.current()
    if current is None:
        raise NoSnapshotError(
            "no patron snapshot has been imported yet (kiosk snapshot import FILE)"
        )
    click.echo("Active snapshot:")
    print_info(current, config.tz)
    now = utc_now()
    age = current.age_hours(now)
    limits = config.snapshot
    if current.built_ahead(now) is not None:
        click.echo(
            "  WARNING: this station's clock is behind the snapshot's build time: set the "
            "clock (timedatectl); until then due dates and the snapshot's age are wrong"
        )
    elif limits.max_age_hours and age > limits.max_age_hours:
        click.echo(f"  TOO OLD: the kiosk is out of service (limit {limits.max_age_hours:g} h)")
    elif limits.warn_age_hours and age > limits.warn_age_hours:
        click.echo(f"  warning: older than {limits.warn_age_hours:g} hours; import a new one")
    previous = store.previous()
    if previous is not None:
        click.echo(
            f"Previous snapshot (for rollback): {previous.contents}, built "
            f"{previous.built_at.astimezone(config.tz).isoformat(timespec='seconds')}"
        )
    try:
        items = ItemStore(config.data_dir).current()
    except StorageError as exc:  # lending goes on without it: say so, do not fail
        click.echo(f"Item snapshot: cannot be read ({exc}); items get the normal loan period.")
        return
    if items is None:
        click.echo("No item snapshot: every item has the normal loan period, no titles shown.")
    else:
        click.echo("Item snapshot:")
        print_info(items, config.tz)


@click.command("rollback")
@click.pass_obj
def rollback(state: State) -> None:
    """Make the previous snapshot active again."""
    restored = SnapshotStore(state.config.data_dir).rollback()
    audit(state, "snapshot.rollback", {"sha256": restored.sha256, "patrons": str(restored.rows)})
    built = restored.built_at.astimezone(state.config.tz).isoformat(timespec="seconds")
    click.echo(
        f"Rolled back: the active snapshot is now the one built {built} ({restored.contents})."
    )


@click.command("rollback-items")
@click.pass_obj
def rollback_items(state: State) -> None:
    """Make the previous item snapshot active again."""
    restored = ItemStore(state.config.data_dir).rollback()
    audit(
        state, "snapshot.rollback_items", {"sha256": restored.sha256, "items": str(restored.rows)}
    )
    built = restored.built_at.astimezone(state.config.tz).isoformat(timespec="seconds")
    click.echo(
        f"Rolled back: the active item snapshot is now the one built {built} ({restored.contents})."
    )
