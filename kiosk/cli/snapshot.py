"""`kiosk snapshot ...`: import, inspect and roll back the patron snapshot."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from kiosk.cli.common import State, audit, utc_now
from kiosk.errors import SnapshotError
from kiosk.runtime.staff import human_age
from kiosk.storage.snapshot import SnapshotInfo, SnapshotStore


@click.group("snapshot")
def group() -> None:
    """The patron snapshot: who may borrow while the library system is down."""


def _parse_built_at(value: str | None, state: State) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date and time (ISO 8601)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=state.config.tz)
    return moment


@group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--built-at",
    help="When the library system made the export (ISO 8601). "
    "Default: the file's modification time.",
)
@click.option(
    "--allow-shrink",
    is_flag=True,
    help="Accept a file with less than half the patrons of the current snapshot.",
)
@click.option(
    "--max-bad-percent",
    type=float,
    default=None,
    help="Refuse the file if more rows than this are bad [default: from the config].",
)
@click.pass_obj
def import_(
    state: State,
    file: Path,
    built_at: str | None,
    allow_shrink: bool,
    max_bad_percent: float | None,
) -> None:
    """Import a patron CSV (barcode, name, fines, status, expires) and swap it in."""
    config = state.config
    store = SnapshotStore(config.data_dir)
    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(f"Importing {file.name}", total=None)
        report = store.import_csv(
            file,
            patron_rule=config.barcode_rules().patron,
            built_at=_parse_built_at(built_at, state),
            now=utc_now(),
            max_bad_percent=(
                config.snapshot.max_bad_rows_percent if max_bad_percent is None else max_bad_percent
            ),
            allow_shrink=allow_shrink,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    counts = report.counts
    click.echo(f"Imported {counts.imported:,} patrons from {file}.")
    audit(
        state,
        "snapshot.import",
        {
            "source": report.info.source,
            "sha256": report.info.sha256,
            "patrons": str(report.info.rows),
            "built_at": report.info.built_at.isoformat(timespec="seconds"),
            "bad_rows": str(counts.bad_rows),
        },
    )
    if counts.bad_rows:
        click.echo(f"{counts.bad_rows:,} bad rows were skipped:", err=True)
        for bad in counts.examples:
            click.echo(f"  line {bad.line}: {bad.problem}", err=True)
        if counts.bad_rows > len(counts.examples):
            click.echo(f"  ... and {counts.bad_rows - len(counts.examples):,} more", err=True)
    if counts.duplicates:
        click.echo(
            f"{counts.duplicates:,} repeated barcodes were skipped (the first was kept).", err=True
        )
    _print_info(report.info, config.tz)


def _print_info(info: SnapshotInfo, tz: tzinfo) -> None:
    age = info.age_hours(utc_now())
    built = info.built_at.astimezone(tz).isoformat(timespec="seconds")
    click.echo(f"  source:   {info.source}")
    click.echo(f"  sha256:   {info.sha256}")
    click.echo(f"  built at: {built} ({human_age(age)} ago)")
    click.echo(f"  imported: {info.imported_at.astimezone(tz).isoformat(timespec='seconds')}")
    click.echo(f"  patrons:  {info.rows:,}")


@group.command("info")
@click.pass_obj
def info(state: State) -> None:
    """Show the active snapshot: source, sha256, built-at, age and row count."""
    config = state.config
    store = SnapshotStore(config.data_dir)
    current = store.current()
    if current is None:
        raise SnapshotError("no patron snapshot has been imported yet (kiosk snapshot import FILE)")
    click.echo("Active snapshot:")
    _print_info(current, config.tz)
    age = current.age_hours(utc_now())
    limits = config.snapshot
    if limits.max_age_hours and age > limits.max_age_hours:
        click.echo(f"  TOO OLD: the kiosk is out of service (limit {limits.max_age_hours:g} h)")
    elif limits.warn_age_hours and age > limits.warn_age_hours:
        click.echo(f"  warning: older than {limits.warn_age_hours:g} hours; import a new one")
    previous = store.previous()
    if previous is not None:
        click.echo(
            f"Previous snapshot (for rollback): {previous.rows:,} patrons, built "
            f"{previous.built_at.astimezone(config.tz).isoformat(timespec='seconds')}"
        )


@group.command("rollback")
@click.pass_obj
def rollback(state: State) -> None:
    """Make the previous snapshot active again."""
    restored = SnapshotStore(state.config.data_dir).rollback()
    audit(state, "snapshot.rollback", {"sha256": restored.sha256, "patrons": str(restored.rows)})
    built = restored.built_at.astimezone(state.config.tz).isoformat(timespec="seconds")
    click.echo(
        f"Rolled back: the active snapshot is now the one built {built} "
        f"({restored.rows:,} patrons)."
    )
