"""`kiosk spool reconcile`: the conflicts of the offline period (items lent twice, cards the
snapshot now refuses, loans the ILS refused as on loan elsewhere), on screen and as CSV and
HTML in data_dir/reports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from kiosk.cli.common import State, utc_now
from kiosk.cli.spool import _read_export
from kiosk.config import KioskConfig
from kiosk.exports.merge import merge_exports, parse_export
from kiosk.exports.reconcile import Reconciliation, text_lines
from kiosk.exports.reconcile_report import write_reconciliation
from kiosk.runtime.reconcile import period_reconciliation, reconciled
from kiosk.runtime.uploads import REPORTS
from kiosk.storage.spool import Spool

NO_SKEW_CHECK = timedelta(days=36500)  # clocks are `spool merge`'s business, not this report's


def run_reconcile(config: KioskConfig, files: tuple[Path, ...]) -> Reconciliation:
    """The reconciliation of this kiosk's current period (no files), or of these exports."""
    now = utc_now().astimezone(config.tz)
    if not files:
        spool = Spool.open(config.data_dir, anchor=config.kiosk.spool_id)
        try:
            return period_reconciliation(config, spool, now)
        finally:
            spool.close()
    parsed = [parse_export(str(path), _read_export(path)) for path in files]
    checkouts = list(merge_exports(parsed, now=now, max_skew=NO_SKEW_CHECK).checkouts)
    sources = tuple(str(path) for path in files)
    return reconciled(config, checkouts, now=now, sources=sources, states=None)


@click.command("reconcile")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--unmask", is_flag=True, help="Show whole patron barcodes (personal data).")
@click.pass_obj
def reconcile_cmd(state: State, files: tuple[Path, ...], unmask: bool) -> None:
    """What went wrong unseen while offline: items lent to more than one patron, checkouts
    to cards the patron snapshot now refuses, and (from the upload state in the spool) loans
    the ILS refused as on loan to someone else. Without FILES: this kiosk's current period;
    with FILES: several kiosks' CSV or JSON lines exports together, as `spool merge` reads
    them. Writes a CSV and a printable HTML report to data_dir/reports."""
    config = state.config
    result = run_reconcile(config, files)
    csv_path, html_path = write_reconciliation(result, config.data_dir / REPORTS)
    click.echo(f"Reconciliation: {result.summary()}.")
    click.echo(f"Patron cards checked against {result.snapshot}.")
    for line in text_lines(result, unmask=unmask):
        click.echo(line)
    click.echo(f"Report: {html_path} (printable), {csv_path}")
