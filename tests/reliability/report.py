"""Render docs/RELIABILITY.md from the records the torture tests wrote (tests/reliability/
torture.py). Run by `make torture` after the tests, whatever their result:

    python -m tests.reliability.report RECORDS OUT --exit-status N

Nothing here decides anything: it only lays out what the tests said they did.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

INTRO = """\
# Reliability

Written by `make torture` (the long forms of the reliability tests, `KIOSK_TORTURE=long`), from
the records the tests themselves leave: each row is one test's own account of what it tried.
`make test` runs the same tests in a shorter form and never rewrites this file.

"Lost" counts checkouts that were confirmed on the screen and then missing, repeated or
changed, snapshots silently replaced, and damaged files used or changed: it must be 0.
"""

DECISIONS = """\
## What the tests hold the kiosk to

- **Power loss** (tests/e2e/test_crash.py): SIGKILL at random moments, weighted towards the
  middle of a spool write. After every restart the spool passes `PRAGMA integrity_check`, every
  `item_checked_out` printed so far is in it exactly once, and no sequence number repeats. A
  checkout that was stored but not yet printed when the kiosk died may be in the spool
  (the patron was not told; it is counted, never lost).
- **Power cuts** (tests/reliability/test_power_loss.py): the kiosk's config and data on a
  FUSE filesystem (tests/reliability/powerfs.py) that keeps only what was made durable (file
  data by fsync of the file, folder entries by fsync of the folder) and fails every operation
  once the power is cut. Cuts at random moments and at a chosen write or fsync while lending;
  every announced checkout is in the spool once afterwards and the spool passes
  `integrity_check`. The same run at `synchronous=NORMAL` (a test-only switch) must lose
  checkouts, and does. A cut right after each writing command finds what it reported.
- **Full disk** (tests/reliability/test_full_disk.py): the data folder on a small tmpfs where
  the test may mount one, else (and always as a second case) the spool's page limit through
  the kiosk's fault switch `KIOSK_FAULT_MAX_PAGES_FILE`. The checkout that cannot be stored is
  never announced; the station goes out of service (`storage_error`) and comes back by itself
  once 1 MB is free on the disk and inside the database (no flapping at the edge).
- **Damaged snapshot files** (tests/reliability/test_corrupt_files.py): signed snapshots refuse
  every change. An unsigned CSV cannot show every change: a file cut at a line end that keeps
  at least half the patrons, or a bit flip in a data row that still parses, is a well-formed
  export and is imported *consistently* (exactly the rows before the cut; only the patrons on
  the lines the flip hit change, and such a patron's fines or status may then be wrong: sign
  the snapshots to have every change refused). Everything else is refused and the previous
  snapshot stays.
  A flip in the header line changes how every row is read, so it must never let a patron the
  undamaged file refuses borrow.
- **Damaged spool** (same file): the kiosk checks the whole spool at start (`integrity_check`,
  indexes too) through a read-only connection, so a damaged file or a stranger in its place
  is refused exactly as it was found, and the kiosk stays out of service. SQLite keeps no
  checksums: a flip inside a record's text or in unused space is invisible to it; the kiosk
  then runs on a file that passes `integrity_check`, and the hourly backup is the remedy.
- **Bad input** (tests/reliability/test_properties.py, tests/upload/test_sip2_codec.py):
  hypothesis over scan streams, standard-input bytes, snapshot files, config files and SIP2
  answers: a clear refusal or a good result, never another exception, nothing stored that was
  not announced.
- **Soak** (tests/reliability/test_soak.py): one kiosk process, many sessions; after the first
  tenth, resident memory may grow by less than 4 MB and open files stay within 2 of their
  count then.
"""


# What `make torture` runs, by the name each test records under: a check without a record
# failed before it could write one (or did not run), and the report says so.
EXPECTED = (
    "Power loss",
    "Power loss while lending (powerfs)",
    "Power loss, durability weakened on purpose",
    "A cut right after each writing command",
    "Full disk (tmpfs)",
    "Full disk (page limit)",
    "Damaged snapshot file (unsigned CSV)",
    "Damaged snapshot header (unsigned CSV)",
    "Damaged snapshot file (signed, `kiosk snapshot fetch`)",
    "Damaged spool at start-up",
    "Bad input: scan streams (station)",
    "Bad input: bytes on the headless input",
    "Bad input: patron snapshot files",
    "Bad input: config files",
    "Bad input: SIP2 answers",
    "Soak",
)


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()[0].split()[1]
        memory = f", {int(total) / 2**20:.0f} GB RAM"
    except (OSError, IndexError, ValueError):
        pass
    return [
        f"- Machine: {platform.system()} {platform.release()}, {cpu}, "
        f"{os.cpu_count()} cores{memory}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(records: list[dict[str, Any]], exit_status: int, when: datetime) -> str:
    lost = sum(int(r["lost"]) for r in records)
    verdict = (
        "all tests passed"
        if exit_status == 0
        else f"**the test run failed (pytest exit status {exit_status})**: see below"
    )
    lines = [
        INTRO,
        f"- Run: {when:%Y-%m-%d %H:%M} UTC, commit {commit()}, form: "
        + ", ".join(sorted({str(r["form"]) for r in records}) or ["none"]),
        *machine(),
        f"- Result: {verdict}; lost in total: **{lost}**",
        "",
        "| What was tried | How | Times | Lost | What happened | Seconds |",
        "|---|---|--:|--:|---|--:|",
    ]
    for r in records:
        seconds = "" if r.get("seconds") is None else f"{r['seconds']:.0f}"
        lines.append(
            f"| {cell(r['check'])} | {cell(r['tried'])} | {int(r['times']):,} | "
            f"{'**' + str(r['lost']) + '**' if r['lost'] else 0} | {cell(r['outcome'])} | "
            f"{seconds} |"
        )
    recorded = {str(r["check"]) for r in records}
    full_disk_fallback = "Full disk (page limit)" in recorded
    for name in EXPECTED:
        if name in recorded or (name == "Full disk (tmpfs)" and full_disk_fallback):
            continue
        lines.append(f"| {cell(name)} | | | **?** | no record: the test failed or did not run | |")
    for r in records:
        cuts = r.get("figures", {}).get("interrupted")
        if cuts:
            lines += [
                "",
                f"What the cuts of *{r['check']}* interrupted (the first operation "
                "the dead disk refused):",
                "",
            ]
            lines += [f"- {what}: {times}" for what, times in cuts.items()]
    lines += ["", DECISIONS]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("records", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--exit-status", type=int, default=0)
    args = parser.parse_args(argv)
    by_check: dict[str, dict[str, Any]] = {}
    if args.records.exists():
        for line in args.records.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                by_check.pop(record["check"], None)  # a test run again: its newest record
                by_check[record["check"]] = record
    records = list(by_check.values())
    text = render(records, args.exit_status, datetime.now(UTC))
    staged = args.out.with_suffix(".md.new")
    staged.write_text(text, encoding="utf-8")
    staged.replace(args.out)
    print(f"{args.out}: {len(records)} records, lost {sum(int(r['lost']) for r in records)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
