"""End to end: `kiosk spool reconcile` on one kiosk's spool (after a real upload to the test
ILS) and on two kiosks' exports, and `spool merge` counting items lent twice instead of
"0 warnings". Real spools, the real commands in subprocesses."""

from __future__ import annotations

import re
import stat
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.config import load_config
from kiosk.storage.spool import Spool
from tests.conftest import KioskHome, item, lent, patron
from tests.e2e.test_upload_cli import BUILT, sip2_section
from tests.upload.ils import Library, ils

TZ = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
REPORT_LINE = re.compile(r"^Report: (\S+\.html) \(printable\), (\S+\.csv)$", re.MULTILINE)


def lend(home: KioskHome, *loans: tuple[int, int], start: int = 0) -> None:
    """Checkouts (patron serial, item serial) stored in the home's real spool, a minute apart."""
    config = load_config(home.config_path)
    spool = Spool.open(config.data_dir, create=True)
    try:
        for n, (who, what) in enumerate(loans, start=start + 1):
            spool.record_checkout(
                lent(n, who, what, T0 + timedelta(minutes=n)),
                config.kiosk.id,
                TZ,
            )
    finally:
        spool.close()


def test_reconcile_the_spool_after_an_upload(home: KioskHome) -> None:
    home.import_standard_snapshot(built_at=BUILT)
    # Back to back at one kiosk: Ana, then Chidi, borrow item 1. Ewa's card is blocked in
    # the snapshot. Item 4 the ILS has on loan to someone else.
    lend(home, (1, 1), (2, 1), (4, 2), (1, 4))
    library = Library(
        patrons={patron(n) for n in (1, 2, 4)},
        items={item(n) for n in range(1, 5)},
        loans={item(4): patron(8)},
    )
    with ils(library) as port:
        home.write_config(extra=sip2_section(port))
        uploaded = home.kiosk("spool", "upload")
    assert uploaded.returncode == 0, uploaded.stderr

    result = home.kiosk("spool", "reconcile")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Reconciliation: 4 checkouts from 1 kiosk: 1 item lent twice, " in out
    assert "1 checkout to a card the snapshot now refuses" in out
    # The ILS refused Chidi's loan of item 1 (Ana's came first) and the one of item 4.
    assert "2 refused by the ILS as on loan to someone else" in out
    assert f"item {item(1)}: TEST-SC01 #1 2026-11-23 10:01 to " in out
    assert f"item {item(2)}: TEST-SC01 #3" in out and ": blocked" in out
    assert f"item {item(4)}: TEST-SC01 #4" in out and "Item already checked out" in out
    assert patron(2) not in out  # masked
    found = REPORT_LINE.search(out)
    assert found, out
    html, csv = Path(found.group(1)), Path(found.group(2))
    for path in (html, csv):
        assert path.parent == home.data_dir / "reports"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = csv.read_text(encoding="utf-8")
    assert f"lent to more than one patron,{item(1)},{patron(2)}," in text
    assert f"ILS: on loan to someone else,{item(4)},{patron(1)}," in text


def test_two_kiosks_exports_merge_counts_and_reconcile_lists_the_item_lent_twice(
    home: KioskHome, tmp_path: Path
) -> None:
    east = KioskHome(tmp_path / "east", tmp_path / "east" / "kiosk.toml", tmp_path / "east" / "d")
    east.root.mkdir()
    east.write_config()
    east.config_path.write_text(
        east.config_path.read_text(encoding="utf-8").replace('"TEST-SC01"', '"EAST-SC02"'),
        encoding="utf-8",
    )
    lend(home, (1, 1), (1, 2))
    lend(east, (2, 1), (3, 3), start=10)  # Chidi borrows item 1 at the other kiosk
    files = []
    for kiosk, name in ((home, "main.csv"), (east, "east.csv")):
        path = tmp_path / name
        done = kiosk.kiosk("spool", "export", "--format", "csv", "--out", str(path))
        assert done.returncode == 0, done.stderr
        files.append(str(path))

    merged = home.kiosk(
        "spool", "merge", *files, "--out", str(tmp_path / "all.koc"), "--format", "koc"
    )
    assert merged.returncode == 0, merged.stderr
    assert "0 warnings" not in merged.stdout
    assert (
        "1 warnings (1 item lent to more than one patron: kiosk spool reconcile "
        f"{files[0]} {files[1]} for the report)."
    ) in merged.stdout
    assert f"Warning: item {item(1)} lent to more than one patron: TEST-SC01 #1 at " in (
        merged.stderr
    )

    result = home.kiosk("spool", "reconcile", *files)
    assert result.returncode == 0, result.stderr
    assert "Reconciliation: 4 checkouts from 2 kiosks: 1 item lent twice, " in result.stdout
    assert "refused by the ILS" not in result.stdout.splitlines()[0]  # exports carry none
    line = next(x for x in result.stdout.splitlines() if x.startswith(f"  item {item(1)}:"))
    assert "TEST-SC01 #1 2026-11-23 10:01" in line and "EAST-SC02 #1 2026-11-23 10:11" in line
