"""The audit trail: a hash chain that shows an edited, removed or reordered entry."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.storage.audit import GENESIS, AuditLog
from kiosk.storage.spool import Spool
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


def test_a_torn_last_line_is_kept_aside_and_the_chain_goes_on(tmp_path: Path) -> None:
    """A power cut mid-append tears the last line: the next append moves the torn bytes to
    a file of their own, says so in an entry, and the chain holds from end to end."""
    trail = trail_of(tmp_path, 2)
    torn = b'{"seq": 3, "at": "2026-'  # cut off by a power cut
    with trail.path.open("ab") as handle:
        handle.write(torn)
    trail.append("more", actor="cli", at=T0, details={})
    entries = list(trail.entries())
    assert [e.action for e in entries] == ["action.0", "action.1", "audit.repaired", "more"]
    repair = entries[2].details
    kept = tmp_path / repair["kept_in"]
    assert kept.read_bytes() == torn
    assert repair["damaged_bytes"] == len(torn)
    assert repair["sha256"] == hashlib.sha256(torn).hexdigest()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert trail.verify() == (4, None)


def test_a_torn_line_that_ends_in_a_newline_is_repaired_too(tmp_path: Path) -> None:
    trail = trail_of(tmp_path, 1)
    with trail.path.open("ab") as handle:
        handle.write(b"\0\0\0\0\n")  # a block that never reached the disk reads as zeros
    trail.append("more", actor="cli", at=T0, details={})
    assert [e.action for e in trail.entries()] == ["action.0", "audit.repaired", "more"]
    assert trail.verify() == (3, None)


def test_damage_before_the_last_line_is_not_repaired_but_reported(tmp_path: Path) -> None:
    """Only a torn end is a power cut's doing: a changed line inside is left for verify."""
    trail = trail_of(tmp_path, 3)
    lines = trail.path.read_bytes().splitlines(keepends=True)
    trail.path.write_bytes(lines[0] + b"garbage\n" + lines[2])
    trail.append("more", actor="cli", at=T0, details={})
    assert "garbage" in trail.path.read_text(encoding="utf-8")
    good, broken = trail.verify()
    assert good == 1 and broken is not None and broken.line == 2


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
    assert "5 entries" in verify.stdout
    actions = [e.action for e in AuditLog(home.data_dir).entries()]
    assert actions == [
        "snapshot.import",
        "kiosk.start",
        "spool.created",  # by this first run: no `kiosk spool init` here
        "service.in",
        "spool.export",
    ]
    text = (home.data_dir / "audit.log").read_text(encoding="utf-8")
    assert patron(1) not in text  # no patron data in the trail

    broken = (home.data_dir / "audit.log").read_text(encoding="utf-8").splitlines()
    del broken[1]
    (home.data_dir / "audit.log").write_text("\n".join(broken) + "\n", encoding="utf-8")
    refused = home.kiosk("audit", "verify")
    assert refused.returncode == 65
    assert "broken at line 2 (entry #3)" in refused.stderr


# The chain's head, kept in the spool --------------------------------------------------------


@pytest.fixture
def with_spool(tmp_path: Path) -> Path:
    Spool.open(tmp_path, create=True).close()
    return tmp_path


def test_a_log_cut_short_at_its_end_is_found(with_spool: Path) -> None:
    trail = trail_of(with_spool, 5)
    lines = trail.path.read_bytes().splitlines(keepends=True)
    trail.path.write_bytes(b"".join(lines[:3]))  # the chain itself still holds
    good, broken = trail.verify()
    assert good == 3
    assert broken is not None
    assert broken.problem == (
        "the log ends at entry #3, but entry #5 was written (the spool keeps the newest "
        "entry): entries #4 to #5 are gone"
    )


def test_a_deleted_log_is_found(with_spool: Path) -> None:
    trail = trail_of(with_spool, 2)
    trail.path.unlink()
    good, broken = trail.verify()
    assert good == 0 and broken is not None
    assert broken.problem.startswith("the log is missing, but entry #2 was written")


def test_a_rewritten_log_with_the_same_length_is_found(with_spool: Path) -> None:
    trail = trail_of(with_spool, 2)
    trail.path.unlink()
    forged = AuditLog(with_spool)  # a fresh chain of the same length checks out by itself
    for i in range(2):
        forged.append(f"forged{i}", actor="cli", at=T0, details={})
    _, broken = forged.verify()
    assert broken is not None and broken.seq == 2
    assert "not the entry that was written" in broken.problem


def test_without_a_spool_the_log_alone_is_checked(tmp_path: Path) -> None:
    trail = trail_of(tmp_path, 3)
    assert trail.verify() == (3, None)
