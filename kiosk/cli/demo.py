"""`kiosk demo ...`: the bundled demo data, and a scripted tour of every screen."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import click

from kiosk import demo
from kiosk.cli.common import utc_now
from kiosk.config import load_config
from kiosk.errors import KioskError
from kiosk.runtime.staff_cards import remember


@click.group("demo")
def group() -> None:
    """Bundled demo data for trying the kiosk."""


def write_demo(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kiosk.toml").write_text(demo.config_text(), encoding="utf-8")
    (folder / "patrons.csv").write_text(demo.patrons_csv(date.today()), encoding="utf-8")
    (folder / "scans.txt").write_text(demo.scans(), encoding="utf-8")
    # The staff card's fast check, as `kiosk staff add-card` leaves it on a station.
    config = load_config(folder / "kiosk.toml")
    cards = config.staff.card_hashes()
    remember(config.data_dir, demo.staff_card(), cards[0], keep=cards)


@group.command("init")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def init(folder: Path) -> None:
    """Write a demo config, a synthetic patron snapshot and a script of scans to FOLDER."""
    write_demo(folder)
    click.echo(f"Demo files written to {folder}: kiosk.toml, patrons.csv, scans.txt")


@group.command("screenshots")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
def screenshots(out: Path) -> None:
    """Run a scripted session through every screen offscreen; save a PNG of each to OUT."""
    from kiosk.cli.run import build_runtime
    from kiosk.runtime.clock import ManualClock
    from kiosk.storage.items import ItemStore
    from kiosk.storage.snapshot import SnapshotStore
    from kiosk.ui.env import prepare

    folder = Path(tempfile.mkdtemp(prefix="kiosk-demo-"))
    write_demo(folder)
    config = load_config(folder / "kiosk.toml")
    display = config.display.model_copy(update={"fullscreen": "windowed"})
    config = config.model_copy(update={"display": display})
    SnapshotStore(config.data_dir).import_csv(
        folder / "patrons.csv", patron_rule=config.barcode_rules().patron, now=utc_now()
    )
    # An item snapshot that lists two items the station must not lend (the others are not
    # in it, and are lent as "Item <barcode>"): for the notices they bring.
    held, not_here = demo.barcode("3", 6), demo.barcode("3", 7)
    (folder / "items.csv").write_text(
        "barcode,title,material,status,hold_for\n"
        f"{held},The Very Hungry Caterpillar,book,on_hold,{demo.barcode('2', 2)}\n"
        f"{not_here},Atlas of the World,book,not_for_loan,\n",
        encoding="utf-8",
    )
    ItemStore(config.data_dir).import_csv(
        folder / "items.csv", item_rule=config.barcode_rules().item, now=utc_now()
    )
    prepare(config.data_dir / "kivy", offscreen=True)
    from kiosk.ui.launch import build_app
    from kiosk.ui.script import ScriptRunner, tour

    clock = ManualClock(utc_now())
    app = build_app(config, build_runtime(config, clock), clock, silent=True)
    patrons = {
        "ok": demo.barcode("2", 1),
        "fines": demo.barcode("2", 3),
        "es": demo.barcode("2", 7),
    }
    items = [demo.barcode("3", n) for n in range(1, 5)]
    out.mkdir(parents=True, exist_ok=True)
    runner = ScriptRunner(
        tour(
            clock,
            patrons,
            items,
            staff_login=(demo.staff_card(), demo.STAFF_PIN),
            refused_items=(held, not_here),
        ),
        out,
    )
    app.drive(runner)
    app.run()
    if runner.error:
        raise KioskError(f"the scripted tour failed: {runner.error}")
    for path in runner.shots:
        click.echo(str(path))
