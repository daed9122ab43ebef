"""Power cuts under the kiosk, on a filesystem that keeps only what was made durable
(tests/reliability/powerfs.py: file data by fsync of the file, folder entries by fsync of
the folder). SIGKILL cannot show this: the kernel's page cache survives it.

The kiosk's whole folder (config, data, exports, backups) lives on that filesystem. Each
cycle: a kiosk lends, the power is cut (at a random moment, or at a chosen write or fsync),
the kiosk is killed, the filesystem comes back with only its durable state, and then every
checkout the kiosk announced must be in the spool exactly once, the spool must pass its
integrity check, and the kiosk must start again. The same run with durability weakened on
purpose (synchronous=NORMAL, a test-only switch) must lose checkouts: proof the test can
fail. Then a cut right after each command that writes: what it said it did is there.

Short form in `make test`; `make torture` runs the long form (KIOSK_TORTURE=long)."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.storage.db import FAULT_WEAK_SYNC_ENV
from tests.conftest import KioskHome, item, kiosk_env, patron, standard_csv
from tests.e2e.live import LiveKiosk
from tests.reliability import torture

MOUNT_WAIT = 10  # s, a guard


def fuse_problem() -> str | None:
    if os.geteuid() != 0:
        return "mounting FUSE needs root"
    if not Path("/dev/fuse").exists():
        return "no /dev/fuse"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is missing (Debian's fuse3: make test installs it)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"mfusepy cannot load libfuse3: {exc}"
    return None


pytestmark = pytest.mark.skipif(fuse_problem() is not None, reason=str(fuse_problem()))


class PowerDisk:
    """The filesystem that loses power, mounted at `mount`, its durable state in `state`."""

    def __init__(self, root: Path) -> None:
        self.mount_point = root / "disk"
        self.state = root / "disk.state"
        self.mount_point.mkdir()
        self.daemon: subprocess.Popen[bytes] | None = None
        self.log = root / "powerfs.log"

    def mount(self, cut_after: int | None = None) -> None:
        args = [sys.executable, "-m", "tests.reliability.powerfs"]
        args += [str(self.mount_point), str(self.state)]
        if cut_after is not None:
            args += ["--cut-after", str(cut_after)]
        with self.log.open("ab") as log:
            self.daemon = subprocess.Popen(args, stdout=log, stderr=log)
        deadline = time.monotonic() + MOUNT_WAIT
        while not os.path.ismount(self.mount_point):
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"powerfs did not mount: {self.log.read_text()}")
            time.sleep(0.02)

    def cut(self) -> None:
        """The power goes now: nothing written from here on reaches the disk."""
        assert self.daemon is not None
        self.daemon.send_signal(signal.SIGUSR1)

    def unmount(self) -> None:
        if self.daemon is None:
            return
        for attempt in range(50):
            done = subprocess.run(
                ["fusermount3", "-u", str(self.mount_point)], capture_output=True, check=False
            )
            if done.returncode == 0:
                break
            time.sleep(0.05 * (attempt + 1))
        else:
            subprocess.run(["fusermount3", "-uz", str(self.mount_point)], check=False)
        self.daemon.wait(timeout=MOUNT_WAIT)
        self.daemon = None

    def power_back(self, cut_after: int | None = None) -> None:
        self.unmount()
        self.mount(cut_after)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[PowerDisk]:
    power = PowerDisk(tmp_path)
    power.mount()
    try:
        yield power
    finally:
        power.unmount()


def flushed(path: Path, disk: PowerDisk) -> None:
    """The test's own files on the disk (the config): made durable, as an installer would."""
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())
    folder = path.parent
    while True:
        fd = os.open(folder, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        if folder == disk.mount_point:
            break
        folder = folder.parent


def new_home(disk: PowerDisk, *, snapshot: bool = True) -> KioskHome:
    """Config and data on the disk that loses power; the test's logs beside it."""
    outside = disk.mount_point.parent / "home"
    outside.mkdir(exist_ok=True)
    inside = disk.mount_point / "kiosk"
    inside.mkdir()
    home = KioskHome(outside, inside / "kiosk.toml", inside / "data")
    home.write_config(max_items_per_session=0)  # the long form lends up to 80 at a time
    flushed(home.config_path, disk)
    (inside / "exports").mkdir()
    (inside / "exports" / ".drive").write_text("a drive\n", encoding="utf-8")
    flushed(inside / "exports" / ".drive", disk)
    if snapshot:
        home.import_standard_snapshot()
    return home


def spool_txns(home: KioskHome) -> list[str]:
    """The spool's checkouts (txn ids, in order) after a cut, and its integrity."""
    path = home.data_dir / "spool.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [str(r[0]) for r in conn.execute("SELECT txn_id FROM checkouts ORDER BY id")]
    finally:
        conn.close()


def drain(kiosk: LiveKiosk) -> list[dict[str, Any]]:
    """Every event the (killed) kiosk printed."""
    kiosk.stop()
    events = []
    with contextlib.suppress(AssertionError):
        while True:
            events.append(kiosk.next_event())
    return events


def lending_cycles(
    disk: PowerDisk, home: KioskHome, cycles: int, *, weak: bool, rng: random.Random
) -> dict[str, int]:
    """`cycles` power cuts while lending; returns the counts."""
    env = {FAULT_WEAK_SYNC_ENV: "1"} if weak else {}
    announced: dict[str, str] = {}
    repeated = targeted = broken = 0
    lost_txns: set[str] = set()
    serial = 0
    alongside_done = {"export": 0, "import": 0}
    for cycle in range(cycles):
        cut_after = None
        if cycle % 2 == 1:  # a targeted cut: at a chosen write or fsync of this boot
            cut_after = rng.randint(1, torture.scale(400, 3000))
            targeted += 1
        disk.power_back(cut_after)
        kiosk = LiveKiosk(home, env=env)
        side = alongside(home, cycle, env) if cycle % 3 == 2 else []
        try:
            batch = []
            for _ in range(rng.randint(*torture.scale((3, 12), (80, 120)))):
                serial += 1
                batch.append(item(serial))
            kiosk.send(patron((1, 2, 8)[cycle % 3]), *batch)  # patrons who may borrow
            if cut_after is None:
                # Let some checkouts be confirmed, then cut at a random moment.
                wanted = rng.randint(torture.scale(1, len(batch) // 2), len(batch))
                confirmed = 0
                while confirmed < wanted:
                    event = kiosk.next_event()
                    confirmed += event["event"] == "item_checked_out"
                    if event["event"] == "item_checked_out":
                        announced[event["txn_id"]] = event["item"]
                time.sleep(rng.random() * 0.01)
                disk.cut()
            else:
                time.sleep(0.5)  # the cut comes when the disk sees its N-th write or fsync
        finally:
            rest = drain(kiosk)
        for event in rest:
            if event["event"] == "item_checked_out":
                announced[event["txn_id"]] = event["item"]
        finished = [(kind, proc.wait(timeout=60), path) for kind, proc, path in side]
        disk.power_back()
        txns = spool_txns(home)
        lost_txns.update(txn for txn in announced if txn not in txns)
        repeated += len(txns) - len(set(txns))
        for kind, code, path in finished:
            alongside_done[kind] += code == 0
            if code == 0 and kind == "export" and not (path.exists() and path.stat().st_size):
                broken += 1  # it said it wrote the file: the file must be there
            if code == 0 and kind == "import":
                broken += home.kiosk("snapshot", "info").returncode != 0
    return {
        "announced": len(announced),
        "lost": len(lost_txns),
        "repeated": repeated,
        "targeted": targeted,
        "interrupted": interrupted(disk, cycles),
        "broken_promises": broken,
        "exports_done": alongside_done["export"],
        "imports_done": alongside_done["import"],
    }


def alongside(
    home: KioskHome, cycle: int, env: dict[str, str]
) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
    """An export and a snapshot import, started while the kiosk lends (the cut may come in
    the middle of either). What they report done must be there after the cut."""
    exports = home.config_path.parent / "exports"
    out = exports / f"cycle-{cycle}.csv"
    base = [sys.executable, "-m", "kiosk", "--config", str(home.config_path)]
    return [
        (
            "export",
            subprocess.Popen(
                [*base, "spool", "export", "--format", "csv", "--out", str(out)],
                env=kiosk_env(env),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            out,
        ),
        (
            "import",
            subprocess.Popen(
                [*base, "snapshot", "import", str(home.root / "patrons.csv")],
                env=kiosk_env(env),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            home.root / "patrons.csv",
        ),
    ]


def interrupted(disk: PowerDisk, cycles: int) -> dict[str, int]:
    """What the cuts interrupted: the first operation the dead disk refused, by kind."""
    kinds: dict[str, int] = {}
    refused = re.findall(r"powerfs: cut; first refused: (\w+) (\S*)", disk.log.read_text())
    for op, path in refused:
        name = path.rsplit("/", 1)[-1]
        if name.endswith("-wal"):
            what = "the spool's WAL"
        elif name.endswith("-shm"):
            what = "the spool's shared memory"
        elif name.startswith("spool.db"):
            what = "the spool"
        elif name.startswith("audit.log"):
            what = "the audit trail"
        else:
            what = name or "the data folder"
        key = f"{op} of {what}"
        kinds[key] = kinds.get(key, 0) + 1
    quiet = cycles - len(refused)
    if quiet > 0:
        kinds["nothing (the kiosk was between writes)"] = quiet
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def test_power_cuts_while_lending_lose_no_confirmed_checkout(disk: PowerDisk) -> None:
    rng = random.Random(20261206)
    home = new_home(disk)
    cycles = torture.scale(6, 150)
    started = time.monotonic()
    counts = lending_cycles(disk, home, cycles, weak=False, rng=rng)
    assert counts["announced"] >= torture.scale(1, 5000), counts
    assert counts["lost"] == 0 and counts["repeated"] == 0, counts
    assert counts["broken_promises"] == 0, counts
    # And the kiosk starts and lends after the last cut.
    after = home.kiosk("run", "--headless", input=f"{patron(1)}\n{item(99_999)}\n@done\n")
    assert after.returncode == 0, after.stderr
    assert '"event": "item_checked_out"' in after.stdout, after.stdout
    torture.record(
        "Power loss while lending (powerfs)",
        tried="the kiosk lends on a filesystem that keeps only fsynced data and folder "
        "entries; the power is cut at a random moment or at a chosen write/fsync",
        times=cycles,
        lost=counts["lost"] + counts["repeated"],
        outcome=f"{counts['announced']} announced checkouts, each in the spool once after "
        f"every cut; the spool passed integrity_check every time",
        seconds=round(time.monotonic() - started, 1),
        targeted_cuts=counts["targeted"],
        interrupted=counts["interrupted"],
        exports_alongside=counts["exports_done"],
        imports_alongside=counts["imports_done"],
    )


def test_the_power_cut_test_can_fail(disk: PowerDisk) -> None:
    """synchronous=NORMAL (a test-only switch): commits are not on disk when announced."""
    rng = random.Random(7)
    home = new_home(disk)
    cycles = torture.scale(3, 10)
    counts = lending_cycles(disk, home, cycles, weak=True, rng=rng)
    assert counts["lost"] > 0, counts
    torture.record(
        "Power loss, durability weakened on purpose",
        tried="the same, with the spool at synchronous=NORMAL (KIOSK_FAULT_WEAK_SYNC)",
        times=cycles,
        lost=0,
        outcome=f"lost {counts['lost']} of {counts['announced']} announced checkouts: the "
        "test sees a missing fsync",
    )


# A cut right after a command that writes ---------------------------------------------------


def cut_now(disk: PowerDisk) -> None:
    disk.cut()
    disk.power_back()


def test_a_cut_after_each_writing_command_keeps_what_it_said(disk: PowerDisk) -> None:
    home = new_home(disk, snapshot=False)
    root = home.config_path.parent
    # The first snapshot import into an empty folder: the data folder is new.
    csv = home.root / "patrons.csv"  # the library's export, on another disk
    csv.write_text(standard_csv(), encoding="utf-8")
    imported = home.kiosk("snapshot", "import", str(csv))
    assert imported.returncode == 0, imported.stderr
    cut_now(disk)
    info = home.kiosk("snapshot", "info")
    assert info.returncode == 0, info.stderr
    # Lend two, then export to a new file in an existing folder.
    lent = home.kiosk("run", "--headless", input=f"{patron(1)}\n{item(1)}\n{item(2)}\n@done\n")
    assert lent.returncode == 0, lent.stderr
    usb = root / "usb"
    usb.mkdir()
    (usb / ".mounted").write_text("a drive\n", encoding="utf-8")
    flushed(usb / ".mounted", disk)
    out = usb / "day1.koc"
    exported = home.kiosk("spool", "export", "--format", "koc", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    cut_now(disk)
    assert out.exists(), "the export the command reported is gone after the cut"
    assert item(1) in out.read_text(encoding="utf-8")
    handed = home.kiosk("spool", "info")
    assert "handed over:    2" in handed.stdout, handed.stdout
    # The staff's USB hand-over: a new folder on the drive, every format, read back.
    more = home.kiosk("run", "--headless", input=f"{patron(1)}\n{item(3)}\n@done\n")
    assert more.returncode == 0, more.stderr
    staff_export = home.kiosk("staff", "export", "--to", str(usb))
    assert staff_export.returncode == 0, staff_export.stdout + staff_export.stderr
    cut_now(disk)
    [bundle] = [f for f in usb.iterdir() if f.is_dir()]
    assert item(3) in (next(bundle.glob("*.koc"))).read_text(encoding="utf-8")
    assert "handed over:    3" in home.kiosk("spool", "info").stdout
    # A snapshot rollback (after a second import, which it undoes).
    again = home.kiosk("snapshot", "import", str(csv))
    assert again.returncode == 0, again.stderr
    current = home.kiosk("snapshot", "info").stdout
    rolled = home.kiosk("snapshot", "rollback")
    assert rolled.returncode == 0, rolled.stderr
    cut_now(disk)
    assert home.kiosk("snapshot", "info").stdout != current, "the rollback was lost"
    # A backup into a folder it makes.
    backups = root / "backups"
    backed = home.kiosk("spool", "backup", "--to", str(backups))
    assert backed.returncode == 0, backed.stderr
    cut_now(disk)
    copies = list(backups.glob("spool-*.db"))
    assert len(copies) == 1 and list(backups.glob("spool-*.audit.log"))
    conn = sqlite3.connect(f"file:{copies[0]}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT COUNT(*) FROM checkouts").fetchone()[0] == 3
    finally:
        conn.close()
    # A new offline period (everything was handed over).
    period = home.kiosk("staff", "new-period", "--yes")
    assert period.returncode == 0, period.stderr
    cut_now(disk)
    status = home.kiosk("status")
    assert "Spool:    0 checkouts in this period" in status.stdout, status.stdout
    # A staff PIN written into the config.
    pin = home.kiosk("staff", "add-pin", input="8642\n8642\n")
    assert pin.returncode == 0, pin.stderr
    cut_now(disk)
    assert "pins" in home.config_path.read_text(encoding="utf-8")
    # The audit trail still checks out after all of it.
    verified = home.kiosk("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    torture.record(
        "A cut right after each writing command",
        tried="snapshot import into an empty folder, spool export, staff export to a drive, "
        "snapshot rollback, spool backup into a new folder, staff new-period, staff add-pin; "
        "the power is cut as each returns",
        times=7,
        lost=0,
        outcome="what each command reported was there after the cut; the audit trail verified",
    )
