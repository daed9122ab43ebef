"""`kiosk snapshot ...`: import, inspect and roll back the patron snapshot and the optional
item snapshot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from kiosk.cli.common import State, audit, utc_now
from kiosk.domain.ils_files import PatronFileKind
from kiosk.domain.patrons import SnapshotMode
from kiosk.errors import SnapshotError, StorageError
from kiosk.runtime.staff import human_age
from kiosk.storage.items import ItemStore
from kiosk.storage.snapshot import ImportReport, SnapshotInfo, SnapshotStore

ProgressFn = Callable[[int, int], None]


@click.group("snapshot")
def group() -> None:
    """The patron snapshot (who may borrow while the library system is down) and the
    optional item snapshot (titles, loan periods per material type)."""


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


@contextmanager
def _progress(file: Path) -> Iterator[ProgressFn]:
    """A progress bar on a terminal (nothing otherwise), fed by the import."""
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
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _import_options(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(
            [
                click.argument("file", type=click.Path(path_type=Path)),
                click.option(
                    "--built-at",
                    help="When the library system made the export (ISO 8601). "
                    "Default: the file's modification time.",
                ),
                click.option(
                    "--allow-shrink",
                    is_flag=True,
                    help=f"Accept a file with less than half the {what} of the current one.",
                ),
                click.option(
                    "--max-bad-percent",
                    type=float,
                    default=None,
                    help="Refuse the file if more rows than this are bad "
                    "[default: from the config].",
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


@group.command("import")
@_import_options("patrons (or blocked cards)")
@click.option(
    "--format",
    "file_kind",
    type=click.Choice([kind.value for kind in PatronFileKind]),
    default=None,
    help="csv: a patron export with a header row; evergreen-blocklist: Evergreen's offline "
    "block list, a deny list [default: snapshot.format in the config].",
)
@click.pass_obj
def import_(
    state: State,
    file: Path,
    built_at: str | None,
    allow_shrink: bool,
    max_bad_percent: float | None,
    file_kind: str | None,
) -> None:
    """Import a patron export (CSV, or a block list) and swap it in."""
    config = state.config
    with _progress(file) as progress:
        report = SnapshotStore(config.data_dir).import_file(
            file,
            patron_rule=config.barcode_rules().patron,
            file_format=config.snapshot.file_format(file_kind),
            built_at=_parse_built_at(built_at, state),
            now=utc_now(),
            max_bad_percent=_max_bad(state, max_bad_percent),
            allow_shrink=allow_shrink,
            progress=progress,
        )
    _imported(
        state,
        file,
        report,
        "snapshot.import",
        {"patrons": str(report.info.rows), "mode": report.info.mode.value},
    )


def _imported(
    state: State, file: Path, report: ImportReport, action: str, counted: dict[str, str]
) -> None:
    """After an import was swapped in: say so, audit it, then its bad rows and what is
    active now."""
    click.echo(f"Imported {report.info.contents} from {file}.")
    info = report.info
    audit(
        state,
        action,
        {
            "source": info.source,
            "sha256": info.sha256,
            **counted,
            "built_at": info.built_at.isoformat(timespec="seconds"),
            "bad_rows": str(report.counts.bad_rows),
        },
    )
    _report_rows(report)
    _print_info(info, state.config.tz)


def _max_bad(state: State, given: float | None) -> float:
    return state.config.snapshot.max_bad_rows_percent if given is None else given


def _report_rows(report: ImportReport) -> None:
    counts = report.counts
    if counts.bad_rows:
        click.echo(f"{counts.bad_rows:,} bad rows were skipped:", err=True)
        for bad in counts.examples:
            click.echo(f"  line {bad.line}: {bad.problem}", err=True)
        if counts.bad_rows > len(counts.examples):
            click.echo(f"  ... and {counts.bad_rows - len(counts.examples):,} more", err=True)
    if counts.duplicates:
        deny = report.info.mode is SnapshotMode.DENY
        kept = "the most serious flag" if deny else "the first row"
        click.echo(
            f"{counts.duplicates:,} repeated barcodes were skipped ({kept} was kept).", err=True
        )


def _print_info(info: SnapshotInfo, tz: tzinfo) -> None:
    age = info.age_hours(utc_now())
    built = info.built_at.astimezone(tz).isoformat(timespec="seconds")
    click.echo(f"  source:   {info.source}")
    click.echo(f"  sha256:   {info.sha256}")
    click.echo(f"  built at: {built} ({human_age(age)} ago)")
    click.echo(f"  imported: {info.imported_at.astimezone(tz).isoformat(timespec='seconds')}")
    if info.kind == "items":
        click.echo(f"  items:    {info.rows:,}")
    elif info.mode is SnapshotMode.DENY:
        click.echo(f"  {info.contents} (every other card that fits the patron rule may borrow)")
    else:
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
        _print_info(items, config.tz)


@group.command("rollback")
@click.pass_obj
def rollback(state: State) -> None:
    """Make the previous snapshot active again."""
    restored = SnapshotStore(state.config.data_dir).rollback()
    audit(state, "snapshot.rollback", {"sha256": restored.sha256, "patrons": str(restored.rows)})
    built = restored.built_at.astimezone(state.config.tz).isoformat(timespec="seconds")
    click.echo(
        f"Rolled back: the active snapshot is now the one built {built} ({restored.contents})."
    )


@group.command("import-items")
@_import_options("items")
@click.pass_obj
def import_items(
    state: State,
    file: Path,
    built_at: str | None,
    allow_shrink: bool,
    max_bad_percent: float | None,
) -> None:
    """Import an item CSV (barcode, title, material) and swap it in: titles on the screen and
    receipts, loan periods per material type (loans.by_material)."""
    config = state.config
    with _progress(file) as progress:
        report = ItemStore(config.data_dir).import_csv(
            file,
            item_rule=config.barcode_rules().item,
            built_at=_parse_built_at(built_at, state),
            now=utc_now(),
            max_bad_percent=_max_bad(state, max_bad_percent),
            allow_shrink=allow_shrink,
            progress=progress,
        )
    _imported(state, file, report, "snapshot.import_items", {"items": str(report.info.rows)})


@group.command("rollback-items")
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
