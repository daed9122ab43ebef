"""The patron snapshot: importing a generated export of N patrons, and looking patrons up in
it, each against the plainest way to do the same with the standard library.

Import. Ours: SnapshotStore.import_file (streamed, every row checked, built beside the
current snapshot, fsynced, swapped in). Baseline: csv.reader straight into sqlite3's
executemany, into the same table (barcode the primary key, WITHOUT ROWID) in one
transaction with SQLite's default settings, nothing checked. Each runs in a child process,
so its peak resident memory (VmHWM) is its own. Two exports of the same patrons: sorted by
card number, and in the order of the library system's records (cards shuffled).

Lookup. Ours: SnapshotReader.lookup (the kiosk's own reader: SQLAlchemy, a read
transaction ended after each lookup, a PatronRecord with Decimal fines). Baseline: a raw
sqlite3 SELECT by barcode on the same file. The same random cards for both, taking turns.

    .venv/bin/python -m bench.patrons import {ours,baseline} CSV FOLDER   (the child)
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random

from bench.common import Figure, alternate, child, mb, median, proc_status, summary_us
from kiosk import demo
from kiosk.domain.barcodes import luhn_check_digit

HEADER = "barcode,name,fines,status,expires\n"
GOOD_SERIALS = range(1, 11)  # patrons in good standing: the cards the station benchmarks use
IMPORT_TARGET_SECONDS = 15.0
IMPORT_TARGET_RATIO = 1.5
LOOKUP_TARGET_P99_US = 100.0
BASELINE_TABLE = (
    "CREATE TABLE patrons (barcode TEXT PRIMARY KEY, name TEXT, fines TEXT, status TEXT, "
    "expires TEXT) WITHOUT ROWID"
)


# The export -------------------------------------------------------------------------------


def _luhn_blocks() -> list[int]:
    """The Luhn sum of every 4-digit block at an even place from the right (its digits
    doubled, plain, doubled, plain), so a card's check digit takes two look-ups."""
    doubled = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]
    return [
        doubled[n % 10] + (n // 10) % 10 + doubled[(n // 100) % 10] + (n // 1000) % 10
        for n in range(10_000)
    ]


_BLOCKS = _luhn_blocks()
_PREFIX = (10 - luhn_check_digit("2123400000000")) % 10  # what "21234" adds, modulo 10


def card(serial: int) -> str:
    """demo.barcode("2", serial), quickly: 2,000,000 of them take a second, not ten."""
    total = _PREFIX + _BLOCKS[serial % 10_000] + _BLOCKS[serial // 10_000 % 10_000]
    return f"21234{serial:08d}{(10 - total % 10) % 10}"


def write_export(path: Path, count: int, *, shuffled: bool, seed: int = 2026) -> Path:
    """A patron export like the demo's, `count` patrons: names, fines, a few blocked and lost
    cards, expiry dates from two months ago to three years on. The first few serials are in
    good standing, for the station benchmarks."""
    for serial in (1, 2, 99, 12_345_678, 99_999_999):
        assert card(serial) == demo.barcode("2", serial), serial
    rng = Random(seed)
    serials = list(range(1, count + 1))
    if shuffled:
        rng.shuffle(serials)
    today = date.today()
    names = [f'"{last}, {first}"' for last in demo.LAST for first in demo.FIRST]
    fines = ["0.00"] * 6 + ["1.25", "3.00", "8.40", "10.00", "15.50", "42.00"]
    days = [(today + timedelta(days=d)).isoformat() for d in range(-60, 1000)]
    good_until = (today + timedelta(days=730)).isoformat()
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        for start in range(0, count, 100_000):
            part = serials[start : start + 100_000]
            n = len(part)
            lines = [
                f"{card(s)},{name},{fine},{status},{expires}\n"
                for s, name, fine, status, expires in zip(
                    part,
                    rng.choices(names, k=n),
                    rng.choices(fines, k=n),
                    rng.choices(["ok", "blocked", "lost"], weights=[95, 3, 2], k=n),
                    rng.choices(days, k=n),
                    strict=True,
                )
            ]
            for i, s in enumerate(part):
                if s in GOOD_SERIALS:
                    lines[i] = f'{card(s)},"Rivera, Ana",0.00,ok,{good_until}\n'
            handle.writelines(lines)
    return path


# The import, in a child process ------------------------------------------------------------


def _import_ours(source: Path, folder: Path) -> dict[str, object]:
    from kiosk.domain.barcodes import BarcodeRule, CheckDigit
    from kiosk.storage.snapshot import SnapshotStore

    rule = BarcodeRule(prefix="2", length=14, check_digit=CheckDigit.LUHN)
    store = SnapshotStore(folder)
    before = proc_status()
    started = time.perf_counter()
    report = store.import_file(source, patron_rule=rule, now=datetime.now(UTC))
    seconds = time.perf_counter() - started
    counts = report.counts
    return {
        "seconds": seconds,
        "rows": report.info.rows,
        "bad_rows": counts.bad_rows,
        "duplicates": counts.duplicates,
        "file": str(report.info.file),
        "rss_before": before["VmRSS"],
        "peak_rss": proc_status()["VmHWM"],
    }


def _import_baseline(source: Path, folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "baseline.db"
    target.unlink(missing_ok=True)
    before = proc_status()
    started = time.perf_counter()
    conn = sqlite3.connect(target)
    conn.execute(BASELINE_TABLE)
    with source.open(encoding="utf-8", newline="") as handle, conn:
        rows = csv.reader(handle)
        next(rows)
        conn.executemany("INSERT OR IGNORE INTO patrons VALUES (?, ?, ?, ?, ?)", rows)
    rows_in = conn.execute("SELECT count(*) FROM patrons").fetchone()[0]
    conn.close()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": rows_in,
        "file": str(target),
        "rss_before": before["VmRSS"],
        "peak_rss": proc_status()["VmHWM"],
    }


def child_main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "import" or argv[1] not in ("ours", "baseline"):
        print(__doc__, file=sys.stderr)
        return 2
    run = _import_ours if argv[1] == "ours" else _import_baseline
    print(json.dumps(run(Path(argv[2]), Path(argv[3]))))
    return 0


# The figures -------------------------------------------------------------------------------


def import_figures(
    export: Path, folder: Path, *, count: int, order: str, runs: int
) -> tuple[list[Figure], Path]:
    """Ours and the baseline `runs` times each, taking turns; the median run of each.
    Returns the figures and the snapshot file ours built last (for the lookups)."""

    def ours() -> dict[str, object]:
        result: dict[str, object] = child("patrons", "import", "ours", str(export), str(folder))
        return result

    def baseline() -> dict[str, object]:
        result: dict[str, object] = child(
            "patrons", "import", "baseline", str(export), str(folder / "baseline")
        )
        return result

    our_runs, base_runs = alternate(runs, ours, baseline)
    for run in our_runs:
        if run["rows"] != count or run["bad_rows"] != 0:
            raise RuntimeError(f"the import did not take every patron: {run}")
    ours_s = median([float(r["seconds"]) for r in our_runs])
    base_s = median([float(r["seconds"]) for r in base_runs])
    peak = max(int(r["peak_rss"]) for r in our_runs)
    before = max(int(r["rss_before"]) for r in our_runs)  # the kiosk's modules, loaded
    base_peak = max(int(r["peak_rss"]) for r in base_runs)
    group = "snapshot_import"
    what = f"{count:,} patrons, {order}"
    details = {
        "runs_ours": our_runs,
        "runs_baseline": base_runs,
        "export_bytes": export.stat().st_size,
        "order": order,
    }
    met = ours_s < IMPORT_TARGET_SECONDS and ours_s <= IMPORT_TARGET_RATIO * base_s
    figures = [
        Figure(
            group,
            f"Snapshot import, {what}: time",
            "s",
            round(ours_s, 4),
            round(base_s, 4),
            "csv.reader into sqlite3 executemany, one transaction",
            f"< {IMPORT_TARGET_SECONDS:g} s and <= {IMPORT_TARGET_RATIO}x baseline",
            met,
            details=details,
        ),
        Figure(
            group,
            f"Snapshot import, {what}: rows/s",
            "rows/s",
            round(count / ours_s),
            round(count / base_s),
            "the same",
            higher_is_better=True,
        ),
        Figure(
            group,
            f"Snapshot import, {what}: peak memory (VmHWM; {mb(before)} MB before it began)",
            "MB",
            mb(peak),
            mb(base_peak),
            "the same (a bare interpreter with csv and sqlite3)",
            details={
                "ours_rss_before_import_mb": mb(before),
                "baseline_rss_before_import_mb": mb(max(int(r["rss_before"]) for r in base_runs)),
            },
        ),
    ]
    return figures, Path(str(our_runs[-1]["file"]))


def lookup_figures(snapshot: Path, *, count: int, lookups: int, seed: int = 7) -> list[Figure]:
    from kiosk.storage.snapshot import SnapshotReader, read_info

    rng = Random(seed)
    cards = [card(rng.randint(1, count)) for _ in range(lookups)]
    reader = SnapshotReader(read_info(snapshot))
    raw = sqlite3.connect(f"{snapshot.resolve().as_uri()}?mode=ro", uri=True)
    query = "SELECT barcode, name, fines_cents, status, expires FROM patrons WHERE barcode = ?"
    ours: list[float] = []
    base: list[float] = []
    clock = time.perf_counter
    try:
        for n, barcode in enumerate(cards):
            for which in (0, 1) if n % 2 == 0 else (1, 0):
                if which == 0:
                    started = clock()
                    found = reader.lookup(barcode)
                    ours.append(clock() - started)
                else:
                    started = clock()
                    row = raw.execute(query, (barcode,)).fetchone()
                    base.append(clock() - started)
                    found = row
                if found is None:
                    raise RuntimeError(f"patron {barcode} is not in the snapshot")
    finally:
        reader.close()
        raw.close()
    warm = min(100, lookups // 10)  # the first lookups fill the caches: left out
    o, b = summary_us(ours[warm:]), summary_us(base[warm:])
    group = "patron_lookup"
    details = {"lookups": len(ours) - warm, "ours_us": o, "baseline_us": b}
    base_is = "raw sqlite3 SELECT by barcode, same file"
    return [
        Figure(group, "Patron lookup: median", "us", o["median"], b["median"], base_is),
        Figure(
            group,
            "Patron lookup: p99",
            "us",
            o["p99"],
            b["p99"],
            base_is,
            f"< {LOOKUP_TARGET_P99_US:g} us",
            o["p99"] < LOOKUP_TARGET_P99_US,
            details=details,
        ),
    ]


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
