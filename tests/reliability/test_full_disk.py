"""A full disk under a running kiosk: nothing it confirmed is lost, nothing it could not store is
confirmed, and it lends again by itself once there is room.

The real `kiosk run --headless` keeps its data folder on a small filesystem of its own: a
tmpfs mounted for the test when this process may mount one (root in a container here), else
the spool's own page limit through the kiosk's documented fault switch
(KIOSK_FAULT_MAX_PAGES_FILE, kiosk/storage/db.py). The second case always runs the fault
switch, so both ways are exercised wherever mounting is allowed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain.staff import hash_secret
from kiosk.storage.db import FAULT_MAX_PAGES_ENV
from tests.conftest import KioskHome, item, patron
from tests.e2e.live import LiveKiosk
from tests.e2e.test_headless import spool_rows
from tests.reliability import torture

DISK_MB = 8
ROOM_LEFT = 96 * 1024  # what filling leaves free, so the spool itself grows into the last bytes
SPARE_PAGES = 8  # the same with the page limit: a few more checkouts fit, then none
MAX_ITEMS = 5000  # a guard: the disk must be full long before this many checkouts
ITEMS_PER_CARD = 15  # a new card before the session limit (20 in the test config)
STAFF_CARD = "99887766"
STAFF_PIN = "8642"
CARDS = (1, 2, 8)  # accepted by the standard snapshot


@contextmanager
def mounted_tmpfs(where: Path, size: str) -> Iterator[bool]:
    """A tmpfs of `size` at `where` if this process may mount one; yields whether it did."""
    where.mkdir()
    if shutil.which("mount") is None or shutil.which("umount") is None:
        yield False
        return
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:  # not root, or a container that may not mount
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


@dataclass
class SmallDisk:
    """Where the kiosk's data folder lives, and how the test fills it and frees it."""

    kind: str  # "tmpfs" or "page limit"
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    filler: Path | None = None
    limit_file: Path | None = None

    def fill(self) -> None:
        if self.kind == "tmpfs":
            assert self.filler is not None
            fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                block = os.urandom(64 * 1024)
                written = 0
                while True:
                    try:
                        written += os.write(fd, block)
                    except OSError as exc:
                        assert exc.errno == 28, exc  # ENOSPC: the disk is full
                        break
                os.ftruncate(fd, max(0, written - ROOM_LEFT))
            finally:
                os.close(fd)
        else:
            self._set_limit(spool_pages(self.data_dir) + SPARE_PAGES)

    def free(self) -> None:
        if self.kind == "tmpfs":
            assert self.filler is not None
            self.filler.unlink()
        else:
            self._set_limit(1_000_000)

    def _set_limit(self, pages: int) -> None:
        assert self.limit_file is not None
        staged = self.limit_file.with_suffix(".new")
        staged.write_text(f"{pages}\n", encoding="ascii")
        staged.replace(self.limit_file)  # the kiosk never reads half a number


def spool_pages(data_dir: Path) -> int:
    conn = sqlite3.connect(f"file:{data_dir / 'spool.db'}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA page_count").fetchone()[0])
    finally:
        conn.close()


@contextmanager
def small_disk(tmp_path: Path, want: str) -> Iterator[SmallDisk]:
    """A tmpfs if asked for and this process may mount one, else the page limit."""
    disk = tmp_path / "disk"
    if want == "tmpfs":
        with mounted_tmpfs(disk, f"{DISK_MB}m") as mounted:
            if mounted:
                yield SmallDisk("tmpfs", disk / "data", filler=disk / "fill")
                return
    limit = tmp_path / "page-limit"
    disk.mkdir(exist_ok=True)
    yield SmallDisk(
        "page limit", disk / "data", env={FAULT_MAX_PAGES_ENV: str(limit)}, limit_file=limit
    )


def staff_config() -> str:
    """A staff card (and the PIN it needs): at the out-of-service screen its scan is answered
    with a `staff_card` event, which tells the test the scans before it were dealt with."""
    salt = os.urandom(16)
    card = hash_secret(STAFF_CARD, salt).text()
    pin = hash_secret(STAFF_PIN, salt).text()
    return f'\n[staff]\npins = ["{pin}"]\ncards = ["{card}"]\n'


@pytest.mark.parametrize("want", ["tmpfs", "page limit"])
def test_a_full_disk_stops_lending_before_a_checkout_is_lost_and_lending_resumes_by_itself(
    tmp_path: Path, want: str
) -> None:
    clock = torture.Clock()
    with small_disk(tmp_path, want) as disk:
        home = KioskHome(tmp_path, tmp_path / "kiosk.toml", disk.data_dir)
        home.write_config(extra=staff_config())
        home.import_standard_snapshot()
        # The system clock: coming back "by itself" is the idle station's own recheck.
        kiosk = LiveKiosk(home, env=disk.env)
        try:
            outcome = lend_until_full_then_free(kiosk, disk)
            code, rest = kiosk.finish()
            assert code == 0, kiosk.stderr()
            assert "Traceback" not in kiosk.stderr()
        finally:
            kiosk.stop()
        stored = spool_rows(home)
    announced = outcome.announced + [e for e in rest if e["event"] == "item_checked_out"]

    # Every checkout confirmed, before and after the disk filled, is in the spool exactly
    # once, as announced; the one that could not be stored is not there at all.
    assert sorted((r["txn_id"], r["item"]) for r in stored) == sorted(
        (e["txn_id"], e["item"]) for e in announced
    )
    assert outcome.refused_item not in {r["item"] for r in stored}
    assert [r["seq"] for r in stored] == list(range(1, len(stored) + 1))
    torture.record(
        f"Full disk ({disk.kind})",
        tried="the kiosk's data folder fills up while it lends"
        + (
            f" (a tmpfs of {DISK_MB} MB, filled by another file)"
            if disk.kind == "tmpfs"
            else " (the spool's page limit, KIOSK_FAULT_MAX_PAGES_FILE)"
        )
        + "; then the space is freed",
        times=1,
        lost=0,
        outcome=f"{outcome.before_full} checkouts before and {outcome.while_filling} while "
        "filling all in the spool; the first that could not be stored was never announced; "
        f'out of service ("{outcome.detail}"), scans ignored while full, `ready` by itself '
        f"{outcome.back_after:.1f} s after the space was freed, then lending again",
        seconds=clock.seconds(),
        mechanism=disk.kind,
        asked_for=want,
    )


