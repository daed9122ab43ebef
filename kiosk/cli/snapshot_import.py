"""`kiosk snapshot import` and `import-items`: read an export, swap it in, and report its
bad rows and what is active now."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from kiosk.cli.common import State, audit, utc_now
from kiosk.cli.snapshot_info import print_info
from kiosk.domain.ils_files import PatronFileKind, TextFormat
from kiosk.domain.patrons import SnapshotMode
from kiosk.storage.items import ItemStore
from kiosk.storage.signing import public_key, signed_check
from kiosk.storage.snapshot import ImportReport, SnapshotStore

__all__ = ["UNSIGNED", "ProgressFn", "import_", "import_items"]

ProgressFn = Callable[[int, int], None]
UNSIGNED = (
    "To import it all the same, give --unsigned (the audit trail records that it was not checked)."
)


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
                click.option(
                    "--encoding",
                    default=None,
                    help="The file's text encoding, such as utf-8 or cp1252 "
                    "[default: snapshot.encoding, utf-8].",
                ),
                click.option(
                    "--separator",
                    type=click.Choice(["auto", ",", ";", "tab", "|"]),
                    default=None,
                    help="The CSV's separator [default: snapshot.separator, auto: found from "
                    "the header].",
                ),
                click.option(
                    "--ends-without-newline",
                    is_flag=True,
                    help="The library system writes the file with no line end after its last "
                    "line: read that line as complete [default: snapshot.ends_without_newline].",
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


@click.command("import")
@_import_options("patrons (or blocked cards)")
@click.option(
    "--format",
    "file_kind",
    type=click.Choice([kind.value for kind in PatronFileKind]),
    default=None,
    help="csv: a patron export with a header row; evergreen-blocklist: Evergreen's offline "
    "block list, a deny list [default: snapshot.format in the config].",
)
@click.option(
    "--unsigned",
    is_flag=True,
    help="Import a file that has no signature although snapshot.public_key is set (the "
    "audit trail records it).",
)
@click.pass_obj
def import_(
    state: State,
    file: Path,
    built_at: str | None,
    allow_shrink: bool,
    max_bad_percent: float | None,
    encoding: str | None,
    separator: str | None,
    ends_without_newline: bool,
    file_kind: str | None,
    unsigned: bool,
) -> None:
    """Import a patron export (CSV, or a block list) and swap it in. With
    snapshot.public_key set, the file must carry a good signature (FILE.sig) unless
    --unsigned is given."""
    config = state.config
    key = public_key(config.snapshot.public_key) if config.snapshot.public_key else None
    if unsigned and key is None:
        raise click.UsageError("--unsigned: no snapshot.public_key is set, nothing to skip")
    file_format = replace(
        config.snapshot.file_format(file_kind),
        text=_text_format(state, encoding, separator, ends_without_newline),
    )
    with _progress(file) as progress:
        report = SnapshotStore(config.data_dir).import_file(
            file,
            patron_rule=config.barcode_rules().patron,
            file_format=file_format,
            built_at=_parse_built_at(built_at, state),
            now=utc_now(),
            max_bad_percent=_max_bad(state, max_bad_percent),
            allow_shrink=allow_shrink,
            progress=progress,
            verify=None if key is None or unsigned else signed_check(file, key, hint=UNSIGNED),
        )
    signed = (
        {} if key is None else {"signature": "NOT CHECKED (--unsigned)" if unsigned else "good"}
    )
    _imported(
        state,
        file,
        report,
        "snapshot.import",
        {"patrons": str(report.info.rows), "mode": report.info.mode.value, **signed},
    )
    if unsigned:
        click.echo(
            "warning: the signature was not checked (--unsigned); the audit trail says so.",
            err=True,
        )


def _text_format(
    state: State, encoding: str | None, separator: str | None, ends_without_newline: bool
) -> TextFormat:
    if encoding is not None:
        try:
            "barcode".encode(encoding).decode(encoding)
        except LookupError as exc:
            raise click.BadParameter(
                f"{encoding!r} is not a text encoding (utf-8, cp1252, latin-1, ...)",
                param_hint="--encoding",
            ) from exc
    return state.config.snapshot.text_format(
        encoding=encoding, separator=separator, ends_without_newline=ends_without_newline
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
    print_info(info, state.config.tz)


def _max_bad(state: State, given: float | None) -> float:
    return state.config.snapshot.max_bad_rows_percent if given is None else given


def _report_rows(report: ImportReport) -> None:
    counts = report.counts
    read_as = [counts.encoding.upper() if counts.encoding else ""]
    if counts.separator:
        read_as.append(f"separator: {counts.separator}")
    click.echo(f"Read as {', '.join(r for r in read_as if r)}.")
    if counts.left_out_line is not None:
        click.echo(
            f"Line {counts.left_out_line:,} was left out: it has no line end, so the file may "
            "be cut short there, and a row cut short can still read with wrong values (fines "
            "of 125.00 cut to 12). That patron cannot borrow here until the next snapshot. If "
            "the library system always writes its files this way, set "
            "snapshot.ends_without_newline = true.",
            err=True,
        )
    if counts.noted:
        click.echo(
            f"Items with a status the kiosk does not know: {counts.noted:,}. They are refused "
            "at the kiosk (map the library system's words in items.status_values):"
            if report.info.kind == "items"
            else f"{counts.noted:,} listed cards have a flag or status the kiosk does not know: "
            "they are refused all the same, as blocked:",
            err=True,
        )
        for noted in counts.noted_examples:
            click.echo(f"  line {noted.line}: {noted.problem}", err=True)
        if counts.noted > len(counts.noted_examples):
            click.echo(f"  ... and {counts.noted - len(counts.noted_examples):,} more", err=True)
    if counts.conflicts:
        deny = report.info.mode is SnapshotMode.DENY
        how = (
            "each keeps its most serious flag"
            if deny
            else "each keeps its most restrictive values: the most serious status, the "
            "highest fines, the earliest expiry"
        )
        cards = "card is" if counts.conflicts == 1 else "cards are"
        click.echo(
            f"{counts.conflicts:,} {cards} listed more than once with different values: {how}.",
            err=True,
        )
    if counts.bad_rows:
        click.echo(f"{counts.bad_rows:,} bad rows were skipped:", err=True)
        for bad in counts.examples:
            click.echo(f"  line {bad.line}: {bad.problem}", err=True)
        if counts.bad_rows > len(counts.examples):
            click.echo(f"  ... and {counts.bad_rows - len(counts.examples):,} more", err=True)
    if counts.duplicates:
        rows = "row repeats" if counts.duplicates == 1 else "rows repeat"
        click.echo(f"{counts.duplicates:,} {rows} a card listed before (read as one).", err=True)


@click.command("import-items")
@_import_options("items")
@click.pass_obj
def import_items(
    state: State,
    file: Path,
    built_at: str | None,
    allow_shrink: bool,
    max_bad_percent: float | None,
    encoding: str | None,
    separator: str | None,
    ends_without_newline: bool,
) -> None:
    """Import an item CSV (barcode, title, material, status, hold_for) and swap it in: titles
    on the screen and receipts, loan periods per material type (loans.by_material), items on
    hold for someone else or not for loan refused (items.status_values)."""
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
            text=_text_format(state, encoding, separator, ends_without_newline),
            status_values=config.items.status_map(),
            columns=config.items.column_map(),
        )
    _imported(state, file, report, "snapshot.import_items", {"items": str(report.info.rows)})
