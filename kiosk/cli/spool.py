"""`kiosk spool ...`: the checkouts made offline, and handing them over."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.table import Table
from tomlkit.toml_document import TOMLDocument

from kiosk.cli.common import State, audit, in_data_owner_process, utc_now
from kiosk.cli.config_file import edit_config, table
from kiosk.domain.barcodes import mask
from kiosk.errors import ExportError, InputFileError
from kiosk.exports.formats import FORMATS, render, repeated_hour_warning
from kiosk.exports.merge import merge_exports, parse_export
from kiosk.exports.reconcile import lent_twice
from kiosk.exports.writer import export_spool
from kiosk.storage.files import atomic_writer
from kiosk.storage.spool import SPOOL_FILE, Spool


@click.group("spool")
def group() -> None:
    """The checkouts made while the library system was down."""


@group.command("init")
@click.pass_obj
def init(state: State) -> None:
    """Set this kiosk's spool up: create it (or take the one already in the data folder) and
    write its id into the config (kiosk.spool_id). From then on a data folder that lost its
    spool, or a disk not mounted, is refused instead of given an empty spool. `kiosk install
    --enable` runs this."""
    state.keep_root = True  # the config is root's: the spool itself is made as its owner
    config = state.config
    data_dir, anchor = config.data_dir, config.kiosk.spool_id

    def open_spool() -> str:
        existed = (data_dir / SPOOL_FILE).exists()
        spool = Spool.open(data_dir, create=anchor is None, anchor=anchor)
        try:
            spool_id = spool.spool_id
        finally:
            spool.close()
        if anchor is None:
            action = "spool.adopted" if existed else "spool.created"
            audit(state, action, {"spool_id": spool_id, "path": str(data_dir / SPOOL_FILE)})
        return f"{'existed' if existed else 'new'} {spool_id}"

    found, spool_id = in_data_owner_process(data_dir, open_spool).split()
    if anchor is not None:
        click.echo(f"This kiosk's spool is set up already: {data_dir / SPOOL_FILE} (id {anchor}).")
        return

    def record(document: TOMLDocument) -> None:
        table(document, state.config_path, "kiosk")["spool_id"] = spool_id

    edit_config(state.config_path, record)
    made = "Created a new" if found == "new" else "Took the existing"
    click.echo(
        f"{made} spool {data_dir / SPOOL_FILE} (id {spool_id}); its id is now kiosk.spool_id "
        f"in {state.config_path}: a lost or unmounted data folder is refused from now on."
    )


@group.command("list")
@click.option("--pending", is_flag=True, help="Only checkouts not handed over yet.")
@click.option("--unmask", is_flag=True, help="Show whole patron barcodes (personal data).")
@click.pass_obj
def list_(state: State, pending: bool, unmask: bool) -> None:
    """Show the checkouts in the spool, oldest first."""
    config = state.config
    spool = Spool.open(config.data_dir, anchor=config.kiosk.spool_id)
    try:
        table = Table(title=f"Checkouts at {config.kiosk.id}")
        for column in ("seq", "when (local)", "patron", "item", "due", "handed over"):
            table.add_column(column)
        count = 0
        for c in spool.checkouts(pending_only=pending):
            count += 1
            table.add_row(
                str(c.seq),
                c.checkout.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
                c.checkout.patron if unmask else mask(c.checkout.patron),
                c.checkout.item,
                c.checkout.due_date.isoformat() + (" *" if c.checkout.special_due else ""),
                c.handed_over_at.strftime("%Y-%m-%d %H:%M") if c.handed_over_at else "no",
            )
        summary = spool.summary()
    finally:
        spool.close()
    Console(width=120).print(table)
    click.echo(
        f"{count} shown; {summary.total} in the spool, {summary.pending} not handed over "
        "yet. (* special due date)"
    )


@group.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    required=True,
    help="koc: Koha offline circulation; csv; jsonl: one JSON object a line; "
    "evergreen: Evergreen's offline transactions (pending.xacts).",
)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option(
    "--all",
    "include_all",
    is_flag=True,
    help="Export every checkout, including those exported before.",
)
@click.pass_obj
def export(state: State, fmt: str, out: Path, include_all: bool) -> None:
    """Write the checkouts not handed over yet to a file the library system imports.

    Nothing is deleted: the spool remembers what was exported, when and how.
    """
    spool = Spool.open(state.config.data_dir, anchor=state.config.kiosk.spool_id)
    try:
        result = export_spool(
            spool, fmt, out, include_all=include_all, now=utc_now(), tz=state.config.tz
        )
        total = spool.summary().total
    finally:
        spool.close()
    if result.record is None:
        click.echo(
            f"Nothing to export: all {total} checkouts were exported before. "
            "Use --all to export them again."
        )
        return
    audit(
        state,
        "spool.export",
        {
            "format": fmt,
            "path": result.record.path,
            "checkouts": str(result.record.checkouts),
            "sha256": result.record.sha256,
            "exported_before": str(result.exported_before),
        }
        | (
            {"repeated_hour_lines": ",".join(str(r.line) for r in result.repeated_hour)}
            if result.repeated_hour
            else {}
        ),
    )
    click.echo(
        f"Wrote {result.record.checkouts} checkouts to {out} ({fmt}, sha256 "
        f"{result.record.sha256[:16]}...)."
    )
    if result.exported_before:
        click.echo(
            f"Warning: {result.exported_before} of them were exported before. Importing them "
            "again into the library system may check the items out twice. Earlier exports:",
            err=True,
        )
        for earlier in result.earlier_exports[-5:]:
            when = earlier.exported_at.astimezone(state.config.tz).strftime("%Y-%m-%d %H:%M")
            click.echo(f"  {when}  {earlier.format}  {earlier.path}", err=True)
    for line in repeated_hour_warning(result.repeated_hour):
        click.echo(line, err=True)


@group.command("info")
@click.pass_obj
def info(state: State) -> None:
    """Count the checkouts, and show the last export."""
    spool = Spool.open(state.config.data_dir, anchor=state.config.kiosk.spool_id)
    try:
        summary = spool.summary()
    finally:
        spool.close()
    click.echo(f"Spool {spool.path} (id {summary.spool_id})")
    click.echo(f"  checkouts:      {summary.total}")
    click.echo(f"  handed over:    {summary.handed_over}")
    click.echo(f"  not yet:        {summary.pending}")
    click.echo(f"  last sequence:  {summary.last_seq}")
    if summary.last_export:
        e = summary.last_export
        click.echo(
            f"  last export:    {e.exported_at.isoformat(timespec='seconds')}, {e.format}, "
            f"{e.checkouts} checkouts, {e.path}"
        )


@group.command("merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option(
    "--max-skew-hours",
    type=click.FloatRange(min=0),
    default=12,
    show_default=True,
    help="Warn about a kiosk whose checkouts lie this far from every other kiosk's.",
)
@click.option(
    "--timezone",
    "zone_name",
    default=None,
    help="The library's time zone, for Evergreen's due dates [default: kiosk.timezone].",
)
@click.pass_obj
def merge(
    state: State,
    files: tuple[Path, ...],
    out: Path,
    fmt: str,
    max_skew_hours: float,
    zone_name: str | None,
) -> None:
    """Merge several kiosks' CSV or JSON lines exports into one file, oldest first.

    A checkout that is in two files is written once. Files that disagree about a checkout
    are refused, as is anything that is not a kiosk's CSV or JSON lines export. Signs of a
    wrong kiosk clock are warned about; the file is written all the same.
    """
    parsed = [parse_export(str(path), _read_export(path)) for path in files]
    merged = merge_exports(parsed, now=utc_now(), max_skew=timedelta(hours=max_skew_hours))
    zone = _library_zone(state, zone_name) if fmt == "evergreen" else None
    try:
        with atomic_writer(out, mode=0o600) as handle:
            for text in render(fmt, merged.checkouts, tz=zone):
                handle.write(text.encode("utf-8"))
    except OSError as exc:
        raise ExportError(f"{out}: could not be written: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a value the format cannot carry; nothing was written
        raise ExportError(f"{out}: not written: {exc}") from exc
    for warning in merged.warnings:
        click.echo(f"Warning: {warning.message}", err=True)
    twice = lent_twice(merged.checkouts)
    for found in twice:
        loans = "; ".join(
            f"{c.kiosk_id} #{c.seq} at {c.checkout.occurred_at:%Y-%m-%d %H:%M} "
            f"to {mask(c.checkout.patron)}"
            for c in found.loans
        )
        click.echo(f"Warning: item {found.item} lent to more than one patron: {loans}", err=True)
    conflicts = ""
    if twice:
        items = "1 item" if len(twice) == 1 else f"{len(twice)} items"
        conflicts = (
            f" ({items} lent to more than one patron: kiosk spool reconcile "
            f"{' '.join(map(str, files))} for the report)"
        )
    click.echo(
        f"Merged {len(files)} files into {out} ({fmt}): {len(merged.checkouts)} checkouts "
        f"from {len(merged.kiosk_ids)} kiosks, {merged.duplicates} duplicates dropped, "
        f"{len(merged.warnings) + len(twice)} warnings{conflicts}."
    )


def _read_export(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{path} is a folder, not an export file") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc


def _library_zone(state: State, name: str | None) -> tzinfo:
    if name is None:
        return state.config.tz
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(
            f"{name!r} is not an IANA time zone name (like 'America/New_York')",
            param_hint="--timezone",
        ) from exc
