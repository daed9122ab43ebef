"""The station with the big snapshot: a scan to a durable checkout, and the kiosk's start to
ready with its resident memory.

Scan to durable checkout. Ours: StationRuntime.scan of an item (built as `kiosk run` builds
it: the engine decides, the spool commits with WAL and synchronous=FULL) up to the
item_checked_out event, on the calling thread, headless. Baseline: a raw os.write + fsync
of a line of the same size to a file in the same folder (the same disk). They take turns
in blocks, so a busy moment of the machine falls on both. A third turn shows the floor under
ours: the same two statements and commit on a spool of the same schema with the same
settings (WAL, synchronous=FULL), through sqlite3 alone, with no kiosk around them.

Start to ready. `kiosk run --headless`: from starting the process to the first `ready`
event on its standard output. `kiosk run --offscreen` (the full-screen app rendered with
no screen): to READY=1 on $NOTIFY_SOCKET, which the app sends once the first frame of its
first real screen is drawn. Baselines: a bare Python that prints a line, and a bare Kivy
app (one label) that sends READY=1 with its first frame, the same way. Resident memory
(VmRSS) is read from /proc once ready and after a patron and an item are scanned.
"""

from __future__ import annotations

import itertools
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, Figure, alternate, mb, median, proc_status, summary_us
from bench.patrons import GOOD_SERIALS, card
from kiosk import demo

ITEMS_PER_SESSION = 15  # the demo config lends at most 20 a session
_ITEMS = itertools.count()
BLOCK = 250  # scans (and baseline writes) per turn
START_TIMEOUT = 120.0  # s; a kiosk not ready by then is a failure, not a slow sample
READY_TARGET_SECONDS = 2.0
MEMORY_TARGET_MB = 250.0
DURABLE_TARGET_RATIO = 2.0


def kiosk_folder(root: Path) -> Path:
    """The demo config, as a station would have it (a scanner's key timing, no sounds, a
    window for the offscreen app); the data folder is `root/data`. Returns the config."""
    root.mkdir(parents=True, exist_ok=True)
    text = demo.CONFIG.replace('fullscreen = "auto"', 'fullscreen = "windowed"')
    text = text[: text.index("[keyboard]")] + "[keyboard]\n\n[sounds]\nenabled = false\n"
    config = root / "kiosk.toml"
    config.write_text(text, encoding="utf-8")
    return config


# Scan to durable checkout -------------------------------------------------------------------


