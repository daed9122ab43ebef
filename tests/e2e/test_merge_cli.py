"""End to end: several real kiosks lend with their own clocks (`kiosk run --headless`), each
hands its spool over with `kiosk spool export`, and `kiosk spool merge` makes one file of
them, in time order, each checkout once, warning about a kiosk whose clock was wrong.

Dates are in the past of any machine that runs this, except where a test wants a kiosk
whose clock is ahead (2098). Daylight saving time ended in New York on 2026-11-01, so a
checkout on 2026-10-19 is due on 2026-11-09, sent to Evergreen as 10:00 UTC that day.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KioskHome, item, patron

BUILT = "2026-10-15T06:00:00-04:00"


def kiosk_home(root: Path, kiosk_id: str) -> KioskHome:
    home = KioskHome(root / kiosk_id, root / kiosk_id / "kiosk.toml", root / kiosk_id / "data")
    home.root.mkdir()
    home.write_config()
    text = home.config_path.read_text(encoding="utf-8")
    home.config_path.write_text(text.replace('id = "TEST-SC01"', f'id = "{kiosk_id}"'), "utf-8")
    home.import_standard_snapshot(built_at=BUILT)
    return home


def lend(home: KioskHome, clock: str, scans: list[str]) -> list[dict[str, Any]]:
    """One headless run with its clock standing at `clock`; the checkouts it confirmed."""
    result = home.kiosk(
        "run", "--headless", "--clock", clock, input="".join(f"{s}\n" for s in [*scans, "@done"])
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    checked_out = [e for e in events if e["event"] == "item_checked_out"]
    assert len(checked_out) == len(scans) - 1, events  # every item after the card
    return checked_out


def export(home: KioskHome, fmt: str, out: Path, *extra: str) -> Path:
    result = home.kiosk("spool", "export", "--format", fmt, "--out", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return out


def merge(home: KioskHome, *args: str) -> Any:
    return home.kiosk("spool", "merge", *args)


@dataclass(frozen=True)
class Branches:
    main: KioskHome  # any of the homes can run the merge: it needs no spool
    files: list[Path]  # main.csv, west.jsonl, east-1.jsonl, east-2.jsonl
    lent: dict[str, list[dict[str, Any]]]  # each kiosk's item_checked_out events
    out: Path  # the "drive" the files are on


@pytest.fixture
def branches(tmp_path: Path) -> Branches:
    """Three kiosks lent on the morning of 2026-10-19. WEST's clock was three days behind.
    MAIN exported CSV; EAST exported JSON lines, lent once more and exported again with
    --all (so its first checkouts are in two files); WEST exported JSON lines."""
    main = kiosk_home(tmp_path, "MAIN-SC01")
    east = kiosk_home(tmp_path, "EAST-SC02")
    west = kiosk_home(tmp_path, "WEST-SC03")
    out = tmp_path / "usb"
    out.mkdir()
    main_lent = lend(main, "2026-10-19T10:00:00-04:00", [patron(1), item(1), item(2)])
    main_lent += lend(main, "2026-10-19T11:30:00-04:00", [patron(2), item(3)])
    east_lent = lend(east, "2026-10-19T10:15:00-04:00", [patron(8), item(11)])
    east_first = export(east, "jsonl", out / "east-1.jsonl")
    east_lent += lend(east, "2026-10-19T12:00:00-04:00", [patron(1), item(12)])
    west_lent = lend(west, "2026-10-16T10:45:00-04:00", [patron(2), item(21), item(22)])
    files = [
        export(main, "csv", out / "main.csv"),
        export(west, "jsonl", out / "west.jsonl"),
        east_first,
        export(east, "jsonl", out / "east-2.jsonl", "--all"),
    ]
    assert len(files[3].read_text(encoding="utf-8").splitlines()) == 2
    return Branches(main, files, {"main": main_lent, "east": east_lent, "west": west_lent}, out)


def test_three_kiosks_merge_into_one_file_in_time_order(branches: Branches) -> None:
    main = branches.main
    merged = branches.out / "merged.jsonl"

    result = merge(main, *map(str, branches.files), "--out", str(merged), "--format", "jsonl")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"Merged 4 files into {merged} (jsonl): 7 checkouts from 3 kiosks, "
        "1 duplicates dropped, 1 warnings."
    )
    rows = [json.loads(line) for line in merged.read_text(encoding="utf-8").splitlines()]
    lent = branches.lent
    expected_order = [*lent["west"], lent["main"][0], lent["main"][1], lent["east"][0]]
    expected_order += [lent["main"][2], lent["east"][1]]
    assert [r["txn_id"] for r in rows] == [e["txn_id"] for e in expected_order]
    assert [(r["kiosk_id"], r["item"]) for r in rows] == [
        ("WEST-SC03", item(21)),
        ("WEST-SC03", item(22)),
        ("MAIN-SC01", item(1)),
        ("MAIN-SC01", item(2)),
        ("EAST-SC02", item(11)),
        ("MAIN-SC01", item(3)),
        ("EAST-SC02", item(12)),
    ]
    assert stat.S_IMODE(merged.stat().st_mode) == 0o600


def test_the_kiosk_whose_clock_was_three_days_behind_is_warned_about(
    branches: Branches,
) -> None:
    main = branches.main
    merged = branches.out / "merged.csv"

    result = merge(main, *map(str, branches.files), "--out", str(merged), "--format", "csv")

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("Warning: WEST-SC03: its checkouts (2026-10-16T10:45-04:00")
    assert "every other kiosk's" in warnings[0]
    assert len(list(csv.DictReader(io.StringIO(merged.read_text(encoding="utf-8"))))) == 7
    # A wider allowance than the gap (about 71 hours) silences it.
    wide = merge(
        main,
        *map(str, branches.files),
        "--out",
        str(merged),
        "--format",
        "csv",
        "--max-skew-hours",
        "72",
    )
    assert wide.returncode == 0, wide.stderr
    assert "Warning" not in wide.stderr
    assert "0 warnings." in wide.stdout


def test_merged_into_evergreen_s_format_with_the_library_s_due_dates(
    branches: Branches,
) -> None:
    main = branches.main
    xacts = branches.out / "pending.xacts"

    result = merge(main, *map(str, branches.files), "--out", str(xacts), "--format", "evergreen")

    assert result.returncode == 0, result.stderr
    lines = xacts.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    records = [json.loads(line) for line in lines[:-1]]
    assert [r["barcode"] for r in records] == [item(n) for n in (21, 22, 1, 2, 11, 3, 12)]
    assert {r["type"] for r in records} == {"checkout"}
    assert [r["timestamp"] for r in records] == sorted(r["timestamp"] for r in records)
    # Lent 2026-10-19 (summer time), due 2026-11-09: 10:00 UTC that day (05:00 EST).
    assert records[2]["due_date"] == "2026-11-09T10:00:00.000Z"
    assert records[2]["checkout_time"] == "2026-10-19T14:00:00.000Z"
    # WEST lent on the 16th: due 2026-11-06.
    assert records[0]["due_date"] == "2026-11-06T10:00:00.000Z"


def test_kiosk_spool_export_writes_evergreen_s_format(tmp_path: Path) -> None:
    home = kiosk_home(tmp_path, "MAIN-SC01")
    [event] = lend(home, "2026-10-19T10:00:00-04:00", [patron(1), item(1)])
    out = tmp_path / "pending.xacts"

    result = home.kiosk("spool", "export", "--format", "evergreen", "--out", str(out))

    assert result.returncode == 0, result.stderr
    assert "Wrote 1 checkouts" in result.stdout and "(evergreen," in result.stdout
    [record] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record == {
        "timestamp": 1792418400,  # 2026-10-19T14:00:00Z
        "type": "checkout",
        "delta": 0,
        "patron_barcode": patron(1),
        "barcode": item(1),
        "due_date": "2026-11-09T10:00:00.000Z",
        "checkout_time": "2026-10-19T14:00:00.000Z",
    }
    assert event["due_date"] == "2026-11-09"
    assert re.search(r"^  not yet: +0$", home.kiosk("spool", "info").stdout, re.MULTILINE)


def test_a_kiosk_clock_set_back_or_ahead_is_warned_about(tmp_path: Path) -> None:
    home = kiosk_home(tmp_path, "MAIN-SC01")
    lend(home, "2026-10-19T11:00:00-04:00", [patron(1), item(1)])
    lend(home, "2026-10-19T10:00:00-04:00", [patron(2), item(2)])  # someone set it back
    ahead = kiosk_home(tmp_path, "EAST-SC02")
    lend(ahead, "2098-10-19T10:00:00-04:00", [patron(8), item(11)])
    files = [
        export(home, "jsonl", tmp_path / "main.jsonl"),
        export(ahead, "csv", tmp_path / "east.csv"),
    ]
    merged = tmp_path / "merged.koc"

    result = merge(home, *map(str, files), "--out", str(merged), "--format", "koc")

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert warnings[0] == (
        "Warning: EAST-SC02: 1 checkouts are dated in the future (the latest "
        f"2098-10-19T10:00-04:00, while it is now {_now_in(warnings[0])}): its clock is ahead"
    )
    assert warnings[1] == (
        "Warning: MAIN-SC01: time goes back 1.0 hours from seq 1 (2026-10-19T11:00-04:00) "
        "to seq 2 (2026-10-19T10:00-04:00): its clock was changed"
    )
    assert warnings[2].startswith("Warning: EAST-SC02 and MAIN-SC01: their checkouts lie ")
    assert len(warnings) == 3
    assert "3 warnings." in result.stdout
    koc = merged.read_text(encoding="utf-8").splitlines()
    assert koc[0].startswith("Version=1.0\t")
    assert [line.split("\t")[1:] for line in koc[1:]] == [
        ["issue", patron(2), item(2)],
        ["issue", patron(1), item(1)],
        ["issue", patron(8), item(11)],
    ]


def _now_in(warning: str) -> str:
    """The "now" a warning names, after checking that it is this machine's time."""
    found = re.search(r"while it is now (\S+)\)", warning)
    assert found, warning
    shown = datetime.fromisoformat(found.group(1))
    assert abs(shown - datetime.now(UTC)) < timedelta(minutes=10), warning
    return found.group(1)