@dataclass
class Outcome:
    announced: list[dict[str, Any]]
    before_full: int
    while_filling: int
    refused_item: str
    detail: str
    back_after: float


def lend_until_full_then_free(kiosk: LiveKiosk, disk: SmallDisk) -> Outcome:
    announced: list[dict[str, Any]] = []
    assert kiosk.next_event()["event"] == "ready"

    # Lending as usual.
    kiosk.send(patron(1), *(item(n) for n in range(1, 6)))
    events = kiosk.events_until("patron_accepted")
    for n in range(1, 6):
        event = kiosk.next_event()
        assert (event["event"], event["item"]) == ("item_checked_out", item(n)), event
        announced.append(event)
    before_full = len(announced)

    # The disk fills up; the patron goes on scanning until a checkout cannot be stored.
    disk.fill()
    serial, card_turn, in_session = 6, 0, 5
    while True:
        assert serial < MAX_ITEMS, "the disk never filled up"
        if in_session == ITEMS_PER_CARD:
            card_turn += 1
            kiosk.send(patron(CARDS[card_turn % len(CARDS)]))
            events = kiosk.events_until("patron_accepted")
            assert [e["event"] for e in events] == ["session_ended", "patron_accepted"], events
            in_session = 0
        kiosk.send(item(serial))
        event = kiosk.next_event()
        if event["event"] != "item_checked_out":
            break
        assert event["item"] == item(serial), event
        announced.append(event)
        serial += 1
        in_session += 1
    refused = item(serial)
    # The checkout that could not be stored ends the session and the station goes out of
    # service: the patron is never told the item is theirs.
    ended = event
    down = kiosk.next_event()
    assert (ended["event"], ended["reason"], ended["items"]) == (
        "session_ended",
        "out_of_service",
        in_session,
    ), ended
    assert (down["event"], down["reason"]) == ("out_of_service", "storage_error"), down
    detail = down["detail"]
    assert detail.startswith("the checkout could not be stored"), detail
    assert "\n" not in detail and "INSERT" not in detail and "Traceback" not in detail
    assert refused not in detail and patron(1) not in detail  # no barcodes on the screen

    # Still full: a patron's card and an item change nothing (the staff card is answered,
    # so the scans before it were dealt with).
    for card in CARDS:
        kiosk.send(patron(card), item(serial + 1), STAFF_CARD)
        answered = kiosk.events_until("staff_card")
        assert [e["event"] for e in answered] == ["staff_card"], answered

    # Space is freed: the station comes back by itself (no scan needed) and lends again.
    freed = torture.Clock()
    disk.free()
    back = kiosk.next_event()
    back_after = freed.seconds()
    assert back["event"] == "ready", back
    kiosk.send(patron(8), item(serial + 2))
    again = kiosk.events_until("item_checked_out")
    assert [e["event"] for e in again] == ["patron_accepted", "item_checked_out"], again
    announced.append(again[-1])
    return Outcome(
        announced=announced,
        before_full=before_full,
        while_filling=len(announced) - before_full - 1,
        refused_item=refused,
        detail=detail,
        back_after=back_after,
    )


def test_a_full_disk_is_called_full_never_damage(tmp_path: Path) -> None:
    """With the disk full to the last byte and the kiosk stopped, SQLite cannot open the spool
    even to read it (its shared-memory file cannot be made). Every command says the disk is
    full and how much is free; none calls the spool damaged or advises restoring a backup,
    which would lose the checkouts made since. Freeing space is all it takes."""
    with small_disk(tmp_path, "tmpfs") as disk:
        if disk.kind != "tmpfs":
            pytest.skip("a tmpfs cannot be mounted here (root can): the page limit has no disk")
        home = KioskHome(tmp_path, tmp_path / "kiosk.toml", disk.data_dir)
        home.write_config()
        home.import_standard_snapshot()
        lent = home.kiosk("run", "--headless", input=f"{patron(1)}\n{item(1)}\n@done\n")
        assert lent.returncode == 0, lent.stderr
        assert disk.filler is not None
        with disk.filler.open("wb") as filler, contextlib.suppress(OSError):  # every byte
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        for command in (["status"], ["spool", "info"], ["spool", "list"], ["staff", "pause"]):
            result = home.kiosk(*command)
            said = result.stdout + result.stderr
            assert f"the disk holding {disk.data_dir} is full (0 KB free)" in said, (command, said)
            assert "is damaged" not in said and "restore" not in said, (command, said)
            assert "The spool is not damaged and no checkout is lost" in said
            assert "Traceback" not in said
        disk.free()
        listed = home.kiosk("spool", "list", "--unmask")
        assert listed.returncode == 0, listed.stderr
        assert item(1) in listed.stdout