def durable_figures(config_path: Path, *, items: int) -> list[Figure]:
    from kiosk.cli.run import build_runtime
    from kiosk.config import load_config
    from kiosk.domain.events import ItemCheckedOut
    from kiosk.runtime.clock import SystemClock

    config = load_config(config_path)
    runtime = build_runtime(config, SystemClock())
    line = (
        b'{"txn_id": "0c1f3a52-8a7e-4e0b-9a53-1f0c2b1d7e4f", "seq": 123456, "patron": '
        b'"21234000000018", "item": "31234000000016", "due": "2026-12-14"}\n'
    )
    log = config.data_dir / "baseline-append.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    ours: list[float] = []
    base: list[float] = []
    bare: list[float] = []
    bare_commit, bare_db = _bare_spool(config.data_dir.parent / "bare-spool")
    clock = time.perf_counter
    cards = [card(s) for s in GOOD_SERIALS]
    lent = 0

    def scan_block() -> None:
        nonlocal lent
        for _ in range(BLOCK):
            if lent >= items:
                return
            if lent % ITEMS_PER_SESSION == 0:
                runtime.scan(cards[(lent // ITEMS_PER_SESSION) % len(cards)])
            item = demo.barcode("3", 1 + lent)
            started = clock()
            events = runtime.scan(item)
            took = clock() - started
            if not any(
                isinstance(e, ItemCheckedOut) and e.stored.checkout.item == item for e in events
            ):
                raise RuntimeError(f"the station did not lend {item}: {events}")
            ours.append(took)
            lent += 1

    def write_block() -> None:
        for _ in range(BLOCK):
            if len(base) >= items:
                return
            started = clock()
            os.write(fd, line)
            os.fsync(fd)
            base.append(clock() - started)

    def bare_block() -> None:
        for _ in range(BLOCK):
            if len(bare) >= items:
                return
            started = clock()
            bare_commit(len(bare))
            bare.append(clock() - started)

    try:
        runtime.start()
        turn = 0
        while lent < items or len(base) < items:
            first, second = (
                (scan_block, write_block) if turn % 2 == 0 else (write_block, scan_block)
            )
            first()
            second()
            bare_block()
            turn += 1
    finally:
        os.close(fd)
        runtime.close()
        bare_db.close()
    o, b, floor = summary_us(ours), summary_us(base), summary_us(bare)
    ms = {k: round(v / 1000, 3) if k != "n" else v for k, v in o.items()}
    base_ms = {k: round(v / 1000, 3) if k != "n" else v for k, v in b.items()}
    group = "scan_to_durable"
    base_is = "os.write + fsync of a line, same disk"
    target = f"<= {DURABLE_TARGET_RATIO:g}x baseline"
    bare_ms = {k: round(v / 1000, 3) if k != "n" else v for k, v in floor.items()}
    details = {
        "items": items,
        "ours_ms": ms,
        "baseline_ms": base_ms,
        "bare_sqlite_ms": bare_ms,
        "line_bytes": len(line),
    }
    return [
        Figure(
            group,
            f"Scan to durable checkout ({items:,} items): median",
            "ms",
            ms["median"],
            base_ms["median"],
            base_is,
            target,
            ms["median"] <= DURABLE_TARGET_RATIO * base_ms["median"],
        ),
        Figure(
            group,
            f"Scan to durable checkout ({items:,} items): p99",
            "ms",
            ms["p99"],
            base_ms["p99"],
            base_is,
            target,
            ms["p99"] <= DURABLE_TARGET_RATIO * base_ms["p99"],
            details=details,
        ),
        # The floor: what SQLite itself costs here, with no kiosk code around it.
        Figure(
            group,
            "Bare SQLite commit, same spool schema: median",
            "ms",
            bare_ms["median"],
            base_ms["median"],
            base_is,
        ),
        Figure(
            group,
            "Bare SQLite commit, same spool schema: p99",
            "ms",
            bare_ms["p99"],
            base_ms["p99"],
            base_is,
        ),
    ]


def _bare_spool(folder: Path) -> tuple[Callable[[int], None], sqlite3.Connection]:
    """A new spool (our schema, made by our code) and a function that commits one checkout
    into it as the kiosk does (BEGIN IMMEDIATE, the sequence counter, the row, COMMIT), but
    through a plain sqlite3 connection with the spool's settings."""
    from kiosk.storage.spool import Spool

    Spool.open(folder, create=True).close()
    db = sqlite3.connect(folder / "spool.db", isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
        db.execute(f"PRAGMA {pragma}")
    next_seq = "UPDATE counters SET value = value + 1 WHERE name = 'checkout_seq' RETURNING value"
    insert = (
        "INSERT INTO checkouts (txn_id, kiosk_id, seq, occurred_at, patron, item, due_date, "
        "special_due, session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    def commit(n: int) -> None:
        db.execute("BEGIN IMMEDIATE")
        (seq,) = db.execute(next_seq).fetchone()
        row = (
            str(uuid.uuid4()),
            "BENCH",
            seq,
            "2026-11-22T10:00:00.000-05:00",
            card(1),
            demo.barcode("3", 1 + n),
            "2026-12-13",
            0,
            "bench-session",
        )
        db.execute(insert, row)
        db.execute("COMMIT")

    return commit, db


# Start to ready -----------------------------------------------------------------------------


def _environment(notify: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.pop("NOTIFY_SOCKET", None)
    if notify is not None:
        env["NOTIFY_SOCKET"] = notify
    return env


def _wait_for_line(proc: subprocess.Popen[bytes], wanted: bytes, deadline: float) -> bytes:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            if wanted in line:
                return line
    raise RuntimeError(f"no {wanted!r} from {proc.args} (exit {proc.poll()})")


def headless_start(config: Path | None) -> dict[str, Any]:
    """Ours (config given) or the bare interpreter (None): seconds to ready, memory."""
    if config is None:
        code = "import sys; print('ready', flush=True); sys.stdin.read()"
        command = [sys.executable, "-c", code]
        wanted = b"ready"
    else:
        command = [sys.executable, "-m", "kiosk", "--config", str(config), "run", "--headless"]
        wanted = b'"event": "ready"'
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_environment(None),
        cwd=ROOT,
        bufsize=0,  # no buffer behind select()'s back: a line read is all that was taken
    )
    try:
        _wait_for_line(proc, wanted, time.monotonic() + START_TIMEOUT)
        seconds = time.perf_counter() - started
        at_ready = proc_status(proc.pid)
        working = at_ready
        assert proc.stdin is not None
        if config is not None:  # a patron and an item: the snapshot is read, the spool written
            item = demo.barcode("3", 900_000 + next(_ITEMS))  # a new item each run
            proc.stdin.write(f"{card(1)}\n{item}\n".encode())
            proc.stdin.flush()
            _wait_for_line(proc, b'"event": "item_checked_out"', time.monotonic() + 30)
            working = proc_status(proc.pid)
        proc.stdin.close()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return {"seconds": seconds, "rss_ready": at_ready["VmRSS"], "rss_working": working["VmRSS"]}


def offscreen_start(config: Path | None, folder: Path) -> dict[str, Any]:
    """Ours (config given) or a bare Kivy app (None): seconds to READY=1, memory."""
    folder.mkdir(parents=True, exist_ok=True)
    # An abstract socket ("@" in $NOTIFY_SOCKET, as systemd allows): no path length limit.
    address = f"@kiosk-bench-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + address[1:])
    if config is None:
        command = [sys.executable, "-m", "bench.bare_kivy", str(folder / "kivy")]
    else:
        command = [sys.executable, "-m", "kiosk", "--config", str(config), "run", "--offscreen"]
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_environment(address),
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        sock.settimeout(0.5)
        while True:
            if time.monotonic() > deadline or proc.poll() is not None:
                error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"{command} never sent READY=1 ({proc.poll()}): {error}")
            try:
                message = sock.recv(4096).decode()
            except TimeoutError:
                continue
            if "READY=1" in message:
                break
        seconds = time.perf_counter() - started
        time.sleep(0.5)  # a few frames more, as a station idles at its welcome screen
        memory = proc_status(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
    return {"seconds": seconds, "rss_ready": memory["VmRSS"]}


def start_figures(config: Path, folder: Path, *, runs: int, patrons: int) -> list[Figure]:
    headless, bare = alternate(runs, lambda: headless_start(config), lambda: headless_start(None))
    app, bare_app = alternate(
        runs, lambda: offscreen_start(config, folder), lambda: offscreen_start(None, folder)
    )
    group = "start_to_ready"
    with_snapshot = f"{patrons:,}-patron snapshot"
    ready_target = f"< {READY_TARGET_SECONDS:g} s"
    memory_target = f"< {MEMORY_TARGET_MB:g} MB"

    def seconds(runs_: list[dict[str, Any]]) -> float:
        return round(median([r["seconds"] for r in runs_]), 4)

    def rss(runs_: list[dict[str, Any]], key: str = "rss_ready") -> float:
        return mb(max(r[key] for r in runs_))

    details = {"headless": headless, "bare_python": bare, "offscreen": app, "bare_kivy": bare_app}
    working = rss(headless, "rss_working")
    return [
        Figure(
            group,
            f"Start to ready, headless ({with_snapshot})",
            "s",
            seconds(headless),
            seconds(bare),
            "a bare python printing a line",
            ready_target,
            seconds(headless) < READY_TARGET_SECONDS,
        ),
        Figure(
            group,
            f"Start to ready, offscreen app ({with_snapshot})",
            "s",
            seconds(app),
            seconds(bare_app),
            "a bare Kivy app, one label, READY=1 on its first frame",
            ready_target,
            seconds(app) < READY_TARGET_SECONDS,
        ),
        Figure(
            group,
            "Resident memory, headless, after a patron and an item",
            "MB",
            working,
            rss(bare),
            "a bare python",
            memory_target,
            working < MEMORY_TARGET_MB,
            details={"at_ready_mb": rss(headless)},
        ),
        Figure(
            group,
            "Resident memory, offscreen app, at its welcome screen",
            "MB",
            rss(app),
            rss(bare_app),
            "a bare Kivy app, one label",
            memory_target,
            rss(app) < MEMORY_TARGET_MB,
            details=details,
        ),
    ]