# Refused ------------------------------------------------------------------------------------


def test_two_files_that_disagree_about_a_checkout_are_refused(
    branches: Branches,
) -> None:
    main = branches.main
    east_first: Path = branches.files[2]
    tampered = branches.out / "east-edited.jsonl"
    record = json.loads(east_first.read_text(encoding="utf-8"))
    record["item"] = item(99)
    tampered.write_text(json.dumps(record) + "\n", encoding="utf-8")
    east_all: Path = branches.files[3]
    merged = branches.out / "merged.jsonl"

    result = merge(main, str(east_all), str(tampered), "--out", str(merged), "--format", "jsonl")

    assert result.returncode == 65
    assert result.stderr.strip() == (
        f"kiosk: txn_id {record['txn_id']} is in {east_all} line 1 and in {tampered} line 1 "
        "with a different item: one of the files was changed; nothing was merged"
    )
    assert not merged.exists()


def test_a_koc_file_is_refused_plainly(branches: Branches) -> None:
    main = branches.main
    koc = export(main, "koc", branches.out / "main.koc", "--all")
    merged = branches.out / "merged.jsonl"

    result = merge(
        main, str(branches.files[0]), str(koc), "--out", str(merged), "--format", "jsonl"
    )

    assert result.returncode == 65
    assert result.stderr.startswith(f"kiosk: {koc} is a Koha .koc file: it has no txn_id")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not merged.exists()


def test_a_file_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    home = kiosk_home(tmp_path, "MAIN-SC01")
    snapshot = home.root / "patrons.csv"  # the patron list: a CSV, but not an export
    merged = tmp_path / "merged.csv"

    result = merge(home, str(snapshot), "--out", str(merged), "--format", "csv")

    assert result.returncode == 65
    assert result.stderr.strip() == (
        f"kiosk: {snapshot} is not a CSV or JSON lines export from a kiosk "
        "(its first line is neither)"
    )
    assert not merged.exists()


def test_a_missing_file_is_exit_66(tmp_path: Path) -> None:
    home = kiosk_home(tmp_path, "MAIN-SC01")
    missing = tmp_path / "nowhere.jsonl"

    result = merge(home, str(missing), "--out", str(tmp_path / "m.csv"), "--format", "csv")

    assert result.returncode == 66
    assert result.stderr.strip() == f"kiosk: {missing}: no such file"
    assert not (tmp_path / "m.csv").exists()
