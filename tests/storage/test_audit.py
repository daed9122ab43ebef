"""The audit trail: a hash chain that shows an edited, removed or reordered entry."""

from __future__ import annotations

import itertools
import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.errors import StorageError
from kiosk.storage.audit import GENESIS, AuditLog
from tests.conftest import KioskHome, item, patron

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def trail_of(tmp_path: Path, n: int = 5) -> AuditLog:
    trail = AuditLog(tmp_path)
    for i in range(n):
        trail.append(f"action.{i}", actor="cli", at=T0 + timedelta(minutes=i), details={"i": i})
    return trail


def lines(trail: AuditLog) -> list[str]:
    return trail.path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_each_entry_carries_the_hash_of_the_one_before(tmp_path: Path) -> None:
    trail = trail_of(tmp_path)
    entries = list(trail.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev == GENESIS
    assert all(later.prev == earlier.hash for earlier, later in itertools.pairwise(entries))
    assert trail.verify() == (5, None)
    assert trail.path.stat().st_mode & 0o777 == 0o600


def test_an_edited_entry_is_found(tmp_path: Path) -> None:
    trail = trail_of(tmp_path)
    text = lines(trail)
    entry = json.loads(text[2])
    entry["details"]["i"] = 99
    text[2] = json.dumps(entry) + "\n"
    trail.path.write_text("".join(text), encoding="utf-8")
    good, broken = trail.verify()
    assert good == 2
    assert broken is not None
    assert (broken.line, broken.seq) == (3, 3)
    assert "changed" in broken.problem


def test_a_removed_entry_is_found(tmp_path: Path) -> None:
    trail = trail_of(tmp_path)
    text = lines(trail)
    del text[1]
    trail.path.write_text("".join(text), encoding="utf-8")
    good, broken = trail.verify()
    assert good == 1
    assert broken is not None and (broken.line, broken.seq) == (2, 3)
    assert "removed" in broken.problem


def test_reordered_entries_are_found(tmp_path: Path) -> None:
    trail = trail_of(tmp_path)
    text = lines(trail)
    text[1], text[2] = text[2], text[1]
    trail.path.write_text("".join(text), encoding="utf-8")
    good, broken = trail.verify()
    assert good == 1
    assert broken is not None and broken.line == 2


def test_a_damaged_last_line_stops_appending_and_is_reported(tmp_path: Path) -> None:
    trail = trail_of(tmp_path, 2)
    with trail.path.open("a", encoding="utf-8") as handle:
        handle.write('{"seq": 3, "at": "2026-')  # cut off by a power cut
    with pytest.raises(StorageError, match="damaged entry"):
        trail.append("more", actor="cli", at=T0, details={})
    good, broken = trail.verify()
    assert good == 2 and broken is not None and broken.line == 3


def _append_many(folder: str, who: str) -> None:
    trail = AuditLog(Path(folder))
    for i in range(40):
        trail.append("parallel", actor=who, at=T0, details={"i": i})


def test_two_processes_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    workers = [
        multiprocessing.get_context("spawn").Process(target=_append_many, args=(str(tmp_path), w))
        for w in ("a", "b")
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    trail = AuditLog(tmp_path)
    assert trail.verify() == (80, None)
    assert sorted(e.actor for e in trail.entries()) == ["a"] * 40 + ["b"] * 40


def test_the_kiosk_and_staff_commands_write_the_trail(home: KioskHome) -> None:
    home.import_standard_snapshot(built_at="2026-11-23T06:00:00-05:00")
    run = home.kiosk(
        "run",
        "--headless",
        "--clock",
        "2026-11-23T10:00:00-05:00",
        input=f"{patron(1)}\n{item(1)}\n@done\n",
    )
    assert run.returncode == 0, run.stderr
    out = home.root / "out.koc"
    assert home.kiosk("spool", "export", "--format", "koc", "--out", str(out)).returncode == 0
    verify = home.kiosk("audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert "4 entries" in verify.stdout
    actions = [e.action for e in AuditLog(home.data_dir).entries()]
    assert actions == ["snapshot.import", "kiosk.start", "service.in", "spool.export"]
    text = (home.data_dir / "audit.log").read_text(encoding="utf-8")
    assert patron(1) not in text  # no patron data in the trail

    broken = (home.data_dir / "audit.log").read_text(encoding="utf-8").splitlines()
    del broken[1]
    (home.data_dir / "audit.log").write_text("\n".join(broken) + "\n", encoding="utf-8")
    refused = home.kiosk("audit", "verify")
    assert refused.returncode == 65
    assert "broken at line 2 (entry #3)" in refused.stderr
