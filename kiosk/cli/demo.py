"""`kiosk demo init DIR`: the bundled demo data, ready to run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from kiosk import demo


@click.group("demo")
def group() -> None:
    """Bundled demo data for trying the kiosk."""


@group.command("init")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def init(folder: Path) -> None:
    """Write a demo config, a synthetic patron snapshot and a script of scans to FOLDER."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kiosk.toml").write_text(demo.CONFIG, encoding="utf-8")
    (folder / "patrons.csv").write_text(demo.patrons_csv(date.today()), encoding="utf-8")
    (folder / "scans.txt").write_text(demo.scans(), encoding="utf-8")
    click.echo(f"Demo files written to {folder}: kiosk.toml, patrons.csv, scans.txt")
