"""The speed suite: every figure of the performance issue, each against a baseline measured
in the same run on the same machine (see each module for what ours and the baseline are).

- bench.patrons:  snapshot import of N generated patrons (in card order and shuffled),
                  and patron lookups in that snapshot;
- bench.station:  scan to durable checkout, and the kiosk's start to ready (headless and
                  the offscreen app) with its resident memory, the big snapshot loaded;
- bench.staff_cards: a patron card at the Welcome screen with ten staff cards configured
                  (their tags on the station), against the scrypt check of before;
- bench.handover: exports of N checkouts to each format and the USB bundle, and the SIP2
                  replay to a local library system.

Prints a table, writes bench/results/<group>.json for each group of figures and
docs/PERFORMANCE.md. Generated files go to a temporary folder. A benchmark, not a test: it
fails only if the kiosk does not do what it is asked (a patron not imported, an item not
lent), never because of a time.

    make bench    or    .venv/bin/python -m bench.suite [--quick] [--results DIR] [--doc FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import handover, patrons, staff_cards, station
from bench.common import ROOT, Figure, machine
from bench.report import performance_md, table


@dataclass(frozen=True)
class Sizes:
    patrons: int = 2_000_000
    lookups: int = 20_000
    items: int = 5_000
    checkouts: int = 100_000
    replays: int = 2_000
    staff_scans: int = 2_000  # patron cards at Welcome (the scrypt baseline: a twentieth)
    runs: int = 3  # of each import, each start, each export


FULL = Sizes()
QUICK = Sizes(
    patrons=20_000, lookups=2_000, items=300, checkouts=2_000, replays=100, staff_scans=200, runs=1
)


def run(sizes: Sizes, work: Path, progress: Any = print) -> list[Figure]:
    figures: list[Figure] = []
    kiosk = work / "kiosk"
    config = station.kiosk_folder(kiosk)
    data = kiosk / "data"
    snapshot: Path | None = None
    for order, shuffled in (("sorted by card", False), ("cards shuffled", True)):
        progress(f"- generating {sizes.patrons:,} patrons, {order}")
        export = patrons.write_export(
            work / f"patrons-{int(shuffled)}.csv", sizes.patrons, shuffled=shuffled
        )
        progress(f"- importing them, {sizes.runs} times each (ours and the baseline)")
        found, snapshot = patrons.import_figures(
            export, data, count=sizes.patrons, order=order, runs=sizes.runs
        )
        figures += found
        export.unlink()
    assert snapshot is not None
    progress(f"- {sizes.lookups:,} patron lookups")
    figures += patrons.lookup_figures(snapshot, count=sizes.patrons, lookups=sizes.lookups)
    progress(f"- {sizes.items:,} scans to a durable checkout")
    figures += station.durable_figures(config, items=sizes.items)
    progress(
        f"- {sizes.staff_scans:,} patron cards at Welcome, {staff_cards.STAFF_CARDS} staff cards"
    )
    figures += staff_cards.figures(work / "staff-cards", scans=sizes.staff_scans)
    progress(f"- starting the kiosk, headless and offscreen, {sizes.runs} times each")
    figures += station.start_figures(config, work / "start", runs=sizes.runs, patrons=sizes.patrons)
    progress(f"- a spool of {sizes.checkouts:,} checkouts, exported to each format")
    template = handover.filled_spool(work / "spool", sizes.checkouts)
    figures += handover.export_figures(template, work / "exports", count=sizes.checkouts, runs=1)
    progress(f"- replaying {sizes.replays:,} checkouts over SIP2")
    replays = handover.filled_spool(work / "spool-replay", sizes.replays)
    figures += handover.replay_figures(replays, work / "replays", count=sizes.replays)
    return figures


def write_results(figures: list[Figure], folder: Path, header: dict[str, Any]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for group in dict.fromkeys(f.group for f in figures):
        path = folder / f"{group}.json"
        data = {**header, "benchmark": group}
        data["figures"] = [f.as_json() for f in figures if f.group == group]
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        written[group] = path
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "PERFORMANCE.md")
    parser.add_argument("--work", type=Path, default=None, help="for the generated files")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    when = datetime.now(UTC)
    header = {
        "when": when.isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": sizes.__dict__,
        "quick": args.quick,
    }
    print(f"Speed suite ({'quick' if args.quick else 'full'} sizes): {sizes}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-", dir=args.work) as tmp:
        figures = run(sizes, Path(tmp), progress=lambda text: print(text, flush=True))
    header["seconds"] = round(time.monotonic() - started, 1)
    print()
    print(table(figures))
    written = write_results(figures, args.results, header)
    scan_to_screen = args.results / "scan_to_screen.json"
    extra = json.loads(scan_to_screen.read_text()) if scan_to_screen.exists() else None
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(performance_md(figures, header, extra), encoding="utf-8")
    print(f"\nWritten: {', '.join(str(p) for p in written.values())} and {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
